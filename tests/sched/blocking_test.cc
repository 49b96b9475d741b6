// FiberExecutor: blocking through core::WaitUntil, DEADLOCK and LIVELOCK
// findings, abandoning a run, reuse afterwards.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>

#include "core/atomics.h"
#include "core/mutex.h"
#include "core/parking_lot.h"
#include "core/thread_state.h"
#include "sched/fiber_executor.h"
#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using core::Cell;
using testing::Direct;

bool FlagSet(const void* ctx) { return static_cast<const Cell<int>*>(ctx)->Peek() != 0; }

core::WaitSpec WaitFor(const char* what, const Cell<int>& flag, core::Loc loc = core::Loc::Here()) {
  return core::WaitSpec{what, &flag, &FlagSet, &flag, loc};
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(BlockingTest, WaitUntilBlocksUntilThePredicateHolds) {
  FiberExecutor ex;
  Cell<int> flag;
  Cell<int> data;
  std::array<int, kMaxThreads> got{};
  // T0 runs first and blocks; T1 publishes; T0 then sees the data.
  RunResult r = ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          core::WaitUntil(WaitFor("test-wait", flag));
          got[0] = data.LoadAcquire();
        } else {
          data.StoreRelease(42);
          flag.StoreRelease(1);
        }
      },
      Direct({0xF8, 0xF9}));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(got[0], 42);
  std::vector<TraceStep> s = ex.trace().Steps();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].kind, EventKind::kBlock);
  EXPECT_EQ(s[0].thread, 0);
  EXPECT_EQ(s[0].addr, &flag);
  EXPECT_EQ(testing::StepThreads(ex.trace()), (std::vector<int>{0, 1, 1, 0}));
}

// Two threads lock two PyMutexes in opposite order (kDontDetach, so the test
// needs no stop-the-world machinery): the classic lock-order deadlock.
struct LockOrderProgram {
  core::Mutex a, b;
  std::array<core::ThreadState, 2> ts;
  std::array<int, kMaxThreads> done{};
  void Body(int t) {
    core::Mutex& first = t == 0 ? a : b;
    core::Mutex& second = t == 0 ? b : a;
    first.Lock(&ts[t], core::LockFlags::kDontDetach);
    second.Lock(&ts[t], core::LockFlags::kDontDetach);
    second.Unlock();
    first.Unlock();
    done[t] = 1;
  }
};

TEST(BlockingTest, OppositeLockOrderIsADeadlock) {
  FiberExecutor ex;
  LockOrderProgram p;
  const auto t0 = std::chrono::steady_clock::now();
  // T0 takes `a` (one access), then T1 runs until it blocks on `a` (having
  // taken `b`), then the round robin resumes T0, which blocks on `b`.
  RunResult r = ex.Run(2, [&](int t) { p.Body(t); }, Direct({0x00, 0xF9}));
  EXPECT_LT(SecondsSince(t0), 5.0);
  ASSERT_EQ(r.outcome, Outcome::kDeadlock) << r.description;
  ASSERT_EQ(r.threads.size(), 2u);
  EXPECT_EQ(r.threads[0].state, ThreadReport::State::kBlocked);
  EXPECT_EQ(r.threads[1].state, ThreadReport::State::kBlocked);
  EXPECT_EQ(r.threads[0].wait_key, &p.b);
  EXPECT_EQ(r.threads[1].wait_key, &p.a);
  EXPECT_STREQ(r.threads[0].wait_what, "PyMutex_Lock");
  EXPECT_NE(r.description.find("DEADLOCK"), std::string::npos);
  EXPECT_NE(r.description.find("T0: blocked in PyMutex_Lock"), std::string::npos) << r.description;
  EXPECT_NE(r.description.find("T1: blocked in PyMutex_Lock"), std::string::npos) << r.description;
  EXPECT_EQ(p.done[0] + p.done[1], 0);
  // Abandoned cleanly: no hook, an empty parking lot.
  EXPECT_EQ(core::CurrentSchedHook(), nullptr);
  EXPECT_EQ(core::GlobalParkingLot().WaitersOn(&p.a), 0);
  EXPECT_EQ(core::GlobalParkingLot().WaitersOn(&p.b), 0);

  // The same executor runs the next input normally, here a schedule under
  // which the lock order does not bite (T0 finishes before T1 starts).
  LockOrderProgram q;
  r = ex.Run(2, [&](int t) { q.Body(t); }, Direct({0xF8, 0xF9}));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.description;
  EXPECT_EQ(q.done[0] + q.done[1], 2);
  EXPECT_EQ(ex.fibers_created(), testing::FibersAfterRunsOf(2));
}

TEST(BlockingTest, DescribeKeyNamesTheWaitKeys) {
  FiberExecutor ex;
  LockOrderProgram p;
  RunOptions o;
  o.describe_key = [&](const void* key) -> std::string {
    return key == &p.a ? "mutex A" : key == &p.b ? "mutex B" : "?";
  };
  RunResult r = ex.Run(2, [&](int t) { p.Body(t); }, Direct({0x00, 0xF9}), o);
  ASSERT_EQ(r.outcome, Outcome::kDeadlock);
  EXPECT_NE(r.description.find("on mutex B"), std::string::npos) << r.description;
  EXPECT_NE(r.description.find("on mutex A"), std::string::npos) << r.description;
}

