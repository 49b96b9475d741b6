// mutator.cc - see mutator.h.

#include "runner/mutator.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include "program/conflicts.h"
#include "program/decoder.h"
#include "program/encoder.h"
#include "program/layout.h"

namespace ftf::runner {
namespace {

using program::Op;
using program::Program;

const program::Limits kLimits;  // what every fuzz target decodes with

// How often each mutation is tried, in percent (sums to 100). The byte
// mutator keeps a fifth: it carries the dictionary and libFuzzer's
// compare-guided byte changes. Schedule-only mutations get another fifth:
// a program that has a racy pair of operations needs many schedules tried
// on it, and the byte mutator spends most of its changes on operations.
struct Weight {
  Mutation m;
  uint32_t percent;
};
constexpr Weight kWeights[] = {
    {Mutation::kBytes, 20},      {Mutation::kScheduleBytes, 20}, {Mutation::kScheduleKind, 5},
    {Mutation::kInsertOp, 7},    {Mutation::kInsertRelated, 10}, {Mutation::kDeleteOp, 8},
    {Mutation::kDuplicateOp, 8}, {Mutation::kMoveOp, 6},         {Mutation::kMoveOpToThread, 8},
    {Mutation::kRetarget, 8},
};
static_assert([] {
  uint32_t sum = 0;
  for (const Weight& w : kWeights) sum += w.percent;
  return sum == 100;
}());

// The static score steers the schedule search (program/conflicts.h): a
// program with no pair of operations that can conflict across threads gains
// nothing from another schedule, so its schedule mutations become program
// mutations; one with conflicting pairs gets extra schedule-only mutations,
// 2 points per pair up to kMaxScheduleBoost (out of 100), before the table
// is consulted.
constexpr uint32_t kMaxScheduleBoost = 30;

uint32_t ScheduleBoost(int pairs) { return std::min<uint32_t>(kMaxScheduleBoost, 2u * static_cast<uint32_t>(pairs)); }

Mutation PickMutation(MutationRng& rng) {
  uint32_t r = rng.Below(100);
  for (const Weight& w : kWeights) {
    if (r < w.percent) return w.m;
    r -= w.percent;
  }
  return Mutation::kBytes;
}

// A random operation, normalised exactly as the decoder normalises one: the
// decoder of a one-record input is the only place that knows which fields
// an opcode uses and their ranges.
Op RandomOp(MutationRng& rng) {
  uint8_t in[program::layout::kHeaderSize + program::layout::kRecordSize] = {};
  for (int i = program::layout::kHeaderSize; i < static_cast<int>(sizeof in); ++i) {
    in[i] = static_cast<uint8_t>(rng.Next());
  }
  return program::Decode(std::span<const uint8_t>(in, sizeof in)).threads[0].ops[0];
}

std::vector<Op>& Vocabulary() {
  static std::vector<Op>* const ops = new std::vector<Op>();
  return *ops;
}

// A new operation: half the time one the target's dictionary names (when it
// names any), otherwise a random one.
Op DrawOp(MutationRng& rng) {
  const std::vector<Op>& vocab = Vocabulary();
  if (!vocab.empty() && rng.Below(2) == 0) return vocab[rng.Below(static_cast<uint32_t>(vocab.size()))];
  return RandomOp(rng);
}

// A thread index for new work: an existing thread, or one more thread while
// the limit allows.
size_t PickThreadOrNew(const Program& p, MutationRng& rng) {
  const size_t n = std::min<size_t>(p.threads.size() + 1, static_cast<size_t>(kLimits.max_threads));
  return rng.Below(static_cast<uint32_t>(n));
}

// (thread, index) of a uniformly chosen operation; false if there is none.
bool PickOp(const Program& p, MutationRng& rng, size_t* t, size_t* i) {
  const int total = program::TotalOps(p);
  if (total == 0) return false;
  uint32_t k = rng.Below(static_cast<uint32_t>(total));
  for (size_t j = 0; j < p.threads.size(); ++j) {
    if (k < p.threads[j].ops.size()) {
      *t = j;
      *i = k;
      return true;
    }
    k -= static_cast<uint32_t>(p.threads[j].ops.size());
  }
  return false;
}

bool Full(const program::ThreadProgram& t) { return static_cast<int>(t.ops.size()) >= kLimits.max_ops_per_thread; }

void InsertAt(program::ThreadProgram& t, size_t pos, const Op& op) {
  t.ops.insert(t.ops.begin() + static_cast<std::ptrdiff_t>(pos), op);
}

bool InsertOp(Program& p, MutationRng& rng) {
  const size_t t = PickThreadOrNew(p, rng);
  if (t == p.threads.size()) p.threads.emplace_back();
  if (Full(p.threads[t])) return false;
  InsertAt(p.threads[t], rng.Below(static_cast<uint32_t>(p.threads[t].ops.size() + 1)), DrawOp(rng));
  return true;
}

// An operation drawn at random until it may conflict with `donor`
// (program::MayConflict: a shared resource, one of the two writing), with
// each operand the two opcodes have in common taken from the donor three
// times in four: the same object, slot, global name or instruction site.
// A window race is two such operations, and so is most of the set-up that
// opens one (a specialization, then what invalidates it). nullopt after 16
// misses (a donor that touches nothing, such as `yield`).
std::optional<Op> RelatedOp(const Op& donor, MutationRng& rng) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    Op op = DrawOp(rng);
    auto take = [&](program::OpField f) {
      return program::UsesField(op.code, f) && program::UsesField(donor.code, f) && rng.Below(4) != 0;
    };
    if (take(program::kFieldSite)) op.site = donor.site;
    if (take(program::kFieldType)) op.type = donor.type;
    if (take(program::kFieldTarget)) op.target = donor.target;
    if (take(program::kFieldSlot)) op.slot = donor.slot;
    if (take(program::kFieldName)) op.name = donor.name;
    if (take(program::kFieldValue)) op.value = donor.value;
    if (take(program::kFieldReg)) op.reg = donor.reg;
    if (program::MayConflict(op, donor)) return op;
  }
  return std::nullopt;
}

