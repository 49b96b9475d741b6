// minimize_passes.cc - the delta-debugging passes of Minimize() (minimize.h).
//
// The minimizer holds the current program and its measures. Each pass
// proposes candidates; Try() runs one and keeps it iff it reproduces the
// finding (same kind, same location) and is "better": no larger in any
// measure (threads, operations, context switches, bytes) and strictly
// smaller in the lexicographic order (threads, ops, switches, bytes,
// operand complexity, world complexity). That order is well founded, so
// the passes repeat until none makes progress (or the run budget ends).

#include <algorithm>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/strings/str_format.h"
#include "program/encoder.h"
#include "program/text.h"
#include "sched/schedule_decoder.h"
#include "tools/minimize.h"

namespace ftf::tools {
namespace {

using program::Op;
using program::OpCode;
using program::Program;

// Smaller = simpler: None < fresh < oN < rN < fresh_fn.
int ValueRank(const program::Value& v) {
  switch (v.kind) {
    case program::Value::Kind::kNone: return 0;
    case program::Value::Kind::kFresh: return 1;
    case program::Value::Kind::kObject: return 2 + v.index;
    case program::Value::Kind::kRegister: return 6 + v.index;
    case program::Value::Kind::kFreshFn: return 10;  // a deferred object: lowered to fresh when it can be
  }
  return 10;
}

int TargetRank(const program::Target& t) {
  return (t.kind == program::Target::Kind::kObject ? 0 : program::kNumObjects) + t.index;
}

int OpComplexity(const Op& op) {
  // A yield is the simplest operation: a scheduling point and nothing else.
  return (op.code == OpCode::kYield ? 0 : 32) + op.site + op.type + TargetRank(op.target) + op.slot + op.name + ValueRank(op.value) + op.reg;
}

int WorldComplexity(const program::World& w) {
  if (w == program::DefaultWorld()) return 0;
  int c = 1000;  // any custom world is more complex than the default one
  for (const program::TypeSpec& t : w.types) {
    c += static_cast<int>(t.slots.size()) * 4;
    for (const program::SlotSpec& s : t.slots) c += s.name + static_cast<int>(s.kind);
    c += 2 * (t.base + 1) + static_cast<int>(t.dict) + static_cast<int>(t.weakref);
  }
  for (const program::ObjectSpec& o : w.objects) {
    c += o.type;
    for (program::InitValue v : o.slots) c += v == program::InitValue::kEmpty ? 0 : (v == program::InitValue::kNone ? 1 : 2);
  }
  c += __builtin_popcount(w.globals_present) + __builtin_popcount(w.builtins_present);
  c += __builtin_popcount(w.deferred_globals) + (w.owners != 0 ? 1 : 0);
  return c;
}

struct Measure {
  ProgramSize size;
  int operand = 0;
  int world = 0;
  int schedule = 0;  // PCT over direct, then depth
  auto Key() const {
    return std::make_tuple(size.threads, size.ops, size.context_switches, size.bytes, schedule, operand, world);
  }
  bool NoLargerThan(const Measure& o) const {
    return size.threads <= o.size.threads && size.ops <= o.size.ops &&
           size.context_switches <= o.size.context_switches && size.bytes <= o.size.bytes;
  }
};

class Minimizer {
 public:
  Minimizer(const MinimizeOptions& options, CandidateRunner& runner) : options_(options), runner_(runner) {}

  // Returns false if `p` gives no finding.
  bool Start(const Program& p) {
    CandidateOutcome o = runner_.Run(p);
    if (!o.has_finding) return false;
    kind_ = o.kind;
    location_ = o.location;
    cur_ = p;
    measure_ = MeasureOf(p, o);
    return true;
  }

  void Run() {
    bool progress = true;
    while (progress && !Exhausted()) {
      progress = false;
      progress |= RemoveThreads();
      progress |= RemoveOps();
      progress |= ShrinkSchedule();
      progress |= SimplifyOperands();
      progress |= SimplifyWorld();
    }
  }

  const Program& current() const { return cur_; }
  const Measure& measure() const { return measure_; }
  audit::FindingKind kind() const { return kind_; }
  const std::string& location() const { return location_; }
  bool Exhausted() const { return runner_.runs() >= options_.max_runs; }
  std::optional<Program> DirectVersion(const Program& p) { return AsDirect(p); }

