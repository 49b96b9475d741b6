// Tests for PyMutex's spin and fairness hand-off, the bucketed parking lot,
// the pinned TYPE_LOCK and the stop-the-world requester's sections
// (mutex.h, parking_lot.h, critical_section.h, stw.h; docs/cpython-model.md
// §21), with real threads and small scheduling hooks.

#include "core/mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "core/critical_section.h"
#include "core/parking_lot.h"
#include "core/runtime.h"
#include "core/sched_hook.h"
#include "core/stw.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

void WaitForWaiters(const void* key, int n) {
  while (GlobalParkingLot().WaitersOn(key) < n) std::this_thread::yield();
}

// A hook for real threads: waits by yielding, answers every ChooseEvent
// with `choose`, and counts the loads of one address.
class TestHook : public SchedHook {
 public:
  explicit TestHook(bool choose, const void* watched = nullptr) : choose_(choose), watched_(watched) {
    old_ = InstallSchedHook(this);
  }
  ~TestHook() override { InstallSchedHook(old_); }
  void OnAccess(const Access& a) override {
    if (a.addr == watched_ && a.kind == AccessKind::kLoad) loads_.fetch_add(1);
  }
  void WaitUntil(const WaitSpec& spec) override {
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
  }
  bool ChooseEvent(const char*) override {
    asked_.fetch_add(1);
    return choose_;
  }
  int loads() const { return loads_.load(); }
  int asked() const { return asked_.load(); }

 private:
  bool choose_;
  const void* watched_;
  SchedHook* old_;
  std::atomic<int> loads_{0};
  std::atomic<int> asked_{0};
};

// A waiter spins MAX_SPIN_COUNT times (one re-load of the byte each) before
// it parks; with the spin turned off it parks after its first look.
TEST(MutexSpinTest, ContendedLockRetriesMaxSpinCountTimesBeforeParking) {
  for (int max_spin : {kMaxSpinCount, 0}) {
    Runtime rt(2);
    rt.mutex_max_spin = max_spin;
    Mutex m;
    TestHook hook(/*choose=*/false, m.address());
    ThreadStart(rt.thread(0));
    m.Lock(&rt.thread(0));
    std::thread waiter([&] {
      ThreadStart(rt.thread(1));
      m.Lock(&rt.thread(1));
      m.Unlock();
      ThreadExit(rt.thread(1));
    });
    WaitForWaiters(&m, 1);
    // The slow path's first load, then one per spin.
    EXPECT_EQ(hook.loads(), 1 + max_spin) << "max_spin " << max_spin;
    EXPECT_EQ(m.PeekBits(), kLocked | kHasParked);
    m.Unlock();
    waiter.join();
    ThreadExit(rt.thread(0));
  }
}

// mutex_unpark: when the input says the woken waiter has waited long
// enough, the byte stays LOCKED and the waiter owns the mutex before it has
// even run again; otherwise the byte is 0 and it competes.
TEST(MutexHandOffTest, UnlockHandsTheMutexToTheWokenWaiterWhenTheInputSaysItWaitedLongEnough) {
  for (bool fair : {true, false}) {
    Runtime rt(2);
    Mutex m;
    TestHook hook(fair);
    ThreadStart(rt.thread(0));
    m.Lock(&rt.thread(0));
    std::atomic<bool> release{false};
    std::thread waiter([&] {
      ThreadStart(rt.thread(1));
      m.Lock(&rt.thread(1));
      while (!release.load()) std::this_thread::yield();
      m.Unlock();
      ThreadExit(rt.thread(1));
    });
    WaitForWaiters(&m, 1);
    EXPECT_EQ(hook.asked(), 0);  // asked only when an unlock wakes a waiter
    m.Unlock();
    EXPECT_EQ(hook.asked(), 1);
    if (fair) {
      // Handed off: locked for the waiter, no waiter left.
      EXPECT_EQ(m.PeekBits(), kLocked);
      EXPECT_FALSE(m.TryLock());
    } else {
      // Byte 0 (unless the woken waiter already took it back).
      const uint8_t bits = m.PeekBits();
      EXPECT_TRUE(bits == 0 || bits == kLocked) << int{bits};
    }
    release.store(true);
    waiter.join();
    EXPECT_EQ(m.PeekBits(), 0);
    ThreadExit(rt.thread(0));
  }
}