TEST(BlockingTest, MutexGivesMutualExclusionUnderManySchedules) {
  FiberExecutor ex;
  for (uint32_t seed = 0; seed < 200; ++seed) {
    core::Mutex m;
    std::array<core::ThreadState, 3> ts;
    Cell<int> counter;  // read-modify-write under the lock, in two accesses
    RunResult r = ex.Run(
        3,
        [&](int t) {
          for (int i = 0; i < 4; ++i) {
            m.Lock(&ts[t], core::LockFlags::kDontDetach);
            const int v = counter.LoadRelaxed();
            counter.StoreRelaxed(v + 1);
            m.Unlock();
            ex.NoteProgress();
          }
        },
        Direct(testing::RandomBytes(seed, 24)));
    ASSERT_EQ(r.outcome, Outcome::kOk) << "seed " << seed << "\n" << r.description;
    ASSERT_EQ(counter.Peek(), 12) << "seed " << seed;
  }
}

TEST(BlockingTest, ThreadsWaitingOnEachOtherDeadlockAndUnwind) {
  FiberExecutor ex;
  Cell<int> flags[2];
  std::array<int, kMaxThreads> destroyed{};
  struct Guard {
    int* flag;
    ~Guard() { *flag += 1; }
  };
  RunResult r = ex.Run(
      2,
      [&](int t) {
        Guard g{&destroyed[t]};
        core::WaitUntil(WaitFor("wait-for-other", flags[1 - t]));
        flags[t].StoreRelease(1);
      },
      Direct({}));
  ASSERT_EQ(r.outcome, Outcome::kDeadlock);
  EXPECT_EQ(destroyed[0], 1);  // AbandonRun unwound both bodies
  EXPECT_EQ(destroyed[1], 1);
  EXPECT_NE(r.description.find("wait-for-other"), std::string::npos);
}

TEST(BlockingTest, AFinishedThreadCanLeaveTheOthersDeadlocked) {
  FiberExecutor ex;
  Cell<int> never;
  RunResult r = ex.Run(
      3,
      [&](int t) {
        if (t != 2) core::WaitUntil(WaitFor("never", never));
      },
      Direct({}));
  ASSERT_EQ(r.outcome, Outcome::kDeadlock);
  EXPECT_EQ(r.threads[2].state, ThreadReport::State::kFinished);
  EXPECT_EQ(r.threads[0].state, ThreadReport::State::kBlocked);
}

TEST(BlockingTest, SpinningWithoutProgressIsALivelock) {
  FiberExecutor ex;
  Cell<int> never;
  RunOptions o;
  o.progress_budget = 20000;
  const auto t0 = std::chrono::steady_clock::now();
  RunResult r = ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          while (never.LoadRelaxed() == 0) {
          }
        }
        ex.NoteProgress();
      },
      Direct({}), o);
  EXPECT_LT(SecondsSince(t0), 10.0);
  ASSERT_EQ(r.outcome, Outcome::kLivelock);
  EXPECT_GE(r.steps, 20000u);
  EXPECT_LT(r.steps, 20100u);
  EXPECT_NE(r.description.find("LIVELOCK: no progress"), std::string::npos) << r.description;
  EXPECT_EQ(r.threads[0].state, ThreadReport::State::kRunnable);
  EXPECT_EQ(r.threads[1].state, ThreadReport::State::kFinished);
  ASSERT_TRUE(r.threads[0].has_last_step);
  EXPECT_EQ(r.threads[0].last_step.addr, never.address());
  EXPECT_EQ(r.threads[0].last_step.kind, EventKind::kLoad);
  // Reusable afterwards.
  r = ex.Run(2, [&](int t) { ex.NoteProgress(); }, Direct({}));
  EXPECT_EQ(r.outcome, Outcome::kOk);
}

TEST(BlockingTest, TheStepCapStopsRunsThatClaimProgress) {
  FiberExecutor ex;
  Cell<int> never;
  RunOptions o;
  o.max_steps = 50000;
  RunResult r = ex.Run(
      1,
      [&](int) {
        while (never.LoadRelaxed() == 0) ex.NoteProgress();
      },
      Direct({}), o);
  ASSERT_EQ(r.outcome, Outcome::kLivelock);
  EXPECT_EQ(r.steps, 50000u);
  EXPECT_NE(r.description.find("cap of 50000 steps"), std::string::npos) << r.description;
}

TEST(BlockingTest, SchedulingPointsInDestructorsDuringAbandonDoNotThrowAgain) {
  FiberExecutor ex;
  Cell<int> never;
  Cell<int> touched;
  std::array<int, kMaxThreads> destroyed{};
  struct TouchOnExit {
    Cell<int>* c;
    int* flag;
    ~TouchOnExit() {
      c->StoreRelaxed(1);  // a scheduling point while AbandonRun unwinds
      *flag = 1;
    }
  };
  RunResult r = ex.Run(
      2,
      [&](int t) {
        TouchOnExit guard{&touched, &destroyed[t]};
        core::WaitUntil(WaitFor("never", never));
      },
      Direct({}));
  ASSERT_EQ(r.outcome, Outcome::kDeadlock);
  EXPECT_EQ(destroyed[0], 1);
  EXPECT_EQ(destroyed[1], 1);
  EXPECT_EQ(touched.Peek(), 1);
}

TEST(BlockingTest, DeadlockAndLivelockOutcomesAreDeterministic) {
  FiberExecutor ex;
  for (int rep = 0; rep < 2; ++rep) {
    uint64_t hash = 0;
    for (int i = 0; i < 50; ++i) {
      LockOrderProgram p;
      RunResult r = ex.Run(2, [&](int t) { p.Body(t); }, Direct({0x00, 0xF9}));
      ASSERT_EQ(r.outcome, Outcome::kDeadlock);
      if (i == 0) hash = r.trace_hash;
      ASSERT_EQ(r.trace_hash, hash);
    }
  }
}

}  // namespace
}  // namespace ftf::sched
