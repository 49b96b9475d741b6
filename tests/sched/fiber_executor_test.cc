// FiberExecutor: running bodies as fibers under a schedule, the trace, replay
// determinism, fiber reuse.

#include "sched/fiber_executor.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

#include "core/atomics.h"
#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using core::Cell;
using testing::Direct;
using testing::Pct;
using testing::StepThreads;

// Each thread stores `n` times into its own cell.
struct OwnCells {
  std::array<Cell<int>, kMaxThreads> cells;
  void Body(int t, int n) {
    for (int i = 0; i < n; ++i) cells[t].StoreRelaxed(i + 1);
  }
};

TEST(FiberExecutorTest, AllThreadsRunToCompletion) {
  FiberExecutor ex;
  OwnCells c;
  RunResult r = ex.Run(4, [&](int t) { c.Body(t, 10 + t); }, Direct({}));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.steps, 10u + 11 + 12 + 13);
  for (int t = 0; t < 4; ++t) EXPECT_EQ(c.cells[t].Peek(), 10 + t);
  EXPECT_EQ(core::CurrentSchedHook(), nullptr);  // uninstalled after the run
}

TEST(FiberExecutorTest, DirectBytesGiveTheExactInterleaving) {
  // Start: 0x08 = T0 for 2 accesses; 0x01 = T1 for 1; 0xF8 = T0 until done
  // (its pending third access); 0xF9 = T1 until done.
  FiberExecutor ex;
  OwnCells c;
  RunResult r = ex.Run(2, [&](int t) { c.Body(t, 3); }, Direct({0x08, 0x01, 0xF8, 0xF9}));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(StepThreads(ex.trace()), (std::vector<int>{0, 0, 1, 0, 1, 1}));
  std::vector<ContextSwitch> sw = ex.trace().Switches();
  ASSERT_EQ(sw.size(), 4u);
  EXPECT_EQ(sw[0].from, -1);
  EXPECT_EQ(sw[0].to, 0);
  EXPECT_EQ(sw[0].step, 0u);
  EXPECT_EQ(sw[1].from, 0);
  EXPECT_EQ(sw[1].to, 1);
  EXPECT_EQ(sw[1].step, 2u);
  EXPECT_EQ(sw[2].from, 1);
  EXPECT_EQ(sw[2].to, 0);
  EXPECT_EQ(sw[2].step, 3u);
  EXPECT_EQ(sw[3].from, 0);
  EXPECT_EQ(sw[3].to, 1);
  EXPECT_EQ(sw[3].step, 4u);
  EXPECT_EQ(r.context_switches, 4u);
  EXPECT_EQ(ex.trace().FormatSwitches(), "T0@0 T1@2 T0@3 T1@4");
}

TEST(FiberExecutorTest, TraceRecordsSiteKindOrderAndAddress) {
  FiberExecutor ex;
  Cell<int> x;
  const int line = __LINE__ + 4;
  RunResult r = ex.Run(
      1,
      [&](int) {
        x.StoreRelease(1);
        (void)x.LoadAcquire();
        int e = 1;
        x.CompareExchangeSeqCst(e, 2);
      },
      Direct({}));
  ASSERT_EQ(r.steps, 3u);
  std::vector<TraceStep> s = ex.trace().Steps();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].kind, EventKind::kStore);
  EXPECT_EQ(s[0].order, core::Order::kRelease);
  EXPECT_EQ(s[0].line, line);
  EXPECT_EQ(s[0].addr, x.address());
  EXPECT_EQ(s[0].step, 1u);
  EXPECT_EQ(s[1].kind, EventKind::kLoad);
  EXPECT_EQ(s[1].order, core::Order::kAcquire);
  EXPECT_EQ(s[2].kind, EventKind::kRmw);
  EXPECT_EQ(s[2].order, core::Order::kSeqCst);
  EXPECT_STREQ(ShortFile(s[0].file), "sched/fiber_executor_test.cc");
  EXPECT_NE(ex.trace().FormatSteps(10).find("fiber_executor_test.cc"), std::string::npos);
}

