// PyMutex and the parking lot on their own (core/mutex.h, core/parking_lot.h),
// run as logical threads under the fiber executor so that each wait is a
// real park and each interleaving is chosen by the test.

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "core/atomics.h"
#include "core/mutex.h"
#include "core/parking_lot.h"
#include "core/thread_state.h"
#include "sched/fiber_executor.h"
#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using core::Cell;
using core::GlobalParkingLot;
using testing::Direct;

// A wait predicate: `n` threads are parked on `key`.
struct ParkedOn {
  const void* key;
  int n;
};
bool EnoughParked(const void* ctx) {
  const ParkedOn* p = static_cast<const ParkedOn*>(ctx);
  return GlobalParkingLot().WaitersOn(p->key) >= p->n;
}
core::WaitSpec WaitForParked(const ParkedOn& p, const void* addr) {
  return core::WaitSpec{"test: waiters parked", addr, &EnoughParked, &p, core::Loc::Here()};
}

// T0 holds the mutex; T1 must park (setting _Py_HAS_PARKED), and gets the
// mutex once T0 unlocks; the byte is 0 again at the end.
TEST(PyMutexTest, ContendedLockParksAndUnlockWakesTheWaiter) {
  FiberExecutor ex;
  core::Mutex m;
  std::array<core::ThreadState, 2> ts;
  const ParkedOn one{&m, 1};
  std::array<int, kMaxThreads> order{};
  Cell<int> next;
  uint8_t bits_while_parked = 0;
  int waiters_while_parked = -1;
  RunResult r = ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          m.Lock(&ts[0], core::LockFlags::kDontDetach);
          core::WaitUntil(WaitForParked(one, m.address()));
          bits_while_parked = m.PeekBits();
          waiters_while_parked = GlobalParkingLot().WaitersOn(&m);
          order[0] = next.FetchAddSeqCst(1);
          m.Unlock();
        } else {
          m.Lock(&ts[1], core::LockFlags::kDontDetach);
          order[1] = next.FetchAddSeqCst(1);
          m.Unlock();
        }
      },
      Direct({0xF8, 0xF9}));  // T0 until it blocks, then T1 until it parks
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(bits_while_parked, core::kLocked | core::kHasParked);
  EXPECT_EQ(waiters_while_parked, 1);
  EXPECT_EQ(order[0], 0) << "the holder's critical section comes first";
  EXPECT_EQ(order[1], 1);
  EXPECT_EQ(m.PeekBits(), 0);
  EXPECT_EQ(GlobalParkingLot().WaitersOn(&m), 0);
}

// TryLock takes a free mutex even with parked waiters (bit pattern 10),
// where LockFast does not (INV-MUTEX-1); neither takes a locked one.
TEST(PyMutexTest, TryLockTakesAFreeMutexWithWaitersLockFastDoesNot) {
  core::Mutex m;
  m.PokeBits(core::kHasParked);
  EXPECT_FALSE(m.LockFast());
  EXPECT_TRUE(m.TryLock());
  EXPECT_EQ(m.PeekBits(), core::kLocked | core::kHasParked);
  EXPECT_FALSE(m.TryLock());
  m.PokeBits(core::kLocked);
  EXPECT_FALSE(m.TryLock());
  EXPECT_TRUE(m.IsLocked());
  m.Unlock();
  EXPECT_EQ(m.PeekBits(), 0);
}

// Park validates the byte under the lot lock: a stale expectation returns
// false at once and queues nothing.
TEST(ParkingLotTest, ParkReturnsAtOnceWhenTheByteChanged) {
  FiberExecutor ex;
  Cell<uint8_t> byte;
  core::ThreadState ts;
  bool parked = true;
  RunResult r = ex.Run(
      1,
      [&](int) {
        byte.StoreRelaxed(1);
        parked = GlobalParkingLot().Park(ts, &byte, byte, /*expected=*/0, "test", core::Loc::Here());
      },
      Direct({0xF8}));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_FALSE(parked);
  EXPECT_EQ(GlobalParkingLot().WaitersOn(&byte), 0);
}

// Unpark wakes the oldest waiter first and tells its callback whether more
// remain; with none left it reports found=false.
bool Nonzero(const void* ctx) { return static_cast<const Cell<int>*>(ctx)->Peek() != 0; }

TEST(ParkingLotTest, UnparkWakesInArrivalOrderAndReportsWhatRemains) {
  FiberExecutor ex;
  Cell<uint8_t> byte;
  std::array<core::ThreadState, 3> ts;
  const ParkedOn two{&byte, 2};
  Cell<int> first_woken;  // the thread the first Unpark woke
  int seen_first = 0;
  int left_after_first = -1;
  std::vector<std::pair<bool, bool>> calls;  // (found, more_waiters), written by T0 only
  RunResult r = ex.Run(
      3,
      [&](int t) {
        if (t == 0) {
          core::WaitUntil(WaitForParked(two, &byte));
          auto record = [&](bool found, bool more) { calls.emplace_back(found, more); };
          GlobalParkingLot().Unpark(&byte, record);
          left_after_first = GlobalParkingLot().WaitersOn(&byte);
          core::WaitUntil(core::WaitSpec{"test: first woken", &first_woken, &Nonzero, &first_woken,
                                         core::Loc::Here()});
          seen_first = first_woken.LoadSeqCst();
          GlobalParkingLot().Unpark(&byte, record);
          GlobalParkingLot().Unpark(&byte, record);
        } else {
          EXPECT_TRUE(GlobalParkingLot().Park(ts[t], &byte, byte, 0, "test", core::Loc::Here()));
          int none = 0;
          first_woken.CompareExchangeSeqCst(none, t);
        }
      },
      Direct({0xF8, 0xF9, 0xFA}));  // T0 blocks, T1 parks, then T2 parks
  ASSERT_EQ(r.outcome, Outcome::kOk);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], std::make_pair(true, true));
  EXPECT_EQ(calls[1], std::make_pair(true, false));
  EXPECT_EQ(calls[2], std::make_pair(false, false));
  EXPECT_EQ(left_after_first, 1);
  EXPECT_EQ(seen_first, 1) << "T1 parked first and is woken first";
  EXPECT_EQ(GlobalParkingLot().WaitersOn(&byte), 0);
}

// UnparkAll empties the key's queue; Reset forgets every waiter.
TEST(ParkingLotTest, UnparkAllWakesEveryWaiter) {
  FiberExecutor ex;
  Cell<uint8_t> byte;
  std::array<core::ThreadState, 4> ts;
  const ParkedOn three{&byte, 3};
  std::array<int, kMaxThreads> woke{};
  int waiters_before = 0;
  RunResult r = ex.Run(
      4,
      [&](int t) {
        if (t == 0) {
          core::WaitUntil(WaitForParked(three, &byte));
          waiters_before = GlobalParkingLot().WaitersOn(&byte);
          GlobalParkingLot().UnparkAll(&byte);
        } else {
          GlobalParkingLot().Park(ts[t], &byte, byte, 0, "test", core::Loc::Here());
          woke[t] = 1;
        }
      },
      Direct({0xF8, 0xF9, 0xFA, 0xFB}));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(waiters_before, 3);
  EXPECT_EQ(woke[1] + woke[2] + woke[3], 3);
  EXPECT_EQ(GlobalParkingLot().WaitersOn(&byte), 0);
}

}  // namespace
}  // namespace ftf::sched
