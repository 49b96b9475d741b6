// VirtualClockExecutor: determinism, smallest-clock-first order, the cost of
// a contended lock, CPU sharing.
//
// The simulator is a benchmark tool for builds without sanitizers (its
// bookkeeping allocates on the fibers and is visible to TSan, which would
// take the fibers' shared executor state for races): under TSan these tests
// are skipped.

#include "sched/virtual_clock.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "core/atomics.h"
#include "core/mutex.h"
#include "core/runtime.h"
#include "core/thread_state.h"
#include "sched/sanitizer_glue.h"

namespace ftf::sched {
namespace {

using core::Cell;

#define SKIP_UNDER_TSAN()                                                          \
  do {                                                                             \
    if (FTF_SCHED_TSAN) GTEST_SKIP() << "the simulator is not built for TSan runs"; \
  } while (0)

// `n` threads take one shared mutex (or, with `shared` false, each its own)
// `rounds` times and do `work_ns` of CPU inside. Cache lines are addresses
// / 64, so two runs compare only if their shared data sit alike relative to
// line boundaries: the program is 64-byte aligned and made on the heap.
struct alignas(64) LockProgram {
  LockProgram(int n, bool shared) : rt(n), own(n), shared_lock(shared) {}
  core::Runtime rt;
  core::Mutex m;
  std::vector<core::Mutex> own;
  Cell<int> counter;
  bool shared_lock;
  // Virtual [enter, exit) of every critical section, in execution order.
  std::vector<std::pair<double, double>> sections;