  Measure MeasureOf(const Program& p, const CandidateOutcome& o) const {
    Measure m;
    m.size.threads = static_cast<int>(p.threads.size());
    m.size.ops = program::TotalOps(p);
    m.size.context_switches = o.context_switches;
    absl::StatusOr<std::vector<uint8_t>> bytes = program::Encode(p);
    m.size.bytes = bytes.ok() ? bytes->size() : SIZE_MAX;
    for (const program::ThreadProgram& t : p.threads)
      for (const Op& op : t.ops) m.operand += OpComplexity(op);
    m.world = WorldComplexity(p.world);
    m.schedule = (p.schedule.kind == program::ScheduleKind::kPct ? 16 : 0) +
                 (p.schedule.kind == program::ScheduleKind::kPct ? p.schedule.pct_depth : 0);
    return m;
  }

 private:
  bool Try(const Program& candidate, std::string_view what) {
    if (Exhausted() || candidate == cur_) return false;
    if (!program::Validate(candidate).ok()) return false;
    // A cheap pre-check: nothing that cannot be better needs a run.
    Measure pre = MeasureOf(candidate, CandidateOutcome());
    if (pre.size.threads > measure_.size.threads || pre.size.ops > measure_.size.ops ||
        pre.size.bytes > measure_.size.bytes) {
      return false;
    }
    CandidateOutcome o = runner_.Run(candidate);
    if (o.crashed || !o.has_finding || o.kind != kind_ || o.location != location_) return false;
    Measure m = MeasureOf(candidate, o);
    if (!m.NoLargerThan(measure_) || !(m.Key() < measure_.Key())) return false;
    cur_ = candidate;
    measure_ = m;
    if (options_.progress) {
      options_.progress(absl::StrFormat("  %s -> %s", what, FormatSize(m.size)));
    }
    return true;
  }

  bool RemoveThreads() {
    bool any = false;
    for (int t = static_cast<int>(cur_.threads.size()) - 1; t >= 0 && cur_.threads.size() > 1; --t) {
      Program c = cur_;
      c.threads.erase(c.threads.begin() + t);
      if (Try(c, absl::StrFormat("removed thread t%d", t))) {
        any = true;
        continue;
      }
      // Direct schedules name threads by index: drop the removed thread's
      // decisions and renumber the later threads' selectors.
      if (c.schedule.kind != program::ScheduleKind::kDirect) continue;
      std::vector<uint8_t> bytes;
      for (uint8_t b : c.schedule.bytes) {
        const int sel = b & 7;
        if (sel == t) continue;
        bytes.push_back(sel > t ? static_cast<uint8_t>(b - 1) : b);
      }
      c.schedule.bytes = std::move(bytes);
      any |= Try(c, absl::StrFormat("removed thread t%d and its schedule decisions", t));
    }
    return any;
  }

  // ddmin's complement loop over every operation of every thread, in
  // thread-then-index order: chunks of half the operations, then a quarter,
  // ..., then single operations.
  bool RemoveOps() {
    bool any = false;
    int total = program::TotalOps(cur_);
    for (int chunk = std::max(1, total / 2);; chunk = std::max(1, chunk / 2)) {
      for (int start = 0; start < program::TotalOps(cur_) && !Exhausted();) {
        Program c = WithoutOps(cur_, start, chunk);
        if (Try(c, chunk == 1 ? absl::StrFormat("removed op #%d", start)
                              : absl::StrFormat("removed ops #%d..#%d", start, start + chunk - 1))) {
          any = true;  // the next chunk now starts at `start`
        } else {
          start += chunk;
        }
      }
      if (chunk == 1) break;
    }
    return any;
  }

  static Program WithoutOps(const Program& p, int start, int count) {
    Program c = p;
    int index = 0;
    for (program::ThreadProgram& t : c.threads) {
      std::vector<Op> kept;
      for (const Op& op : t.ops) {
        if (index < start || index >= start + count) kept.push_back(op);
        ++index;
      }
      t.ops = std::move(kept);
    }
    return c;
  }