// A related operation (RelatedOp) of a random existing one: half the time
// in the donor's own thread (a sequence on one object: the set-up a window
// needs), otherwise in another, possibly new, thread (the racing partner).
bool InsertRelated(Program& p, MutationRng& rng) {
  size_t t, i;
  if (!PickOp(p, rng, &t, &i)) return false;
  const std::optional<Op> op = RelatedOp(p.threads[t].ops[i], rng);
  if (!op.has_value()) return false;
  size_t to = t;
  const size_t slots = std::min<size_t>(p.threads.size() + 1, static_cast<size_t>(kLimits.max_threads));
  if (slots > 1 && rng.Below(2) == 0) {
    to = rng.Below(static_cast<uint32_t>(slots - 1));  // any thread but the donor's, or a new one
    if (to >= t) ++to;
    if (to == p.threads.size()) p.threads.emplace_back();
  }
  if (Full(p.threads[to])) return false;
  InsertAt(p.threads[to], rng.Below(static_cast<uint32_t>(p.threads[to].ops.size() + 1)), *op);
  return true;
}

bool DeleteOp(Program& p, MutationRng& rng) {
  size_t t, i;
  if (!PickOp(p, rng, &t, &i)) return false;
  p.threads[t].ops.erase(p.threads[t].ops.begin() + static_cast<std::ptrdiff_t>(i));
  return true;
}

bool DuplicateOp(Program& p, MutationRng& rng) {
  size_t t, i;
  if (!PickOp(p, rng, &t, &i) || Full(p.threads[t])) return false;
  const Op op = p.threads[t].ops[i];
  InsertAt(p.threads[t], i + 1, op);
  return true;
}

