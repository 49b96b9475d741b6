// The world one program runs in (runner/world.h), driven directly: Build
// makes the program's objects and types, RunThread runs a thread's
// operations and records what each observed, TearDown finds no leak in a
// clean run, and the same World serves the next program from scratch.

#include "runner/world.h"
#include "runner_test_util.h"

#include <gtest/gtest.h>

#include <set>

#include "core/object.h"
#include "program/text.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {
namespace {

using testing::ParseOrFail;
using testing::RunAll;

TEST(WorldTest, BuildRunAndTearDownAProgram) {
  sched::FiberExecutor ex;
  World w(ex);
  const program::Program p = ParseOrFail(
      "ftfuzz program v1\nthreads 2\n"
      "t0 s0: o0.a = fresh\n"
      "t0 s0: r1 = o0.a\n"
      "t1:    r0 = T1()\n"
      "t1:    member_set(r0, a, o2)\n");
  w.Build(p, core::LockedVariant(), /*record=*/true);
  std::set<uint64_t> ids;
  for (int i = 0; i < program::kNumObjects; ++i) {
    ASSERT_NE(w.object(i), nullptr) << "o" << i;
    EXPECT_GE(w.CountHolding(w.object(i)), 1u) << "the shared-object table holds o" << i;
    ids.insert(core::ObjectId(w.object(i)));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(program::kNumObjects)) << "four distinct objects";
  for (int k = 0; k < program::kNumTypes; ++k) EXPECT_NE(w.type(k), nullptr) << "T" << k;
  EXPECT_EQ(w.reg(0, 1), nullptr) << "registers start empty";

  const sched::RunResult r = RunAll(ex, w, p);
  ASSERT_EQ(r.outcome, sched::Outcome::kOk);
  // A thread's registers die with it (its locals).
  for (int t = 0; t < 2; ++t) {
    for (int k = 0; k < program::kNumRegisters; ++k) EXPECT_EQ(w.reg(t, k), nullptr) << "t" << t << " r" << k;
  }
  // t0 loaded back what it stored, which o0.a still holds.
  const std::vector<std::vector<Observation>> obs = w.TakeObservations();
  ASSERT_EQ(obs.size(), 2u);
  ASSERT_EQ(obs[0].size(), 2u);
  ASSERT_EQ(obs[1].size(), 2u);
  for (const auto& thread : obs) {
    for (const Observation& o : thread) EXPECT_EQ(o.result, Observation::Result::kOk);
  }
  core::Object* stored = w.object(0)->slot(0).Peek();
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(obs[0][1].loaded_id, static_cast<int64_t>(core::ObjectId(stored)));
  // The world's own holders are the object table, registers and dicts (a
  // slot is the ledger's business): none holds it once t0 is gone.
  EXPECT_EQ(w.CountHolding(stored), 0u);

  EXPECT_FALSE(w.TearDown().has_value()) << "a clean run leaks nothing";
}

TEST(WorldTest, ErrorsAreObservedAndTheNextBuildStartsFresh) {
  sched::FiberExecutor ex;
  World w(ex);
  // Deleting an empty slot twice: AttributeError the second time; an empty
  // register is skipped.
  const program::Program first = ParseOrFail(
      "ftfuzz program v1\n"
      "t0:    member_set(o1, a, fresh)\n"
      "t0:    member_del(o1, a)\n"
      "t0:    member_del(o1, a)\n"
      "t0 s0: r3 = r2.a\n");
  w.Build(first, core::LockedVariant(), true);
  ASSERT_EQ(RunAll(ex, w, first).outcome, sched::Outcome::kOk);
  const auto obs = w.TakeObservations();
  ASSERT_EQ(obs.size(), 1u);
  ASSERT_EQ(obs[0].size(), 4u);
  EXPECT_EQ(obs[0][0].result, Observation::Result::kOk);
  EXPECT_EQ(obs[0][1].result, Observation::Result::kOk);
  EXPECT_EQ(obs[0][2].result, Observation::Result::kAttributeError);
  EXPECT_EQ(obs[0][3].result, Observation::Result::kEmptyRegister);
  EXPECT_FALSE(w.TearDown().has_value());

  // The same World, another program: nothing of the first run is left.
  const program::Program second = ParseOrFail("ftfuzz program v1\nt0 s0: r0 = o1.a\n");
  w.Build(second, core::LockedVariant(), true);
  EXPECT_EQ(w.reg(0, 2), nullptr);
  ASSERT_EQ(RunAll(ex, w, second).outcome, sched::Outcome::kOk);
  const auto again = w.TakeObservations();
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[0].size(), 1u);
  EXPECT_FALSE(w.TearDown().has_value());
}

}  // namespace
}  // namespace ftf::runner
