// Blocking across stop-the-world, mid-run under the fiber executor
// (docs/cpython-model.md §21): the PyMutex fairness hand-off happens where
// the schedule's choice says, and the gh-158195 deadlock (a stop-the-world
// requester re-acquiring, while it waits for the stop-the-world mutex, the
// TYPE_LOCK a thread queued behind it holds pinned) happens in the middle of
// a program on the mutant and not on `locked`.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/mutex.h"
#include "core/parking_lot.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "program/io.h"
#include "program/text.h"
#include "runner/replay.h"
#include "../sched/sched_test_util.h"
#include "runner_test_util.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {
namespace {

// T0 holds a mutex until T1 has parked on it, then unlocks and looks at the
// byte before T1 runs again. The unlock asks the schedule's first choice
// (its last byte) whether T1 waited past TIME_TO_BE_FAIR_NS.
struct HandOffProgram {
  core::Runtime rt{2};
  core::Mutex m;
  uint8_t bits_after_unlock = 0xFF;
  bool t1_got_it = false;

  HandOffProgram() {
    for (int i = 0; i < 2; ++i) core::ThreadStart(rt.thread(i));
  }
  static bool Parked(const void* ctx) { return core::GlobalParkingLot().WaitersOn(ctx) >= 1; }
  void Body(int t) {
    core::ThreadState& ts = rt.thread(t);
    if (t == 0) {
      m.Lock(&ts);
      core::WaitUntil(core::WaitSpec{"test: T1 parked", &m, &Parked, &m, core::Loc::Here()});
      m.Unlock();
      bits_after_unlock = m.PeekBits();  // no scheduling point since the unlock
    } else {
      m.Lock(&ts);
      t1_got_it = true;
      m.Unlock();
    }
    core::ThreadExit(ts);
  }
};

using sched::testing::Direct;

TEST(StwHandOffTest, UnlockHandsTheMutexToTheParkedWaiterWhereTheScheduleChooses) {
  // F8: T0 until it blocks; F9: T1 spins, parks; F8: T0 unlocks (the first
  // choice is the last byte); then whoever is left.
  for (uint8_t choice : {uint8_t{0x01}, uint8_t{0x00}}) {
    sched::FiberExecutor ex;
    auto p = std::make_unique<HandOffProgram>();
    sched::RunResult r = ex.Run(2, [&](int t) { p->Body(t); }, Direct({0xF8, 0xF9, 0xF8, choice}));
    ASSERT_EQ(r.outcome, sched::Outcome::kOk) << r.description;
    EXPECT_TRUE(p->t1_got_it);
    if (choice & 1) {
      EXPECT_EQ(p->bits_after_unlock, core::kLocked) << "handed off: locked for T1, no waiter left";
    } else {
      EXPECT_EQ(p->bits_after_unlock, 0) << "no hand-off: free, T1 competes";
    }
  }
}

// type_set_abstract (t1) holds TYPE_LOCK and waits for the stop-the-world
// mutex, which the __class__ assignment (t2) holds; its detach releases
// TYPE_LOCK; type_set_flags (t0) takes TYPE_LOCK, pins it and queues for the
// same mutex. The last schedule byte hands the mutex to t1 when t2 is done
// (tests/runner/programs/stw_requester_resumes_pinned_type_lock.txt).
constexpr const char* kPinnedTypeLockProgram = R"(ftfuzz program v1
threads 3
schedule direct
bytes 41 28 6a 81 21 11 48 f9

t0: type_set_flags(T0)
t1: type_set_abstract(T0)
t2: o0.__class__ = T0
)";

TEST(StwHandOffTest, RequesterThatResumesItsSectionWhileWaitingForTheStopDeadlocksOnThePinnedTypeLock) {
  Replayed mutant = ReplayText(kPinnedTypeLockProgram, "mutant_stw_resumes_sections");
  ASSERT_TRUE(mutant.error.empty()) << mutant.error;
  ASSERT_TRUE(mutant.kind.has_value());
  EXPECT_EQ(*mutant.kind, core::FindingKind::kDeadlock) << mutant.cause;
  // t0 waits for the stop-the-world mutex, t1 (re-attaching) for TYPE_LOCK.
  EXPECT_NE(mutant.cause.find("core/stw.cc"), std::string::npos) << mutant.cause;

  Replayed locked = ReplayText(kPinnedTypeLockProgram, "locked");
  ASSERT_TRUE(locked.error.empty()) << locked.error;
  EXPECT_FALSE(locked.kind.has_value()) << locked.cause;
}

// gh-133130: TYPE_LOCK handed off to a thread parked on it when a stop
// suspended it. The requester of the mutant locks TYPE_LOCK with the world
// stopped and waits forever; without the hand-off (the first choice, the
// last byte, flipped to no) the same schedule is clean.
TEST(StwHandOffTest, TypeLockHandedOffToASuspendedThreadDeadlocksARequesterThatLocksItWhileStopped) {
  absl::StatusOr<program::Program> p = program::LoadProgramFile(
      (testing::SourceDir() / "tests/runner/programs/type_lock_handed_off_to_suspended_thread.txt").string());
  ASSERT_TRUE(p.ok()) << p.status().message();
  const std::string text = program::ToText(*p);
  Replayed mutant = ReplayText(text, "mutant_type_lock_inside_stop");
  ASSERT_TRUE(mutant.kind.has_value()) << mutant.error;
  EXPECT_EQ(*mutant.kind, core::FindingKind::kDeadlock) << mutant.cause;
  EXPECT_NE(mutant.cause.find("stop-the-world (suspended)"), std::string::npos) << mutant.cause;
  EXPECT_FALSE(ReplayText(text, "locked").kind.has_value());

  program::Program no_hand_off = *p;
  ASSERT_FALSE(no_hand_off.schedule.bytes.empty());
  no_hand_off.schedule.bytes.back() &= 0xFE;
  Replayed fair_off = ReplayText(program::ToText(no_hand_off), "mutant_type_lock_inside_stop");
  EXPECT_FALSE(fair_off.kind.has_value()) << fair_off.cause;
}

}  // namespace
}  // namespace ftf::runner