bool MoveOp(Program& p, MutationRng& rng) {
  size_t t, i;
  if (!PickOp(p, rng, &t, &i)) return false;
  auto& ops = p.threads[t].ops;
  if (ops.size() < 2) return false;
  const Op op = ops[i];
  ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
  size_t to = rng.Below(static_cast<uint32_t>(ops.size()));  // any place but the old one
  if (to >= i) ++to;
  InsertAt(p.threads[t], to, op);
  return true;
}

bool MoveOpToThread(Program& p, MutationRng& rng) {
  size_t t, i;
  if (!PickOp(p, rng, &t, &i)) return false;
  size_t to = PickThreadOrNew(p, rng);
  if (to == t) to = (to + 1) % std::min<size_t>(p.threads.size() + 1, static_cast<size_t>(kLimits.max_threads));
  if (to == t) return false;  // one thread and no room for another
  if (to == p.threads.size()) p.threads.emplace_back();
  if (Full(p.threads[to])) return false;
  const Op op = p.threads[t].ops[i];
  p.threads[t].ops.erase(p.threads[t].ops.begin() + static_cast<std::ptrdiff_t>(i));
  InsertAt(p.threads[to], rng.Below(static_cast<uint32_t>(p.threads[to].ops.size() + 1)), op);
  return true;
}

// Points the target or the value of an operation at a shared object other
// than the one it names: a race needs two threads on the same object, and a
// register or a fresh value is private to its thread.
bool Retarget(Program& p, MutationRng& rng) {
  struct Candidate {
    size_t t, i;
    bool value;
  };
  std::vector<Candidate> cands;
  for (size_t t = 0; t < p.threads.size(); ++t) {
    for (size_t i = 0; i < p.threads[t].ops.size(); ++i) {
      const program::OpCode code = p.threads[t].ops[i].code;
      // A dict operation's target must hold a dict: the shared objects o0..o3
      // never do (a dict reaches another thread through a slot or a global).
      const bool dict_op = code == program::OpCode::kDictStore || code == program::OpCode::kDictLoad ||
                           code == program::OpCode::kDictDelete;
      if (program::UsesField(code, program::kFieldTarget) && !dict_op) cands.push_back({t, i, false});
      if (program::UsesField(code, program::kFieldValue)) cands.push_back({t, i, true});
    }
  }
  if (cands.empty()) return false;
  const Candidate c = cands[rng.Below(static_cast<uint32_t>(cands.size()))];
  Op& op = p.threads[c.t].ops[c.i];
  const bool is_object = c.value ? op.value.kind == program::Value::Kind::kObject
                                 : op.target.kind == program::Target::Kind::kObject;
  const int now = is_object ? (c.value ? op.value.index : op.target.index) : -1;
  int obj = static_cast<int>(rng.Below(is_object ? program::kNumObjects - 1 : program::kNumObjects));
  if (is_object && obj >= now) ++obj;
  if (c.value) {
    op.value = {program::Value::Kind::kObject, static_cast<uint8_t>(obj)};
  } else {
    op.target = {program::Target::Kind::kObject, static_cast<uint8_t>(obj)};
  }
  return true;
}

bool MutateScheduleKind(Program& p, MutationRng& rng) {
  program::ScheduleSpec& s = p.schedule;
  if (s.kind == program::ScheduleKind::kDirect || rng.Below(3) == 0) {
    const bool to_pct = s.kind == program::ScheduleKind::kDirect;
    s.kind = to_pct ? program::ScheduleKind::kPct : program::ScheduleKind::kDirect;
    s.pct_depth = to_pct ? static_cast<uint8_t>(1 + rng.Below(program::kMaxPctDepth)) : program::kDirectCanonicalDepth;
    return true;
  }
  // Another PCT depth.
  s.pct_depth = static_cast<uint8_t>(1 + (s.pct_depth + rng.Below(program::kMaxPctDepth - 1)) % program::kMaxPctDepth);
  return true;
}

