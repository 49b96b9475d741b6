// mutator_test.cc - the structure-aware mutator (src/runner/mutator.h): each
// mutation keeps the input decodable and changes exactly what it says,
// cross-over splices a thread, the same seed gives the same result, and
// max_size is respected.

#include "runner/mutator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "program/conflicts.h"
#include "program/decoder.h"
#include "program/encoder.h"
#include "program/text.h"

namespace ftf::runner {
namespace {

using program::Program;

Program Parse(const char* text) {
  absl::StatusOr<Program> p = program::ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

// Two threads racing on o0.a, PCT depth 2, three schedule bytes.
constexpr const char* kTwoThreads = R"(ftfuzz program v1
threads 2
schedule pct depth 2
bytes 01 00 05
t0 s1: o0.a = fresh
t0:    del globals[g3]
t0:    r1 = member_get(o1, b)
t1 s1: r2 = o0.a
t1:    del r2
)";

std::vector<uint8_t> Bytes(const Program& p) {
  absl::StatusOr<std::vector<uint8_t>> b = program::Encode(p);
  EXPECT_TRUE(b.ok()) << b.status();
  return *b;
}

Program DecodeVec(const std::vector<uint8_t>& v) { return program::Decode(std::span<const uint8_t>(v)); }

// Every op of `p` as (thread, op) in thread order, for multiset comparisons.
std::vector<std::pair<size_t, program::Op>> Ops(const Program& p) {
  std::vector<std::pair<size_t, program::Op>> out;
  for (size_t t = 0; t < p.threads.size(); ++t) {
    for (const program::Op& op : p.threads[t].ops) out.push_back({t, op});
  }
  return out;
}

TEST(MutatorTest, EveryMutationKeepsTheProgramValidAndChangesIt) {
  const Program base = Parse(kTwoThreads);
  for (int m = 1; m < static_cast<int>(Mutation::kCount); ++m) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
      Program p = base;
      MutationRng rng(seed);
      ASSERT_TRUE(ApplyMutation(static_cast<Mutation>(m), p, rng, nullptr)) << MutationName(static_cast<Mutation>(m));
      EXPECT_TRUE(program::Validate(p).ok()) << MutationName(static_cast<Mutation>(m)) << "\n" << program::ToText(p);
      EXPECT_NE(p, base) << MutationName(static_cast<Mutation>(m));
      // What the mutator writes decodes to what it meant.
      EXPECT_EQ(DecodeVec(EncodeWithin(p, 1 << 16)), p);
    }
  }
}

TEST(MutatorTest, EachMutationDoesWhatItsNameSays) {
  const Program base = Parse(kTwoThreads);
  const int n = program::TotalOps(base);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MutationRng rng(seed);
    Program p = base;
    ASSERT_TRUE(ApplyMutation(Mutation::kInsertOp, p, rng, nullptr));
    EXPECT_EQ(program::TotalOps(p), n + 1);

    p = base;
    ASSERT_TRUE(ApplyMutation(Mutation::kDeleteOp, p, rng, nullptr));
    EXPECT_EQ(program::TotalOps(p), n - 1);

    p = base;
    ASSERT_TRUE(ApplyMutation(Mutation::kDuplicateOp, p, rng, nullptr));
    EXPECT_EQ(program::TotalOps(p), n + 1);
    bool repeated = false;  // some op now directly follows an equal one
    for (const auto& t : p.threads) {
      for (size_t i = 1; i < t.ops.size(); ++i) repeated |= t.ops[i] == t.ops[i - 1];
    }
    EXPECT_TRUE(repeated);

    p = base;  // same operations per thread, another order
    ASSERT_TRUE(ApplyMutation(Mutation::kMoveOp, p, rng, nullptr));
    ASSERT_EQ(p.threads.size(), base.threads.size());
    for (size_t t = 0; t < p.threads.size(); ++t) {
      auto a = p.threads[t].ops, b = base.threads[t].ops;
      ASSERT_EQ(a.size(), b.size());
      EXPECT_TRUE(std::is_permutation(a.begin(), a.end(), b.begin()));
    }

    p = base;  // same operations, one of them in another thread
    ASSERT_TRUE(ApplyMutation(Mutation::kMoveOpToThread, p, rng, nullptr));
    EXPECT_EQ(program::TotalOps(p), n);
    int shrunk = 0;  // the thread the operation left
    for (size_t t = 0; t < base.threads.size(); ++t) shrunk += p.threads[t].ops.size() < base.threads[t].ops.size();
    EXPECT_EQ(shrunk, 1);
    EXPECT_EQ(p.schedule, base.schedule);

    p = base;  // exactly one operation differs, and it now names a shared object
    ASSERT_TRUE(ApplyMutation(Mutation::kRetarget, p, rng, nullptr));
    auto a = Ops(p), b = Ops(base);
    ASSERT_EQ(a.size(), b.size());
    int diffs = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] == b[i]) continue;
      ++diffs;
      EXPECT_TRUE(a[i].second.target.kind == program::Target::Kind::kObject ||
                  a[i].second.value.kind == program::Value::Kind::kObject);
    }
    EXPECT_EQ(diffs, 1);

    p = base;  // only the schedule changes
    ASSERT_TRUE(ApplyMutation(Mutation::kScheduleBytes, p, rng, nullptr));
    EXPECT_EQ(p.threads, base.threads);
    EXPECT_EQ(p.schedule.kind, base.schedule.kind);
    EXPECT_NE(p.schedule.bytes, base.schedule.bytes);

    p = base;
    ASSERT_TRUE(ApplyMutation(Mutation::kScheduleKind, p, rng, nullptr));
    EXPECT_EQ(p.threads, base.threads);
    EXPECT_EQ(p.schedule.bytes, base.schedule.bytes);
    EXPECT_TRUE(p.schedule.kind != base.schedule.kind || p.schedule.pct_depth != base.schedule.pct_depth);
  }
}

