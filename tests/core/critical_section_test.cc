// Tests for PyMutex, critical sections and their suspension (mutex.h,
// critical_section.h), single-threaded and with real threads.

#include "core/critical_section.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/mutex.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

class CriticalSectionTest : public ::testing::Test {
 protected:
  CriticalSectionTest() : rt_(3) {
    for (int i = 0; i < rt_.num_threads(); ++i) ThreadStart(rt_.thread(i));
  }
  ~CriticalSectionTest() override {
    for (int i = 0; i < rt_.num_threads(); ++i) ThreadExit(rt_.thread(i));
  }
  ThreadState& T(int i) { return rt_.thread(i); }
  Runtime rt_;
};

TEST(MutexTest, LockFastFailsOnUnlockedWithParkedWaiters) {
  Mutex m;
  m.PokeBits(kHasParked);  // 0b10: free, but a waiter is parked (INV-MUTEX-1)
  EXPECT_FALSE(m.LockFast());
  EXPECT_EQ(m.PeekBits(), kHasParked);
  m.PokeBits(0);
  EXPECT_TRUE(m.LockFast());
  EXPECT_EQ(m.PeekBits(), kLocked);
  EXPECT_FALSE(m.LockFast());
  m.Unlock();
  EXPECT_EQ(m.PeekBits(), 0);
}

TEST_F(CriticalSectionTest, RealThreadsMutualExclusion) {
  Mutex m;
  int counter = 0;  // plain: TSan checks the mutex gives happens-before
  constexpr int kIters = 20000;
  auto body = [&](int t) {
    for (int i = 0; i < kIters; ++i) {
      m.Lock(&T(t));
      ++counter;
      m.Unlock();
    }
  };
  std::thread a(body, 0), b(body, 1), c(body, 2);
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(counter, 3 * kIters);
  EXPECT_EQ(m.PeekBits(), 0) << "no waiter may be left parked";
}

TEST_F(CriticalSectionTest, NestedSameMutexIsNoOp) {
  Mutex m;
  CriticalSection outer, inner;
  CriticalSectionBegin(T(0), &outer, &m);
  CriticalSectionBegin(T(0), &inner, &m);  // INV-CS-3: not pushed
  EXPECT_EQ(CriticalSectionDepth(T(0)), 1);
  EXPECT_EQ(inner.mutex, nullptr);
  CriticalSectionEnd(T(0), &inner);
  EXPECT_TRUE(m.IsLocked());
  CriticalSectionEnd(T(0), &outer);
  EXPECT_FALSE(m.IsLocked());
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
}

TEST_F(CriticalSectionTest, TwoMutexSectionLocksInAddressOrder) {
  Mutex ms[2];
  Mutex* low = &ms[0];
  Mutex* high = &ms[1];
  CriticalSection2 c;
  CriticalSection2Begin(T(0), &c, high, low);  // arguments in the "wrong" order
  EXPECT_EQ(c.base.mutex, low);
  EXPECT_EQ(c.mutex2, high);
  EXPECT_TRUE(low->IsLocked());
  EXPECT_TRUE(high->IsLocked());
  EXPECT_TRUE(TopSectionHolds(T(0), low));
  EXPECT_TRUE(TopSectionHolds(T(0), high));
  CriticalSection2End(T(0), &c);
  EXPECT_FALSE(low->IsLocked());
  EXPECT_FALSE(high->IsLocked());
}

TEST_F(CriticalSectionTest, TwoMutexSectionWithSameMutexDegrades) {
  Mutex m;
  CriticalSection2 c;
  CriticalSection2Begin(T(0), &c, &m, &m);
  EXPECT_EQ(c.mutex2, nullptr);
  EXPECT_TRUE(m.IsLocked());
  CriticalSection2End(T(0), &c);
  EXPECT_FALSE(m.IsLocked());
}

TEST_F(CriticalSectionTest, TryBeginTwoBacksOutFully) {
  Mutex ms[2];
  ASSERT_TRUE(ms[1].LockFast());  // someone holds the second (higher) mutex
  CriticalSection2 c;
  EXPECT_FALSE(CriticalSection2TryBegin(T(0), &c, &ms[1], &ms[0]));
  EXPECT_FALSE(ms[0].IsLocked()) << "the first mutex must be released when the second fails";
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
  ms[1].Unlock();
  EXPECT_TRUE(CriticalSection2TryBegin(T(0), &c, &ms[1], &ms[0]));
  EXPECT_TRUE(ms[0].IsLocked());
  EXPECT_TRUE(ms[1].IsLocked());
  CriticalSection2End(T(0), &c);
  EXPECT_FALSE(ms[0].IsLocked());
  EXPECT_FALSE(ms[1].IsLocked());
}