bool MutateScheduleBytes(Program& p, MutationRng& rng, ByteMutator bytes) {
  std::vector<uint8_t>& s = p.schedule.bytes;
  const std::vector<uint8_t> before = s;
  const size_t cap = static_cast<size_t>(kLimits.max_schedule_bytes);
  if (bytes != nullptr && !s.empty() && rng.Below(2) == 0) {
    const size_t n = s.size();
    s.resize(cap);
    s.resize(std::min(bytes(s.data(), n, cap), cap));
  } else {
    const uint8_t b = static_cast<uint8_t>(rng.Next());
    switch (s.empty() ? 0 : rng.Below(4)) {
      case 0:  // one more decision at a random place
        if (s.size() < cap) s.insert(s.begin() + rng.Below(static_cast<uint32_t>(s.size() + 1)), b);
        break;
      case 1: s.erase(s.begin() + rng.Below(static_cast<uint32_t>(s.size()))); break;
      case 2: s[rng.Below(static_cast<uint32_t>(s.size()))] = b; break;
      default: s[rng.Below(static_cast<uint32_t>(s.size()))] ^= static_cast<uint8_t>(1u << rng.Below(8)); break;
    }
  }
  if (s == before) {  // the change must say something new
    if (s.empty() || s.size() < cap) {
      s.push_back(static_cast<uint8_t>(rng.Next()));
    } else {
      s.back() = static_cast<uint8_t>(s.back() + 1);
    }
  }
  return true;
}

}  // namespace

void SetOperationVocabulary(std::vector<Op> ops) { Vocabulary() = std::move(ops); }

const char* MutationName(Mutation m) {
  switch (m) {
    case Mutation::kBytes: return "bytes";
    case Mutation::kScheduleBytes: return "schedule-bytes";
    case Mutation::kScheduleKind: return "schedule-kind";
    case Mutation::kInsertOp: return "insert-op";
    case Mutation::kDeleteOp: return "delete-op";
    case Mutation::kDuplicateOp: return "duplicate-op";
    case Mutation::kMoveOp: return "move-op";
    case Mutation::kMoveOpToThread: return "move-op-to-thread";
    case Mutation::kRetarget: return "retarget";
    case Mutation::kInsertRelated: return "insert-related";
    case Mutation::kCount: break;
  }
  return "?";
}

uint64_t MutationRng::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool ApplyMutation(Mutation m, Program& p, MutationRng& rng, ByteMutator bytes) {
  Program q = p;
  bool changed = false;
  switch (m) {
    case Mutation::kScheduleBytes: changed = MutateScheduleBytes(q, rng, bytes); break;
    case Mutation::kScheduleKind: changed = MutateScheduleKind(q, rng); break;
    case Mutation::kInsertOp: changed = InsertOp(q, rng); break;
    case Mutation::kDeleteOp: changed = DeleteOp(q, rng); break;
    case Mutation::kDuplicateOp: changed = DuplicateOp(q, rng); break;
    case Mutation::kMoveOp: changed = MoveOp(q, rng); break;
    case Mutation::kMoveOpToThread: changed = MoveOpToThread(q, rng); break;
    case Mutation::kRetarget: changed = Retarget(q, rng); break;
    case Mutation::kInsertRelated: changed = InsertRelated(q, rng); break;
    case Mutation::kBytes:
    case Mutation::kCount: return false;
  }
  if (!changed || q == p) return false;
  p = std::move(q);
  return true;
}

bool SpliceThread(Program& a, const Program& b, MutationRng& rng) {
  std::vector<size_t> donors;
  for (size_t j = 0; j < b.threads.size(); ++j) {
    if (!b.threads[j].ops.empty()) donors.push_back(j);
  }
  if (donors.empty()) return false;
  const size_t j = donors[rng.Below(static_cast<uint32_t>(donors.size()))];
  const size_t i = PickThreadOrNew(a, rng);
  if (i == a.threads.size()) a.threads.emplace_back();
  a.threads[i] = b.threads[j];
  return true;
}

