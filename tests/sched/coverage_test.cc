// Interleaving coverage: conflicting cross-thread access pairs set counters.

#include "sched/coverage.h"

#include <gtest/gtest.h>

#include <string>

#include "core/atomics.h"
#include "sched/fiber_executor.h"
#include "sched/trace.h"
#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using core::Cell;
using testing::Direct;

TEST(CoverageTest, SiteHashDependsOnFileContentAndLineNotPointer) {
  const std::string a = "/some/checkout/src/core/object.h";
  const std::string b = "/elsewhere/src/core/object.h";
  EXPECT_NE(a.c_str(), b.c_str());
  EXPECT_EQ(SiteHash(a.c_str(), 10), SiteHash(b.c_str(), 10));  // same last two components
  EXPECT_NE(SiteHash(a.c_str(), 10), SiteHash(a.c_str(), 11));
  EXPECT_NE(SiteHash("src/core/object.h", 10), SiteHash("src/audit/object.h", 10));
  EXPECT_STREQ(ShortFile("/x/y/src/core/mutex.cc"), "core/mutex.cc");
  EXPECT_STREQ(ShortFile("mutex.cc"), "mutex.cc");
}

TEST(CoverageTest, ARacingPairSetsItsCounter) {
  FiberExecutor ex;
  Cell<int> x;
  int store_line = 0, load_line = 0;
  ClearInterleavingCounters();
  RunResult r = ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          store_line = __LINE__ + 1;
          x.StoreRelaxed(1);
        } else {
          load_line = __LINE__ + 1;
          (void)x.LoadRelaxed();
        }
      },
      Direct({0xF8, 0xF9}));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.interleaving_pairs, 1u);
  EXPECT_EQ(CountSetInterleavingCounters(), 1u);
  const uint32_t store_site = SiteHash(__FILE__, store_line);
  const uint32_t load_site = SiteHash(__FILE__, load_line);
  EXPECT_EQ(InterleavingCounters()[InterleavingCounterIndex(store_site, load_site)], 1);

  // The other order (load, then store) is another pair: a store pairs with the
  // last access of any kind.
  ClearInterleavingCounters();
  r = ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          store_line = __LINE__ + 1;
          x.StoreRelaxed(1);
        } else {
          load_line = __LINE__ + 1;
          (void)x.LoadRelaxed();
        }
      },
      Direct({0xF9, 0xF8}));
  EXPECT_EQ(r.interleaving_pairs, 1u);
  EXPECT_EQ(InterleavingCounters()[InterleavingCounterIndex(SiteHash(__FILE__, load_line),
                                                           SiteHash(__FILE__, store_line))],
            1);
}

TEST(CoverageTest, ASingleThreadSetsNoCounter) {
  FiberExecutor ex;
  Cell<int> x;
  ClearInterleavingCounters();
  RunResult r = ex.Run(
      1,
      [&](int) {
        for (int i = 0; i < 50; ++i) {
          x.StoreRelaxed(i);
          (void)x.LoadAcquire();
          x.FetchAddSeqCst(1);
        }
      },
      Direct({}));
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.interleaving_pairs, 0u);
  EXPECT_EQ(CountSetInterleavingCounters(), 0u);
}

TEST(CoverageTest, ReadsOnlyAndDisjointAddressesDoNotConflict) {
  FiberExecutor ex;
  Cell<int> shared_read_only;
  Cell<int> own[2];
  ClearInterleavingCounters();
  RunResult r = ex.Run(
      2,
      [&](int t) {
        for (int i = 0; i < 20; ++i) {
          (void)shared_read_only.LoadAcquire();
          own[t].StoreRelaxed(i);
        }
      },
      Direct({}), [] {
        RunOptions o;
        o.fallback_quantum = 1;
        return o;
      }());
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_GT(r.context_switches, 30u);
  EXPECT_EQ(CountSetInterleavingCounters(), 0u);
}

TEST(CoverageTest, CoverageCanBeTurnedOff) {
  FiberExecutor ex;
  Cell<int> x;
  ClearInterleavingCounters();
  RunOptions o;
  o.coverage = false;
  RunResult r = ex.Run(2, [&](int t) { x.StoreRelaxed(t); }, Direct({}), o);
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(CountSetInterleavingCounters(), 0u);
}

TEST(CoverageTest, InterleavedWritersSetBothDirections) {
  FiberExecutor ex;
  Cell<int> x;
  ClearInterleavingCounters();
  RunOptions o;
  o.fallback_quantum = 1;
  RunResult r = ex.Run(
      2,
      [&](int t) {
        for (int i = 0; i < 5; ++i) x.FetchAddSeqCst(1);  // one site, both threads
      },
      Direct({}), o);
  ASSERT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.interleaving_pairs, 9u);  // every access after the first follows the other thread
  EXPECT_EQ(CountSetInterleavingCounters(), 1u);  // ... always the same (site, site) pair
}

}  // namespace
}  // namespace ftf::sched