TEST(FiberExecutorTest, FallbackRoundRobinFinishesRuns) {
  FiberExecutor ex;
  OwnCells c;
  RunOptions o;
  o.fallback_quantum = 4;
  RunResult r = ex.Run(3, [&](int t) { c.Body(t, 8); }, Direct({}), o);
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(StepThreads(ex.trace()),
            (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  // Bytes that run out midway hand over to the round robin.
  r = ex.Run(3, [&](int t) { c.Body(t, 8); }, Direct({0x0A}), o);  // T2 for 2 accesses
  ASSERT_EQ(r.outcome, Outcome::kOk);
  std::vector<int> steps = StepThreads(ex.trace());
  ASSERT_EQ(steps.size(), 24u);
  EXPECT_EQ(std::vector<int>(steps.begin(), steps.begin() + 7), (std::vector<int>{2, 2, 0, 0, 0, 0, 1}));
}

TEST(FiberExecutorTest, PctRunsHighestPriorityFirst) {
  // bytes {0, 0}: T0 highest, then T2, then T1 (decoder_test.cc). Depth 1: no
  // change points, so each thread runs to completion in priority order.
  FiberExecutor ex;
  OwnCells c;
  RunResult r = ex.Run(3, [&](int t) { c.Body(t, 3); }, Pct({0, 0}, 1));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(StepThreads(ex.trace()), (std::vector<int>{0, 0, 0, 2, 2, 2, 1, 1, 1}));
  // Depth 2 with a change point after 2 steps: T0 drops below everyone.
  RunOptions o;
  o.pct_horizon = 100;
  r = ex.Run(3, [&](int t) { c.Body(t, 3); }, Pct({0, 0, 1, 0}, 2), o);  // k = 1 + 1 % 100 = 2
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(StepThreads(ex.trace()), (std::vector<int>{0, 0, 2, 2, 2, 1, 1, 1, 0}));
}

TEST(FiberExecutorTest, YieldEndsTheRunLength) {
  FiberExecutor ex;
  OwnCells c;
  // T0 "forever", but it yields after its first access; the next byte picks T1.
  RunResult r = ex.Run(
      2,
      [&](int t) {
        c.cells[t].StoreRelaxed(1);
        if (t == 0) ex.Yield();
        c.cells[t].StoreRelaxed(2);
      },
      Direct({0xF8, 0xF9, 0xF8}));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  std::vector<TraceStep> s = ex.trace().Steps();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[1].kind, EventKind::kYield);
  EXPECT_EQ(StepThreads(ex.trace()), (std::vector<int>{0, 0, 1, 1, 0}));
}

// A small racy-free workload on shared cells (atomic RMWs and loads), used to
// check determinism.
struct SharedWorkload {
  std::array<Cell<int>, 4> shared;
  std::array<int, kMaxThreads> seen{};  // per-thread results, read after Run
  void Body(int t) {
    int acc = 0;
    for (int i = 0; i < 24; ++i) {
      Cell<int>& c = shared[(t + i) % 4];
      if ((i + t) % 3 == 0) {
        acc += c.FetchAddSeqCst(t + 1);
      } else {
        acc += c.LoadAcquire();
      }
    }
    seen[t] = acc;
  }
};

TEST(FiberExecutorTest, ThousandReplaysGiveTheSameTraceHash) {
  FiberExecutor ex;
  const program::ScheduleSpec spec = Direct(testing::RandomBytes(42, 48));
  uint64_t first_hash = 0;
  std::string first_switches;
  std::array<int, kMaxThreads> first_seen{};
  for (int i = 0; i < 1000; ++i) {
    SharedWorkload w;
    RunResult r = ex.Run(4, [&](int t) { w.Body(t); }, spec);
    ASSERT_EQ(r.outcome, Outcome::kOk);
    if (i == 0) {
      first_hash = r.trace_hash;
      first_switches = ex.trace().FormatSwitches();
      first_seen = w.seen;
      EXPECT_NE(first_hash, 0u);
      EXPECT_GT(r.context_switches, 5u);
    } else {
      ASSERT_EQ(r.trace_hash, first_hash) << "replay " << i;
      ASSERT_EQ(ex.trace().FormatSwitches(), first_switches) << "replay " << i;
      ASSERT_EQ(w.seen, first_seen) << "replay " << i;
    }
  }
  EXPECT_EQ(ex.fibers_created(), testing::FibersAfterRunsOf(4));
}

uint64_t WorkloadHash() {
  FiberExecutor ex;
  SharedWorkload w;
  return ex.Run(4, [&](int t) { w.Body(t); }, Direct(testing::RandomBytes(42, 48))).trace_hash;
}

[[noreturn]] void PrintWorkloadHashAndExit() {
  // Shift the heap so that the cells and fiber stacks land elsewhere too.
  std::vector<std::unique_ptr<char[]>> ballast;
  for (int i = 0; i < 100; ++i) ballast.emplace_back(new char[4096 + 64 * i]);
  std::fprintf(stderr, "trace-hash=%016llx\n", static_cast<unsigned long long>(WorkloadHash()));
  std::fflush(stderr);
  std::_Exit(0);
}

TEST(FiberExecutorTest, TraceHashIsTheSameInAnotherProcess) {
  // "threadsafe" death tests re-execute the binary: a fresh process with its
  // own address-space layout (ASLR), so addresses differ; the hash must not.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  char expected[64];
  std::snprintf(expected, sizeof(expected), "trace-hash=%016llx", static_cast<unsigned long long>(WorkloadHash()));
  EXPECT_EXIT(PrintWorkloadHashAndExit(), ::testing::ExitedWithCode(0), expected);
}

TEST(FiberExecutorTest, DifferentBytesUsuallyGiveDifferentHashes) {
  FiberExecutor ex;
  std::set<uint64_t> hashes;
  for (uint32_t seed = 0; seed < 40; ++seed) {
    SharedWorkload w;
    const bool pct = seed % 2 == 1;
    program::ScheduleSpec spec =
        pct ? Pct(testing::RandomBytes(seed, 16), 3) : Direct(testing::RandomBytes(seed, 32));
    RunOptions o;
    o.pct_horizon = 96;
    hashes.insert(ex.Run(4, [&](int t) { w.Body(t); }, spec, o).trace_hash);
  }
  EXPECT_GE(hashes.size(), 35u);
}

TEST(FiberExecutorTest, FibersAreReusedAcrossRuns) {
  const uint64_t before = Fiber::TotalCreated();
  FiberExecutor ex;
  OwnCells c;
  for (int i = 0; i < 300; ++i) {
    const int n = 1 + i % 4;
    RunResult r = ex.Run(n, [&](int t) { c.Body(t, 5); }, Direct(testing::RandomBytes(i, 8)));
    ASSERT_EQ(r.outcome, Outcome::kOk);
  }
  EXPECT_EQ(ex.fibers_created(), testing::FibersAfterRunsOf(4));
  EXPECT_EQ(Fiber::TotalCreated() - before, static_cast<uint64_t>(testing::FibersAfterRunsOf(4)));
  // More threads later: only the missing fibers are created.
  ex.Run(6, [&](int t) { c.Body(t, 2); }, Direct({}));
  EXPECT_EQ(Fiber::TotalCreated() - before, static_cast<uint64_t>(testing::FibersAfterRunsOf(6)));
}

TEST(FiberExecutorTest, NotesAreAttachedToSteps) {
  FiberExecutor ex;
  OwnCells c;
  ex.Run(
      2,
      [&](int t) {
        for (int op = 0; op < 3; ++op) {
          ex.SetNote(static_cast<uint64_t>(t) << 32 | static_cast<uint64_t>(op));
          c.cells[t].StoreRelaxed(op);
          ex.NoteProgress();
        }
      },
      Direct({}));
  for (const TraceStep& s : ex.trace().Steps()) {
    EXPECT_EQ(static_cast<int>(s.note >> 32), s.thread);
    EXPECT_LT(s.note & 0xFFFFFFFFu, 3u);
  }
}

TEST(FiberExecutorTest, FullTraceAndSwitchListGrowBeyondTheirInitialBuffers) {
  FiberExecutor ex;
  OwnCells c;
  RunOptions o;
  o.full_trace = true;
  o.fallback_quantum = 1;  // a switch at every access
  RunResult r = ex.Run(2, [&](int t) { c.Body(t, 5000); }, Direct({}), o);
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.steps, 10000u);
  std::vector<TraceStep> steps = ex.trace().Steps();
  ASSERT_EQ(steps.size(), 10000u);
  for (size_t i = 0; i < steps.size(); ++i) {
    ASSERT_EQ(steps[i].step, i + 1);
    ASSERT_EQ(steps[i].thread, static_cast<int>(i % 2));
  }
  EXPECT_GE(ex.trace().Switches().size(), 9999u);
  // The same run without full tracing keeps only the ring, with the same hash.
  const uint64_t hash = r.trace_hash;
  o.full_trace = false;
  o.ring_size = 100;
  r = ex.Run(2, [&](int t) { c.Body(t, 5000); }, Direct({}), o);
  EXPECT_EQ(r.trace_hash, hash);
  steps = ex.trace().Steps();
  ASSERT_EQ(steps.size(), 128u);  // rounded up to a power of two
  EXPECT_EQ(steps.back().step, 10000u);
}