std::vector<uint8_t> EncodeWithin(Program p, size_t max_size) {
  for (;;) {
    absl::StatusOr<std::vector<uint8_t>> enc = program::Encode(p, kLimits);
    if (!enc.ok()) return {};  // not a decodable program: cannot happen for mutated decodes
    if (enc->size() <= max_size) return *std::move(enc);
    size_t over = enc->size() - max_size;
    std::vector<uint8_t>& sched = p.schedule.bytes;
    if (!sched.empty()) {
      sched.resize(sched.size() - std::min(over, sched.size()));
      continue;
    }
    if (program::TotalOps(p) > 0) {
      auto longest = std::max_element(p.threads.begin(), p.threads.end(),
                                      [](const auto& x, const auto& y) { return x.ops.size() < y.ops.size(); });
      longest->ops.pop_back();
      continue;
    }
    if (!(p.world == program::DefaultWorld())) {
      p.world = program::DefaultWorld();
      continue;
    }
    enc->resize(max_size);  // a header longer than max_size: any prefix still decodes
    return *std::move(enc);
  }
}

size_t MutateInput(uint8_t* data, size_t size, size_t max_size, unsigned int seed, ByteMutator bytes) {
  MutationRng rng(0x6674667A7A000000ull ^ seed);
  const Program p = program::Decode(std::span<const uint8_t>(data, size));
  const int pairs = program::AnalyzeConflicts(p).pairs;
  // A few tries: a mutation that does not apply (nothing to delete) or that
  // fitting into max_size undoes gives way to another.
  for (int attempt = 0; attempt < 8; ++attempt) {
    Mutation m = rng.Below(100) < ScheduleBoost(pairs) ? Mutation::kScheduleBytes : PickMutation(rng);
    if (pairs == 0 && (m == Mutation::kScheduleBytes || m == Mutation::kScheduleKind)) continue;
    if (m == Mutation::kBytes) {
      if (bytes != nullptr) return bytes(data, size, max_size);
      continue;
    }
    Program q = p;
    if (!ApplyMutation(m, q, rng, bytes)) continue;
    std::vector<uint8_t> out = EncodeWithin(std::move(q), max_size);
    if (program::Decode(std::span<const uint8_t>(out)) == p) continue;
    std::memcpy(data, out.data(), out.size());
    return out.size();
  }
  if (bytes != nullptr) return bytes(data, size, max_size);
  // No libFuzzer (a test or the standalone driver): flip a bit.
  const size_t n = std::min(size, max_size);
  if (n > 0) data[rng.Below(static_cast<uint32_t>(n))] ^= static_cast<uint8_t>(1u << rng.Below(8));
  return n;
}

size_t CrossOverInputs(const uint8_t* data1, size_t size1, const uint8_t* data2, size_t size2, uint8_t* out,
                       size_t max_out_size, unsigned int seed) {
  MutationRng rng(0x63726F7373000000ull ^ seed);
  const Program a = program::Decode(std::span<const uint8_t>(data1, size1));
  const Program b = program::Decode(std::span<const uint8_t>(data2, size2));
  Program c = a;
  if (!SpliceThread(c, b, rng)) return 0;
  // Now and then the other input's schedule comes along: it was chosen for
  // (some of) the spliced thread's operations.
  if (rng.Below(4) == 0) c.schedule = b.schedule;
  std::vector<uint8_t> bytes = EncodeWithin(std::move(c), max_out_size);
  if (bytes.empty() || program::Decode(std::span<const uint8_t>(bytes)) == a) return 0;
  std::memcpy(out, bytes.data(), bytes.size());
  return bytes.size();
}

}  // namespace ftf::runner
