// sched_point_cost.cc - the cost of a scheduling point in the fiber
// executor, in ns per point and runs per second of CPU time, for a few
// shapes of run (one thread, switching at every point, fuzz-input shaped
// direct and PCT schedules). A measurement, not a test: it prints figures
// and checks nothing. Built where the scheduling hooks are compiled in.
//
// Times are CPU time of the process's one OS thread (all fibers run on it):
// unlike wall time they do not count time other processes take.

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "core/atomics.h"
#include "program/schedule_spec.h"
#include "sched/fiber_executor.h"

namespace ftf::sched {
namespace {

program::ScheduleSpec Direct(std::vector<uint8_t> bytes) {
  program::ScheduleSpec s;
  s.kind = program::ScheduleKind::kDirect;
  s.bytes = std::move(bytes);
  return s;
}

program::ScheduleSpec Pct(std::vector<uint8_t> bytes, uint8_t depth) {
  program::ScheduleSpec s;
  s.kind = program::ScheduleKind::kPct;
  s.pct_depth = depth;
  s.bytes = std::move(bytes);
  return s;
}

std::vector<uint8_t> RandomBytes(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

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

void RunAll() {
  std::printf("[ sched bench ] %-44s %7.1f ns/access\n", "baseline: same accesses, no hook",
              BaselineNsPerAccess(1000000));
  FiberExecutor ex;
  Print("1 thread (no switches)", Measure(ex, 1, 200000, Direct({}), NoBudget(), 5));
  RunOptions every = NoBudget();
  every.fallback_quantum = 1;
  Print("4 threads, switch at every point", Measure(ex, 4, 50000, Direct({}), every, 5));
  RunOptions q8 = NoBudget();
  q8.fallback_quantum = 8;
  Print("4 threads, round robin quantum 8", Measure(ex, 4, 50000, Direct({}), q8, 5));
  // Shaped like a fuzz input: 4 threads x ~300 points.
  Print("4x300 points, 64 random direct bytes", Measure(ex, 4, 300, Direct(RandomBytes(1, 64)), NoBudget(), 2000));
  // Run lengths 1..8 only (r < 8): a decision every few accesses.
  std::vector<uint8_t> bytes = RandomBytes(3, 600);
  for (uint8_t& b : bytes) b &= 0x3F;
  Print("4x300 points, 600 short-run direct bytes", Measure(ex, 4, 300, Direct(bytes), NoBudget(), 2000));
  Print("4x300 points, PCT depth 3", Measure(ex, 4, 300, Pct(RandomBytes(2, 16), 3), NoBudget(), 2000));
  RunOptions nocov = NoBudget();
  nocov.coverage = false;
  Print("4x300 points, direct, coverage off", Measure(ex, 4, 300, Direct(RandomBytes(1, 64)), nocov, 2000));
}

}  // namespace
}  // namespace ftf::sched

int main() {
  ftf::sched::RunAll();
  return 0;
}