TEST(MutatorTest, InsertRelatedAddsAnOperationThatMayConflictWithAnExistingOne) {
  // One donor: a LOAD_GLOBAL of g5 through site 2.
  const Program base = Parse("ftfuzz program v1\nt0 s2: r1 = g5\n");
  const program::Op donor = base.threads[0].ops[0];
  int same_thread = 0, other_thread = 0, same_name = 0;
  std::vector<program::OpCode> codes;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Program p = base;
    MutationRng rng(seed);
    ASSERT_TRUE(ApplyMutation(Mutation::kInsertRelated, p, rng, nullptr));
    ASSERT_EQ(program::TotalOps(p), 2);
    // The donor is still there; the other operation is the new one.
    ASSERT_EQ(p.threads[0].ops.size() + (p.threads.size() > 1 ? p.threads[1].ops.size() : 0), 2u);
    const program::Op* added = p.threads.size() > 1         ? &p.threads[1].ops[0]
                               : p.threads[0].ops[0] == donor ? &p.threads[0].ops[1]
                                                              : &p.threads[0].ops[0];
    ASSERT_NE(added, nullptr);
    EXPECT_TRUE(program::MayConflict(*added, donor)) << program::ToText(p);
    (p.threads.size() == 1 ? same_thread : other_thread)++;
    if (program::UsesField(added->code, program::kFieldName) && added->name == donor.name) ++same_name;
    if (std::find(codes.begin(), codes.end(), added->code) == codes.end()) codes.push_back(added->code);
  }
  // Both placements happen, the donor's name is usually kept, and the
  // partner is not always the same opcode.
  EXPECT_GT(same_thread, 40);
  EXPECT_GT(other_thread, 40);
  EXPECT_GT(same_name, 40);
  EXPECT_GE(codes.size(), 5u);
  // An operation that touches nothing shared has no related operation.
  Program quiet = Parse("ftfuzz program v1\nt0: yield\n");
  MutationRng rng(1);
  EXPECT_FALSE(ApplyMutation(Mutation::kInsertRelated, quiet, rng, nullptr));
}

TEST(MutatorTest, CrossOverSplicesAThreadOfTheOtherInput) {
  const Program a = Parse(kTwoThreads);
  const Program b = Parse(R"(ftfuzz program v1
threads 3
t0: quiescent
t2: globals[g5] = None
t2: yield
)");
  const std::vector<uint8_t> ab = Bytes(a), bb = Bytes(b);
  for (unsigned seed = 0; seed < 50; ++seed) {
    std::vector<uint8_t> out(4096);
    const size_t n = CrossOverInputs(ab.data(), ab.size(), bb.data(), bb.size(), out.data(), out.size(), seed);
    ASSERT_GT(n, 0u);
    out.resize(n);
    const Program c = DecodeVec(out);
    // One thread of c is a non-empty thread of b; every other is a's.
    int from_b = 0, from_a = 0;
    for (size_t t = 0; t < c.threads.size(); ++t) {
      if (t < a.threads.size() && c.threads[t] == a.threads[t]) {
        ++from_a;
      } else if (c.threads[t] == b.threads[0] || c.threads[t] == b.threads[2]) {
        ++from_b;
      }
    }
    EXPECT_EQ(from_b, 1) << program::ToText(c);
    EXPECT_EQ(from_a + from_b, static_cast<int>(c.threads.size())) << program::ToText(c);
  }
  // Nothing to splice from an input without operations.
  std::vector<uint8_t> out(4096);
  EXPECT_EQ(CrossOverInputs(ab.data(), ab.size(), nullptr, 0, out.data(), out.size(), 7), 0u);
}