// Python/parking_lot.c: 257 buckets by address; waiters on two addresses of
// one bucket queue together, but an unpark wakes only its address's oldest
// waiter, and "more waiters" is per address in the model.
TEST(ParkingLotBucketTest, AddressesSharingABucketAreWokenSeparately) {
  static uint8_t bytes[2 * ParkingLot::kNumBuckets];
  Cell<uint8_t>* a = reinterpret_cast<Cell<uint8_t>*>(&bytes[0]);
  Cell<uint8_t>* b = reinterpret_cast<Cell<uint8_t>*>(&bytes[ParkingLot::kNumBuckets]);
  ASSERT_EQ(ParkingLot::BucketOf(a), ParkingLot::BucketOf(b));
  ASSERT_NE(ParkingLot::BucketOf(a), ParkingLot::BucketOf(&bytes[1]));
  Runtime rt(2);
  std::atomic<int> woken{0};
  std::thread ta([&] {
    EXPECT_TRUE(GlobalParkingLot().Park(rt.thread(0), a, *a, 0, "test", Loc::Here()));
    woken.fetch_add(1);
  });
  std::thread tb([&] {
    EXPECT_TRUE(GlobalParkingLot().Park(rt.thread(1), b, *b, 0, "test", Loc::Here()));
    woken.fetch_add(10);
  });
  WaitForWaiters(a, 1);
  WaitForWaiters(b, 1);
  bool found = false, more = true;
  GlobalParkingLot().Unpark(a, [&](bool f, bool m) { found = f, more = m; });
  EXPECT_TRUE(found);
  EXPECT_FALSE(more);  // b's waiter shares the bucket, not the address
  ta.join();
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(GlobalParkingLot().WaitersOn(b), 1);
  GlobalParkingLot().Unpark(b, [](bool, bool) {});
  tb.join();
  EXPECT_EQ(woken.load(), 11);
}

// type_lock_prevent_release: a pinned mutex stays locked when the thread
// detaches, is not re-locked on attach, and is the section's again after
// type_lock_allow_release.
TEST(CriticalSectionPinTest, PinnedMutexSurvivesSuspendAndIsUnlockedByEndAfterUnpin) {
  Runtime rt(1);
  ThreadState& ts = rt.thread(0);
  ThreadStart(ts);
  Mutex m;
  CriticalSection cs;
  CriticalSectionBegin(ts, &cs, &m);
  CriticalSectionPin(ts, &m);
  Detach(ts);
  EXPECT_TRUE(m.IsLocked());
  Attach(ts);
  EXPECT_TRUE(m.IsLocked());
  EXPECT_FALSE(TopSectionHolds(ts, &m));
  CriticalSectionUnpin(ts, &m);
  EXPECT_TRUE(TopSectionHolds(ts, &m));
  CriticalSectionEnd(ts, &cs);
  EXPECT_FALSE(m.IsLocked());
  EXPECT_EQ(CriticalSectionDepth(ts), 0);
  ThreadExit(ts);
}

// gh-144513: a contended section begun while the world is stopped takes no
// lock (the holder may be a stopped thread, e.g. by a hand-off).
TEST(CriticalSectionStwTest, ContendedSectionBegunWhileWorldIsStoppedTakesNoLock) {
  struct NeverWait : TestHook {
    NeverWait() : TestHook(false) {}
    void WaitUntil(const WaitSpec&) override { throw std::runtime_error("would block"); }
  } hook;
  Runtime rt(1);
  ThreadState& ts = rt.thread(0);
  rt.mutex_max_spin = 0;
  ThreadStart(ts);
  Mutex m;
  m.PokeBits(kLocked);  // held by a stopped thread
  rt.stw.world_stopped.Init(1);
  CriticalSection cs;
  EXPECT_NO_THROW(CriticalSectionBegin(ts, &cs, &m));
  EXPECT_EQ(CriticalSectionDepth(ts), 0);
  CriticalSectionEnd(ts, &cs);
  EXPECT_EQ(m.PeekBits(), kLocked);
  rt.stw.world_stopped.Init(0);
  m.PokeBits(0);
  ThreadExit(ts);
}

// gh-158195: a requester that had to wait for the stop-the-world mutex has
// its sections released while it waits and gets them back only when the
// world restarts; before the fix (the mutant's switch) it re-acquired them
// when it re-attached, before stopping the world.
TEST(StwRequesterSectionsTest, RequesterThatWaitedGetsItsSectionBackOnlyAtStartTheWorld) {
  for (bool resumes : {false, true}) {
    Runtime rt(2);
    rt.stw_requester_resumes_sections = resumes;
    ThreadState& req = rt.thread(1);
    Mutex a;
    ASSERT_TRUE(rt.stw.mutex.LockFast());  // another requester's stop is in progress
    std::atomic<int> held_during_stop{-1}, held_after_start{-1};
    std::thread t([&] {
      ThreadStart(req);
      CriticalSection cs;
      CriticalSectionBegin(req, &cs, &a);
      StopTheWorld(req);  // waits for the mutex: detaches, releasing `a`
      held_during_stop.store(TopSectionHolds(req, &a) && a.IsLocked() ? 1 : 0);
      StartTheWorld(req);
      held_after_start.store(TopSectionHolds(req, &a) && a.IsLocked() ? 1 : 0);
      CriticalSectionEnd(req, &cs);
      ThreadExit(req);
    });
    WaitForWaiters(&rt.stw.mutex, 1);
    EXPECT_FALSE(a.IsLocked()) << "the waiting requester's detach released its section";
    rt.stw.mutex.Unlock();
    t.join();
    EXPECT_EQ(held_during_stop.load(), resumes ? 1 : 0) << "resumes=" << resumes;
    EXPECT_EQ(held_after_start.load(), 1) << "resumes=" << resumes;
    EXPECT_FALSE(a.IsLocked());
  }
}

}  // namespace
}  // namespace ftf::core