  VcResult Run(VirtualClockExecutor& ex, int n, int rounds, double work_ns, const VcOptions& opt) {
    return ex.Run(n, [&](int t) {
      core::Mutex& mu = shared_lock ? m : own[t];
      for (int i = 0; i < rounds; ++i) {
        mu.Lock(&rt.thread(t), core::LockFlags::kDontDetach);
        const double enter = ex.Now();
        counter.StoreRelaxed(counter.LoadRelaxed() + 1);
        ex.Advance(work_ns);
        sections.emplace_back(enter, ex.Now());
        mu.Unlock();
        ex.Advance(work_ns);
      }
    }, opt);
  }
};

TEST(VirtualClockTest, SameProgramSameVirtualTimeAndTrace) {
  SKIP_UNDER_TSAN();
  VirtualClockExecutor ex;
  VcOptions opt;
  opt.cpus = 4;
  auto a = std::make_unique<LockProgram>(4, true);
  VcResult r1 = a->Run(ex, 4, 20, 300, opt);
  auto b = std::make_unique<LockProgram>(4, true);
  VcResult r2 = b->Run(ex, 4, 20, 300, opt);
  ASSERT_TRUE(r1.ok) << r1.error;
  ASSERT_TRUE(r2.ok) << r2.error;
  EXPECT_EQ(a->counter.Peek(), 80);
  EXPECT_EQ(r1.virtual_ns, r2.virtual_ns);
  EXPECT_EQ(r1.trace_hash, r2.trace_hash);
  EXPECT_EQ(r1.steps, r2.steps);
  EXPECT_GT(r1.virtual_ns, 0);
}

// The determinism check above can fail: a different cost table gives a
// different virtual time, and a different interleaving a different hash.
TEST(VirtualClockTest, DeterminismCheckCanFail) {
  SKIP_UNDER_TSAN();
  VirtualClockExecutor ex;
  VcOptions opt;
  opt.cpus = 4;
  auto a = std::make_unique<LockProgram>(4, true);
  VcResult r1 = a->Run(ex, 4, 20, 300, opt);
  VcOptions slower = opt;
  ASSERT_TRUE(slower.costs.Scale("transfer", 2.0));
  auto b = std::make_unique<LockProgram>(4, true);
  VcResult r2 = b->Run(ex, 4, 20, 300, slower);
  EXPECT_NE(r1.virtual_ns, r2.virtual_ns);
  auto c = std::make_unique<LockProgram>(4, true);
  VcResult r3 = c->Run(ex, 4, 20, 50, opt);  // shorter sections: other interleaving
  EXPECT_NE(r1.trace_hash, r3.trace_hash);
  EXPECT_FALSE(slower.costs.Scale("nonsense", 2.0));
}

// At every access the running thread is the one with the smallest clock:
// the clocks at which accesses are performed never go backwards.
TEST(VirtualClockTest, RunsTheSmallestClockFirst) {
  SKIP_UNDER_TSAN();
  VirtualClockExecutor ex;
  Cell<int> cell;
  struct Event {
    int thread;
    double clock;
  };
  std::vector<Event> log;
  VcOptions opt;
  opt.cpus = 8;
  VcResult r = ex.Run(3, [&](int t) {
    const double step = 10.0 * (t + 1) + 3.0 * t;  // 10, 23, 36 ns per iteration
    for (int i = 0; i < 30; ++i) {
      ex.Advance(step);
      const double before = ex.Now();
      cell.LoadRelaxed();
      log.push_back({t, before});
    }
  }, opt);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(log.size(), 90u);
  for (size_t i = 1; i < log.size(); ++i) {
    EXPECT_LE(log[i - 1].clock, log[i].clock) << "event " << i << " (thread " << log[i].thread << ")";
  }
  // The fastest thread finishes its 30 accesses first.
  EXPECT_EQ(log[log.size() - 1].thread, 2);
  EXPECT_LT(r.threads[0].clock_ns, r.threads[2].clock_ns);
}

TEST(VirtualClockTest, ContendedLockCostsMoreThanUncontended) {
  SKIP_UNDER_TSAN();
  VirtualClockExecutor ex;
  VcOptions opt;
  opt.cpus = 8;
  // Sections long against the wake-up latency, so waiters queue.
  LockProgram shared(4, true);
  VcResult contended = shared.Run(ex, 4, 20, 5000, opt);
  LockProgram apart(4, false);
  VcResult alone = apart.Run(ex, 4, 20, 5000, opt);
  ASSERT_TRUE(contended.ok);
  ASSERT_TRUE(alone.ok);
  EXPECT_GT(contended.virtual_ns, 1.5 * alone.virtual_ns);
  int64_t parks = 0;
  for (const VcThreadStats& t : contended.threads) parks += t.parks;
  EXPECT_GT(parks, 0);
  ASSERT_FALSE(contended.waits.empty());
  EXPECT_EQ(contended.waits[0].key, shared.m.address());
  EXPECT_GT(contended.waits[0].blocked_ns, 0);
  EXPECT_EQ(contended.waits.size(), 1u);
  EXPECT_EQ(contended.waits[0].parks, parks);
  for (const VcThreadStats& t : alone.threads) EXPECT_EQ(t.parks, 0);
  // Mutual exclusion holds in virtual time too: a woken waiter runs after
  // the unlock that woke it, so the critical sections never overlap.
  std::vector<std::pair<double, double>> s = shared.sections;
  ASSERT_EQ(s.size(), 80u);
  std::sort(s.begin(), s.end());
  for (size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i].first, s[i - 1].second) << "section " << i;
}

// More runnable threads than CPUs: CPU costs are shared.
TEST(VirtualClockTest, MoreThreadsThanCpusShareThem) {
  SKIP_UNDER_TSAN();
  VirtualClockExecutor ex;
  Cell<int> cell;
  auto run = [&](int cpus) {
    VcOptions opt;
    opt.cpus = cpus;
    return ex.Run(4, [&](int) {
      for (int i = 0; i < 10; ++i) {
        ex.Advance(1000);
        cell.LoadRelaxed();
      }
    }, opt);
  };
  VcResult four = run(4);
  VcResult two = run(2);
  EXPECT_NEAR(four.virtual_ns, 10 * 1001.0, 1.0);
  EXPECT_GT(two.virtual_ns, 1.8 * four.virtual_ns);
}

TEST(VirtualClockTest, AllBlockedIsAbandonedAndTheExecutorStaysUsable) {
  SKIP_UNDER_TSAN();
  VirtualClockExecutor ex;
  core::Runtime rt(2);
  core::Mutex m;
  VcOptions opt;
  VcResult r = ex.Run(2, [&](int t) {
    if (t == 0) m.Lock(&rt.thread(0), core::LockFlags::kDontDetach);  // never unlocked
    if (t == 1) {
      ex.Advance(100);
      m.Lock(&rt.thread(1), core::LockFlags::kDontDetach);
    }
  }, opt);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("blocked"), std::string::npos) << r.error;
  m.PokeBits(0);
  LockProgram p(2, true);
  VcResult again = p.Run(ex, 2, 3, 10, opt);
  EXPECT_TRUE(again.ok) << again.error;
  EXPECT_EQ(p.counter.Peek(), 6);
}

}  // namespace
}  // namespace ftf::sched
