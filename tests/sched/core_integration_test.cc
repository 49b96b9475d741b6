// The fiber executor driving real core protocols: PyMutex with detach,
// stop-the-world, safe points and thread exit, under many schedules. These
// protocols are deadlock-free in CPython, so every run must finish (OK), and
// the work done under the mutex must add up.

#include <gtest/gtest.h>

#include <memory>

#include "core/atomics.h"
#include "core/mutex.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "sched/fiber_executor.h"
#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using core::Cell;

struct StwProgram {
  // With `started`, every thread state is started (attached) before the run,
  // as threads that already exist when the fuzzed operations begin.
  StwProgram(int n, bool started) : rt(n), started_before(started) {
    if (started) {
      for (int i = 0; i < n; ++i) core::ThreadStart(rt.thread(i));
    }
  }
  core::Runtime rt;
  core::Mutex m;
  Cell<int> counter;
  Cell<int> stops;
  bool started_before;

  // Thread 0 stops the world once in the middle; everyone else increments
  // the counter under the (detaching) mutex, with safe points in between.
  void Body(FiberExecutor& ex, int t) {
    core::ThreadState& ts = rt.thread(t);
    if (!started_before) core::ThreadStart(ts);
    for (int i = 0; i < 3; ++i) {
      if (t == 0 && i == 1) {
        core::StopTheWorld(ts);
        stops.StoreRelaxed(stops.LoadRelaxed() + 1);
        core::StartTheWorld(ts);
      } else {
        m.Lock(&ts);
        counter.StoreRelaxed(counter.LoadRelaxed() + 1);
        m.Unlock();
      }
      core::SafePoint(ts);
      ex.NoteProgress();
    }
    core::ThreadExit(ts);
  }
};

TEST(CoreIntegrationTest, MutexAndStopTheWorldFinishUnderDirectSchedules) {
  FiberExecutor ex;
  for (uint32_t seed = 0; seed < 150; ++seed) {
    auto p = std::make_unique<StwProgram>(3, /*started=*/true);
    RunResult r = ex.Run(3, [&](int t) { p->Body(ex, t); }, testing::Direct(testing::RandomBytes(seed, 40)));
    ASSERT_EQ(r.outcome, Outcome::kOk) << "seed " << seed << "\n"
                                       << r.description << ex.trace().FormatSwitches() << "\n"
                                       << ex.trace().FormatSteps(120);
    ASSERT_EQ(p->counter.Peek(), 8) << "seed " << seed;
    ASSERT_EQ(p->stops.Peek(), 1) << "seed " << seed;
  }
}

TEST(CoreIntegrationTest, MutexAndStopTheWorldFinishUnderPctSchedules) {
  FiberExecutor ex;
  RunOptions o;
  o.pct_horizon = 200;
  for (uint32_t seed = 0; seed < 150; ++seed) {
    auto p = std::make_unique<StwProgram>(3, /*started=*/true);
    RunResult r =
        ex.Run(3, [&](int t) { p->Body(ex, t); }, testing::Pct(testing::RandomBytes(seed, 12), 1 + seed % 4), o);
    ASSERT_EQ(r.outcome, Outcome::kOk) << "seed " << seed << "\n" << r.description;
    ASSERT_EQ(p->counter.Peek(), 8) << "seed " << seed;
  }
}

// Thread states that start and exit while another thread stops the world:
// a thread created during a stop starts SUSPENDED and is not counted; one
// that exits before being parked un-counts itself (stw.cc ThreadStart/Exit,
// modelling new_threadstate and tstate_delete_common). Seed 3 used to leave
// the countdown at -1 and the requester waiting forever.
TEST(CoreIntegrationTest, ThreadsStartingDuringAStopTheWorld) {
  FiberExecutor ex;
  for (uint32_t seed = 0; seed < 150; ++seed) {
    auto p = std::make_unique<StwProgram>(3, /*started=*/false);
    RunResult r = ex.Run(3, [&](int t) { p->Body(ex, t); }, testing::Direct(testing::RandomBytes(seed, 40)));
    ASSERT_EQ(r.outcome, Outcome::kOk) << "seed " << seed << "\n" << r.description;
  }
}

}  // namespace
}  // namespace ftf::sched