TEST(MutatorTest, SameSeedSameMutationOtherSeedsDiffer) {
  const std::vector<uint8_t> in = Bytes(Parse(kTwoThreads));
  std::vector<std::vector<uint8_t>> results;
  for (unsigned seed = 0; seed < 20; ++seed) {
    std::vector<uint8_t> x = in, y = in;
    x.resize(1024);
    y.resize(1024);
    x.resize(MutateInput(x.data(), in.size(), 1024, seed, nullptr));
    y.resize(MutateInput(y.data(), in.size(), 1024, seed, nullptr));
    EXPECT_EQ(x, y) << "seed " << seed;
    results.push_back(x);
  }
  std::sort(results.begin(), results.end());
  EXPECT_GT(std::unique(results.begin(), results.end()) - results.begin(), 10);
}

TEST(MutatorTest, RespectsMaxSizeAndAlwaysDecodes) {
  std::mt19937 gen(12345);
  for (int iter = 0; iter < 3000; ++iter) {
    const size_t max_size = 1 + gen() % 120;
    std::vector<uint8_t> buf(max_size);
    const size_t size = gen() % (max_size + 1);
    for (size_t i = 0; i < size; ++i) buf[i] = static_cast<uint8_t>(gen());
    const size_t n = MutateInput(buf.data(), size, max_size, static_cast<unsigned>(gen()), nullptr);
    ASSERT_LE(n, max_size);
    EXPECT_TRUE(program::Validate(program::Decode(std::span<const uint8_t>(buf.data(), n))).ok());

    std::vector<uint8_t> other(1 + gen() % 80);
    for (auto& b : other) b = static_cast<uint8_t>(gen());
    std::vector<uint8_t> out(max_size);
    ASSERT_LE(CrossOverInputs(buf.data(), n, other.data(), other.size(), out.data(), max_size,
                              static_cast<unsigned>(gen())),
              max_size);
  }
}

TEST(MutatorTest, FittingDropsScheduleBytesBeforeOperations) {
  const Program p = Parse(kTwoThreads);  // 2 + 5 * 6 + 3 = 35 bytes
  ASSERT_EQ(Bytes(p).size(), 35u);
  Program q = DecodeVec(EncodeWithin(p, 33));
  EXPECT_EQ(q.threads, p.threads);
  EXPECT_EQ(q.schedule.bytes.size(), 1u);
  q = DecodeVec(EncodeWithin(p, 31));
  EXPECT_EQ(program::TotalOps(q), 4);
  EXPECT_TRUE(q.schedule.bytes.empty());
}

// How many of `n` MutateInput calls (seeds 0..n-1, no byte mutator) change
// only the schedule of `text`.
int ScheduleOnlyMutations(const char* text, int n) {
  const Program base = Parse(text);
  const std::vector<uint8_t> in = Bytes(base);
  int schedule_only = 0;
  for (int seed = 0; seed < n; ++seed) {
    std::vector<uint8_t> buf = in;
    buf.resize(4096);
    const size_t size = MutateInput(buf.data(), in.size(), buf.size(), static_cast<unsigned>(seed), nullptr);
    Program out = DecodeVec(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(size)));
    if (out.schedule == base.schedule) continue;
    out.schedule = base.schedule;
    if (out == base) ++schedule_only;
  }
  return schedule_only;
}

TEST(MutatorTest, TheStaticScoreSteersScheduleMutations) {
  // No pair of operations can conflict (o0 and o1, each touched by one
  // thread): another schedule cannot change the outcome, none is tried.
  constexpr const char* kApart = R"(ftfuzz program v1
threads 2
schedule direct
bytes 01 00 05
t0 s0: o0.a = fresh
t1 s0: r0 = o1.a
)";
  EXPECT_EQ(ScheduleOnlyMutations(kApart, 400), 0);
  // Conflicting pairs: schedule-only mutations get 30 in 100 first, then
  // their share of the table (without the boost: 117 of 400 here).
  constexpr const char* kMeet = R"(ftfuzz program v1
threads 2
schedule direct
bytes 01 00 05
t0 s0: o0.a = fresh
t0 s1: o0.b = fresh
t0 s2: o0.a = o1
t1 s0: r0 = o0.a
t1 s1: r1 = o0.b
t1: o0.__class__ = T1
)";
  const int meet = ScheduleOnlyMutations(kMeet, 400);
  EXPECT_GT(meet, 400 * 40 / 100) << meet;
}

}  // namespace
}  // namespace ftf::runner