TEST(FiberExecutorTest, ABodyExceptionAbandonsTheOthersAndIsRethrown) {
  FiberExecutor ex;
  OwnCells c;
  std::array<int, kMaxThreads> unwound{};
  struct Guard {
    int* flag;
    ~Guard() { *flag = 1; }
  };
  EXPECT_THROW(ex.Run(
                   3,
                   [&](int t) {
                     Guard g{&unwound[t]};
                     c.Body(t, 4);
                     if (t == 1) throw std::runtime_error("boom");
                     c.Body(t, 100);
                   },
                   Direct({0x00, 0x01, 0x02, 0xF9})),
               std::runtime_error);
  EXPECT_EQ(core::CurrentSchedHook(), nullptr);
  EXPECT_EQ(unwound[0], 1);
  EXPECT_EQ(unwound[1], 1);
  EXPECT_EQ(unwound[2], 1);
  // Still usable.
  RunResult r = ex.Run(3, [&](int t) { c.Body(t, 4); }, Direct({}));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.steps, 12u);
}

TEST(FiberExecutorTest, OutsideARunTheHookIsNotInstalledAndCurrentThreadIsMinusOne) {
  FiberExecutor ex;
  EXPECT_EQ(ex.current_thread(), -1);
  EXPECT_EQ(FiberExecutor::Active(), nullptr);
  std::array<int, kMaxThreads> seen{};
  std::array<bool, kMaxThreads> active_ok{};
  ex.Run(
      3,
      [&](int t) {
        seen[t] = ex.current_thread();
        active_ok[t] = FiberExecutor::Active() == &ex;
      },
      Direct({}));
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(seen[t], t);
    EXPECT_TRUE(active_ok[t]);
  }
  EXPECT_EQ(FiberExecutor::Active(), nullptr);
}

}  // namespace
}  // namespace ftf::sched
