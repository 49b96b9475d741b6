// sched_test_util.h - helpers shared by the sched tests.
//
// Bodies in these tests run as logical threads with no happens-before edges
// between them (that is the point of the executor), so they communicate only
// through core::Cell with atomic orders, or write per-thread slots that the
// test reads after Run (Run's join acquire orders those).

#ifndef FTF_TESTS_SCHED_SCHED_TEST_UTIL_H_
#define FTF_TESTS_SCHED_SCHED_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <vector>

#include "program/schedule_spec.h"
#include "sched/fiber_executor.h"

namespace ftf::sched::testing {

// How many fibers an executor has after runs of at most `n` threads: under
// TSan it creates all of them in its first run (glue::ForgetHistory).
inline int FibersAfterRunsOf(int n) {
#if defined(FTF_TSAN)
  (void)n;
  return kMaxThreads;
#else
  return n;
#endif
}

inline program::ScheduleSpec Direct(std::vector<uint8_t> bytes) {
  program::ScheduleSpec s;
  s.kind = program::ScheduleKind::kDirect;
  s.bytes = std::move(bytes);
  return s;
}

inline program::ScheduleSpec Pct(std::vector<uint8_t> bytes, uint8_t depth) {
  program::ScheduleSpec s;
  s.kind = program::ScheduleKind::kPct;
  s.pct_depth = depth;
  s.bytes = std::move(bytes);
  return s;
}

inline std::vector<uint8_t> RandomBytes(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// The thread of each recorded step (needs ring_size >= steps, or full_trace).
inline std::vector<int> StepThreads(const Trace& trace) {
  std::vector<int> out;
  for (const TraceStep& s : trace.Steps()) out.push_back(s.thread);
  return out;
}

}  // namespace ftf::sched::testing

#endif  // FTF_TESTS_SCHED_SCHED_TEST_UTIL_H_
