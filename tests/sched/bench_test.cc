// Cost of a scheduling point in the fiber executor (prints ns per point).
//
// Times are CPU time of the test's OS thread. Not a pass/fail benchmark: it prints the numbers (the benchmark's goal is 10,000
// exec/s under TSan for 4 threads x 32 operations, ~1-3k scheduling points per
// input) and only fails if a point costs absurdly much (a broken fast path).

#include <gtest/gtest.h>

#include <time.h>

#include <cstdio>

#include "core/atomics.h"
#include "sched/fiber_executor.h"
#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using core::Cell;

// CPU time of this OS thread (all fibers run on it): unlike wall time it does
// not count time other processes take on a loaded machine.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Measurement {
  double ns_per_point;
  double runs_per_second;
  uint64_t points_per_run;
  uint64_t switches_per_run;
};

// Each of `threads` threads makes `points` relaxed loads/stores on a few
// shared cells, under `spec`, `runs` times.
Measurement Measure(FiberExecutor& ex, int threads, int points, const program::ScheduleSpec& spec,
                    const RunOptions& o, int runs) {
  Cell<int> cells[8];
  uint64_t steps = 0, switches = 0;
  const double t0 = ThreadCpuSeconds();
  for (int i = 0; i < runs; ++i) {
    RunResult r = ex.Run(
        threads,
        [&](int t) {
          for (int k = 0; k < points; ++k) {
            Cell<int>& c = cells[(t + k) & 7];
            if (k & 1) {
              c.StoreRelaxed(k);
            } else {
              (void)c.LoadRelaxed();
            }
          }
        },
        spec, o);
    steps += r.steps;
    switches += r.context_switches;
  }
  const double s = ThreadCpuSeconds() - t0;
  return Measurement{s * 1e9 / static_cast<double>(steps), runs / s, steps / runs, switches / runs};
}

void Print(const char* what, const Measurement& m) {
  std::printf("[ sched bench ] %-44s %7.1f ns/point  %9.0f runs/s (CPU)  (%llu points, %llu switches per run)\n", what,
              m.ns_per_point, m.runs_per_second, static_cast<unsigned long long>(m.points_per_run),
              static_cast<unsigned long long>(m.switches_per_run));
}

// The same accesses with no executor (no hook installed): the cost of the
// accesses themselves (TSan instrumentation included), to subtract.
double BaselineNsPerAccess(int points) {
  Cell<int> cells[8];
  const double t0 = ThreadCpuSeconds();
  for (int k = 0; k < points; ++k) {
    Cell<int>& c = cells[k & 7];
    if (k & 1) {
      c.StoreRelaxed(k);
    } else {
      (void)c.LoadRelaxed();
    }
  }
  const double s = ThreadCpuSeconds() - t0;
  return s * 1e9 / points;
}

RunOptions NoBudget() {
  RunOptions o;
  o.progress_budget = 0;  // the bodies make no NoteProgress() calls
  return o;
}

TEST(SchedBench, Baseline) {
  std::printf("[ sched bench ] %-44s %7.1f ns/access\n", "baseline: same accesses, no hook",
              BaselineNsPerAccess(1000000));
}

TEST(SchedBench, OneThreadNoSwitches) {
  FiberExecutor ex;
  Measurement m = Measure(ex, 1, 200000, testing::Direct({}), NoBudget(), 5);
  Print("1 thread (no switches)", m);
  EXPECT_LT(m.ns_per_point, 20000.0);
}

TEST(SchedBench, FourThreadsSwitchAtEveryPoint) {
  FiberExecutor ex;
  RunOptions o = NoBudget();
  o.fallback_quantum = 1;
  Measurement m = Measure(ex, 4, 50000, testing::Direct({}), o, 5);
  Print("4 threads, switch at every point", m);
  EXPECT_LT(m.ns_per_point, 20000.0);
}

TEST(SchedBench, FourThreadsQuantum8) {
  FiberExecutor ex;
  RunOptions o = NoBudget();
  o.fallback_quantum = 8;
  Print("4 threads, round robin quantum 8", Measure(ex, 4, 50000, testing::Direct({}), o, 5));
}

// Shaped like a fuzz input: 4 threads x ~300 points.
TEST(SchedBench, FuzzShapedDirect) {
  FiberExecutor ex;
  Print("4x300 points, 64 random direct bytes",
        Measure(ex, 4, 300, testing::Direct(testing::RandomBytes(1, 64)), NoBudget(), 2000));
}

TEST(SchedBench, FuzzShapedDirectManySwitches) {
  FiberExecutor ex;
  // Run lengths 1..8 only (r < 8): a decision every few accesses.
  std::vector<uint8_t> bytes = testing::RandomBytes(3, 600);
  for (uint8_t& b : bytes) b &= 0x3F;
  Print("4x300 points, 600 short-run direct bytes",
        Measure(ex, 4, 300, testing::Direct(bytes), NoBudget(), 2000));
}

TEST(SchedBench, FuzzShapedPct) {
  FiberExecutor ex;
  Print("4x300 points, PCT depth 3",
        Measure(ex, 4, 300, testing::Pct(testing::RandomBytes(2, 16), 3), NoBudget(), 2000));
}

TEST(SchedBench, FuzzShapedDirectNoCoverage) {
  FiberExecutor ex;
  RunOptions o = NoBudget();
  o.coverage = false;
  Print("4x300 points, direct, coverage off",
        Measure(ex, 4, 300, testing::Direct(testing::RandomBytes(1, 64)), o, 2000));
}

}  // namespace
}  // namespace ftf::sched
