// Reclamation inside a run: QSBR-delayed frees are processed at an operation
// boundary the schedule chooses (core/qsbr.h, World::RunThread), so the fuzzer
// can put a reclamation anywhere. With the default deferral limit (10) and at
// most 32 operations a thread, the counters alone would never make anything
// retired due within a run.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/heap.h"
#include "core/qsbr.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "runner/runner.h"
#include "../sched/sched_test_util.h"
#include "runner_test_util.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {
namespace {

// Two logical threads on the fiber executor, doing what the interpreter does
// around an operation that retires memory: T0 retires a raw block through
// QSBR, then reaches an operation boundary where (if the schedule says so)
// the threshold is reached and the eval-breaker check processes the queue;
// then it allocates a block of the same size. T1 (attached from the start,
// so a reader QSBR must wait for) runs first and exits.
struct ReclaimProgram {
  core::Runtime rt{2};
  void* retired = nullptr;
  void* next = nullptr;
  size_t live_after_boundary = 0;

  ReclaimProgram() {
    rt.qsbr.deferred_limit = 10;  // the default policy: one retirement is not enough
    for (int i = 0; i < 2; ++i) core::ThreadStart(rt.thread(i));
  }
  void Body(sched::FiberExecutor& ex, int t) {
    core::ThreadState& ts = rt.thread(t);
    if (t == 0) {
      retired = core::AllocRaw(ts, 64);
      core::FreeDelayed(ts, retired);
      ex.NoteProgress();
      if (core::QsbrHasPending(ts) && ex.Choose()) {  // as World::RunThread
        core::QsbrReachThreshold(ts);
        core::SafePoint(ts);
      }
      live_after_boundary = rt.heap(0).live_raw_blocks();
      next = core::AllocRaw(ts, 64);
      core::FreeRaw(ts, next);
    }
    core::ThreadExit(ts);
  }
};

using sched::testing::Direct;

TEST(ReclamationTest, DelayedFreeIsProcessedMidRunWhereTheScheduleSaysAndTheBlockIsReused) {
  sched::FiberExecutor ex;
  // F9: T1 to the end; F8: T0 to the end; the last byte, 01, is the first
  // choice: the one at T0's boundary.
  auto p = std::make_unique<ReclaimProgram>();
  sched::RunResult r = ex.Run(2, [&](int t) { p->Body(ex, t); }, Direct({0xF9, 0xF8, 0x01}));
  ASSERT_EQ(r.outcome, sched::Outcome::kOk) << r.description;
  EXPECT_EQ(p->live_after_boundary, 0u);  // freed in the middle of T0's run
  // The allocator hands the block out again (ASan's quarantine delays reuse;
  // under TSan a freed raw block goes back to malloc only at the next Reset).
  if (!core::HaveAsan() && !testing::kUnderTsan) {
    EXPECT_EQ(p->next, p->retired);
  }
  EXPECT_EQ(p->rt.qsbr.wr_seq.Peek(), 3u);  // advanced once, at the boundary

  // The same program with the choice's bit 0 clear: still pending after the
  // boundary, and the next allocation gets another block.
  auto q = std::make_unique<ReclaimProgram>();
  r = ex.Run(2, [&](int t) { q->Body(ex, t); }, Direct({0xF9, 0xF8, 0x00}));
  ASSERT_EQ(r.outcome, sched::Outcome::kOk) << r.description;
  EXPECT_EQ(q->live_after_boundary, 1u);
  EXPECT_NE(q->next, q->retired);
  EXPECT_EQ(q->rt.qsbr.wr_seq.Peek(), 1u);
}

// The interpreter asks at its operation boundaries: the program of
// mutant_qsbr_goal_vs_wr_seq runs differently on the mutant only when the
// choice after the resizing operation says yes (the keys are freed under
// the reader), and `locked` stays clean either way.
TEST(ReclamationTest, TheRunnerAsksAtTheBoundaryAfterARetirement) {
  absl::StatusOr<program::Program> p =
      program::LoadProgramFile((testing::SourceDir() / "tests/runner/programs/keys_freed_under_lookup.txt").string());
  ASSERT_TRUE(p.ok()) << p.status().message();
  program::Program no = *p;
  no.schedule.bytes.back() = 0x00;  // the first choice
  Runner runner;
  testing::Replay locked_yes = testing::Run(runner, *p, "locked");
  testing::Replay locked_no = testing::Run(runner, no, "locked");
  EXPECT_EQ(locked_yes.kind, "clean");
  EXPECT_EQ(locked_no.kind, "clean");
  // On the mutant the reader then loads freed memory: TSan reports the race
  // and ASan the use after free, and either stops the process (the death
  // test of mutant_detection_test covers TSan).
  if (testing::kUnderTsan || core::HaveAsan()) return;
  testing::Replay mutant_yes = testing::Run(runner, *p, "mutant_qsbr_goal_vs_wr_seq");
  testing::Replay mutant_no = testing::Run(runner, no, "mutant_qsbr_goal_vs_wr_seq");
  // Without the choice the mutant behaves exactly as locked.
  EXPECT_EQ(mutant_no.trace_hash, locked_no.trace_hash);
  // With it the mutant's poll is satisfied without scanning the threads
  // (wr_seq has reached the goal) and frees the keys under the reader, while
  // `locked` scans, finds T0 behind, and keeps them.
  EXPECT_NE(mutant_yes.trace_hash, locked_yes.trace_hash);
  EXPECT_LT(mutant_yes.steps, locked_yes.steps);
}

}  // namespace
}  // namespace ftf::runner