TEST_F(CriticalSectionTest, TryBeginTwoKeepFirstMutantLeaksTheLock) {
  Mutex ms[2];
  ASSERT_TRUE(ms[1].LockFast());
  CriticalSection2 c;
  EXPECT_FALSE(CriticalSection2TryBegin(T(0), &c, &ms[0], &ms[1], /*keep_first_on_failure=*/true));
  EXPECT_TRUE(ms[0].IsLocked()) << "the mutant keeps the first mutex";
  ms[0].Unlock();
  ms[1].Unlock();
}

TEST_F(CriticalSectionTest, TryBeginOneFailsWithoutPushing) {
  Mutex m;
  ASSERT_TRUE(m.LockFast());
  CriticalSection c;
  EXPECT_FALSE(CriticalSectionTryBegin(T(0), &c, &m));
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
  m.Unlock();
  EXPECT_TRUE(CriticalSectionTryBegin(T(0), &c, &m));
  CriticalSectionEnd(T(0), &c);
  EXPECT_FALSE(m.IsLocked());
}

TEST_F(CriticalSectionTest, SuspendReleasesAllAndResumeReacquiresOnlyTheTop) {
  Mutex outer_m, inner_m;
  CriticalSection outer, inner;
  CriticalSectionBegin(T(0), &outer, &outer_m);
  CriticalSectionBegin(T(0), &inner, &inner_m);
  Detach(T(0));  // e.g. blocking somewhere: both sections suspended (INV-CS-2)
  EXPECT_FALSE(outer_m.IsLocked());
  EXPECT_FALSE(inner_m.IsLocked());
  EXPECT_EQ(T(0).Status(), ThreadStatus::kDetached);
  Attach(T(0));
  EXPECT_TRUE(inner_m.IsLocked()) << "the top-most section is re-acquired";
  EXPECT_FALSE(outer_m.IsLocked()) << "outer sections stay released until they are top-most";
  CriticalSectionEnd(T(0), &inner);  // pop -> outer becomes top and resumes
  EXPECT_TRUE(outer_m.IsLocked());
  EXPECT_TRUE(TopSectionHolds(T(0), &outer_m));
  CriticalSectionEnd(T(0), &outer);
  EXPECT_FALSE(outer_m.IsLocked());
}

// A thread that blocks on a nested section releases its outer section's lock
// while it waits, so another thread can take it (CPython's deadlock freedom:
// without the release this test deadlocks).
TEST_F(CriticalSectionTest, BlockingInNestedSectionReleasesOuterLock) {
  Mutex a, b;
  std::atomic<int> phase{0};
  std::thread other([&] {
    while (phase.load() < 1) std::this_thread::yield();
    CriticalSection cb;
    CriticalSectionBegin(T(1), &cb, &b);
    phase.store(2);
    CriticalSection ca;
    CriticalSectionBegin(T(1), &ca, &a);  // only possible once T0 released a
    phase.store(3);
    CriticalSectionEnd(T(1), &ca);
    CriticalSectionEnd(T(1), &cb);
  });
  CriticalSection ca, cb;
  CriticalSectionBegin(T(0), &ca, &a);
  phase.store(1);
  while (phase.load() < 2) std::this_thread::yield();
  // Blocks: detaches, releasing a. The other thread then either takes a at
  // once, or itself blocks on a, detaches and so releases b to us: both are
  // CPython's behaviour; what must not happen is a deadlock.
  CriticalSectionBegin(T(0), &cb, &b);
  EXPECT_GE(phase.load(), 2);
  EXPECT_TRUE(b.IsLocked());
  EXPECT_TRUE(TopSectionHolds(T(0), &b));
  CriticalSectionEnd(T(0), &cb);
  EXPECT_TRUE(a.IsLocked()) << "popping resumed the outer section";
  EXPECT_TRUE(TopSectionHolds(T(0), &a));
  CriticalSectionEnd(T(0), &ca);
  other.join();
  EXPECT_EQ(phase.load(), 3);
  EXPECT_FALSE(a.IsLocked());
  EXPECT_FALSE(b.IsLocked());
}

}  // namespace
}  // namespace ftf::core