  bool ShrinkSchedule() {
    bool any = false;
    program::ScheduleSpec& s = cur_.schedule;
    if (s.kind == program::ScheduleKind::kPct) {
      // PCT -> direct: with no bytes (round robin), then with the same bytes.
      for (int variant = 0; variant < 2 && cur_.schedule.kind == program::ScheduleKind::kPct; ++variant) {
        Program c = cur_;
        c.schedule.kind = program::ScheduleKind::kDirect;
        c.schedule.pct_depth = program::kDirectCanonicalDepth;
        if (variant == 0) c.schedule.bytes.clear();
        any |= Try(c, "PCT schedule -> direct");
      }
      if (cur_.schedule.kind == program::ScheduleKind::kPct) {
        std::optional<Program> c = AsDirect(cur_);
        if (c.has_value()) any |= Try(*c, "PCT schedule -> the same interleaving as a direct schedule");
      }
      for (int d = cur_.schedule.pct_depth - 1; d >= 1 && cur_.schedule.kind == program::ScheduleKind::kPct; --d) {
        Program c = cur_;
        c.schedule.pct_depth = static_cast<uint8_t>(d);
        any |= Try(c, absl::StrFormat("PCT depth -> %d", d));
      }
    }
    // ddmin over the schedule bytes (fewer decisions = fewer switches).
    int n = static_cast<int>(cur_.schedule.bytes.size());
    for (int chunk = std::max(1, n / 2); n > 0; chunk = std::max(1, chunk / 2)) {
      for (int start = 0; start < static_cast<int>(cur_.schedule.bytes.size()) && !Exhausted();) {
        Program c = cur_;
        auto& b = c.schedule.bytes;
        b.erase(b.begin() + start, b.begin() + std::min<int>(start + chunk, static_cast<int>(b.size())));
        if (Try(c, absl::StrFormat("removed schedule bytes %d..%d", start, start + chunk - 1))) {
          any = true;
        } else {
          start += chunk;
        }
      }
      if (chunk == 1) break;
    }
    // Direct schedules: a run length "to completion" (0xF8|t) instead of a
    // counted one saves the preemptions that counted runs end with.
    if (cur_.schedule.kind == program::ScheduleKind::kDirect) {
      for (size_t i = 0; i < cur_.schedule.bytes.size() && !Exhausted(); ++i) {
        uint8_t b = cur_.schedule.bytes[i];
        if ((b & 0xF8) == 0xF8) continue;
        Program c = cur_;
        c.schedule.bytes[i] = static_cast<uint8_t>(0xF8 | (b & 7));
        any |= Try(c, absl::StrFormat("schedule byte %d runs to completion", i));
      }
    }
    return any;
  }

  // The interleaving the PCT schedule produced, written as direct bytes: per
  // run of one thread, bytes choosing it with run lengths (kRunLengths,
  // greedy) that add up to the run's steps; the last run is "to completion".
  // A yield or block inside a run ends a run length early, so this is a
  // candidate like any other: kept only if the finding stays.
  std::optional<Program> AsDirect(const Program& p) {
    std::vector<std::pair<uint64_t, int>> seg = runner_.Segments(p);
    if (seg.empty()) return std::nullopt;
    Program c = p;
    c.schedule.kind = program::ScheduleKind::kDirect;
    c.schedule.pct_depth = program::kDirectCanonicalDepth;
    c.schedule.bytes.clear();
    for (size_t i = 0; i < seg.size(); ++i) {
      const uint8_t t = static_cast<uint8_t>(seg[i].second & 7);
      if (i + 1 == seg.size()) {
        c.schedule.bytes.push_back(static_cast<uint8_t>(0xF8 | t));
        break;
      }
      uint64_t left = seg[i + 1].first - seg[i].first;
      while (left > 0) {
        int r = 30;
        while (r > 0 && sched::kRunLengths[r] > left) --r;
        c.schedule.bytes.push_back(static_cast<uint8_t>((r << 3) | t));
        left -= std::min<uint64_t>(left, sched::kRunLengths[r]);
      }
      if (c.schedule.bytes.size() > program::kMaxScheduleBytes) return std::nullopt;
    }
    return c;
  }

  // Each field an operation uses, lowered towards its simplest value.
  bool SimplifyOperands() {
    bool any = false;
    for (size_t t = 0; t < cur_.threads.size(); ++t) {
      for (size_t i = 0; i < cur_.threads[t].ops.size() && !Exhausted(); ++i) {
        for (const Op& lowered : Lowerings(cur_.threads[t].ops[i])) {
          Program c = cur_;
          c.threads[t].ops[i] = lowered;
          if (Try(c, "simplified " + program::OpLine(static_cast<int>(t), lowered))) {
            any = true;
            break;  // the next lowering starts from the new op
          }
        }
      }
    }
    return any;
  }

  static std::vector<Op> Lowerings(const Op& op) {
    std::vector<Op> out;
    auto add = [&](Op o) {
      if (!(o == op) && OpComplexity(o) < OpComplexity(op)) out.push_back(o);
    };
    const OpCode code = op.code;
    if (program::UsesField(code, program::kFieldValue)) {
      for (program::Value v : {program::Value{program::Value::Kind::kNone, 0}, program::Value{program::Value::Kind::kFresh, 0},
                               program::Value{program::Value::Kind::kObject, 0}}) {
        Op o = op;
        o.value = v;
        add(o);
      }
    }
    if (program::UsesField(code, program::kFieldTarget)) {
      Op o = op;
      o.target = program::Target{program::Target::Kind::kObject, 0};
      add(o);
      if (op.target.kind == program::Target::Kind::kRegister) {
        o.target = program::Target{program::Target::Kind::kRegister, 0};
        add(o);
      }
    }
    auto zero = [&](program::OpField f, uint8_t Op::*field) {
      if (program::UsesField(code, f) && op.*field != 0) {
        Op o = op;
        o.*field = 0;
        add(o);
      }
    };
    zero(program::kFieldSite, &Op::site);
    zero(program::kFieldType, &Op::type);
    zero(program::kFieldSlot, &Op::slot);
    zero(program::kFieldName, &Op::name);
    zero(program::kFieldReg, &Op::reg);
    zero(program::kFieldThread, &Op::thread);
    // Any operation may turn into a plain yield (a scheduling point only).
    if (code != OpCode::kYield) add(Op{});
    return out;
  }

  bool SimplifyWorld() {
    if (cur_.world == program::DefaultWorld()) return false;
    bool any = false;
    {
      Program c = cur_;
      c.world = program::DefaultWorld();
      any |= Try(c, "default world");
      if (any) return true;
    }
    for (int i = 0; i < program::kNumNames; ++i) {
      for (int which = 0; which < 2; ++which) {
        Program c = cur_;
        uint16_t& present = which == 0 ? c.world.globals_present : c.world.builtins_present;
        if ((present & (1u << i)) == 0) continue;
        present = static_cast<uint16_t>(present & ~(1u << i));
        any |= Try(c, absl::StrFormat("world: %s not in %s", program::GlobalName(i), which == 0 ? "globals" : "builtins"));
      }
    }
    for (size_t o = 0; o < cur_.world.objects.size(); ++o) {
      for (size_t s = 0; s < cur_.world.objects[o].slots.size(); ++s) {
        if (cur_.world.objects[o].slots[s] == program::InitValue::kEmpty) continue;
        Program c = cur_;
        c.world.objects[o].slots[s] = program::InitValue::kEmpty;
        any |= Try(c, absl::StrFormat("world: o%d slot %d empty", o, s));
      }
    }
    return any;
  }

  const MinimizeOptions& options_;
  CandidateRunner& runner_;
  audit::FindingKind kind_ = audit::FindingKind::kLeak;
  std::string location_;
  Program cur_;
  Measure measure_;
};

}  // namespace

std::string FormatSize(const ProgramSize& s) {
  return absl::StrFormat("%d thread%s, %d op%s, %d context switch%s, %d bytes", s.threads, s.threads == 1 ? "" : "s",
                         s.ops, s.ops == 1 ? "" : "s", s.context_switches, s.context_switches == 1 ? "" : "es",
                         s.bytes);
}

MinimizeResult Minimize(const Program& p, const MinimizeOptions& options) {
  MinimizeResult result;
  CandidateRunner runner(options.variant, options.isolation);
  Minimizer m(options, runner);
  if (!m.Start(p)) {
    result.runs = runner.runs();
    return result;
  }
  result.has_finding = true;
  result.kind = m.kind();
  result.location = m.location();
  result.before = m.measure().size;
  const Measure original = m.measure();
  m.Run();
  result.minimized = m.current();
  result.after = m.measure().size;
  // A PCT schedule's change points count steps, so removing an operation
  // usually moves them and loses the finding. Second attempt: the input's
  // interleaving as a direct schedule (which may take more bytes at first),
  // minimized on its own; it wins if it ends smaller and no larger than the
  // input in every measure.
  if (m.current().schedule.kind == program::ScheduleKind::kPct && !m.Exhausted()) {
    std::optional<Program> direct = m.DirectVersion(p);
    Minimizer second(options, runner);
    if (direct.has_value() && second.Start(*direct) && second.kind() == m.kind() &&
        second.location() == m.location()) {
      if (options.progress) options.progress("  restart from the PCT run's interleaving as a direct schedule");
      second.Run();
      if (second.measure().NoLargerThan(original) && second.measure().Key() < m.measure().Key()) {
        result.minimized = second.current();
        result.after = second.measure().size;
      }
    }
  }
  result.runs = runner.runs();
  result.budget_exhausted = m.Exhausted();
  return result;
}

}  // namespace ftf::tools
