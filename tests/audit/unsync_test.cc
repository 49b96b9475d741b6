// unsync_test.cc - racing pairs rebuilt from a trace, and how a pair is
// named (audit/unsync.h).

#include "audit/unsync.h"

#include <gtest/gtest.h>

#include <vector>

namespace ftf::audit {
namespace {

using sched::EventKind;
using sched::TraceStep;
using Order = core::Order;

int g_slot, g_flag;  // two addresses

TraceStep Step(int thread, EventKind kind, Order order, const void* addr, int line,
               const char* file = "src/core/slot_access.cc") {
  TraceStep s;
  s.thread = static_cast<int8_t>(thread);
  s.kind = kind;
  s.order = order;
  s.addr = addr;
  s.line = line;
  s.file = file;
  return s;
}

RaceAccess Access(const char* site, bool write, bool plain) { return RaceAccess{site, write, plain}; }

TEST(UnsyncTest, APairIsNamedByItsPlainWriteElseItsPlainAccesses) {
  // A plain store racing with any reader: the store.
  EXPECT_EQ(NormalizedRaceCause(Access("core/slot_access.cc:133", true, true), Access("core/member.cc:88", false, false)),
            "race core/slot_access.cc:133");
  EXPECT_EQ(NormalizedRaceCause(Access("core/member.cc:88", false, false), Access("core/slot_access.cc:133", true, true)),
            "race core/slot_access.cc:133");
  EXPECT_EQ(NormalizedRaceCause(Access("core/slot_access.cc:132", false, true), Access("core/slot_access.cc:133", true, true)),
            "race core/slot_access.cc:133");
  // Two plain stores at one line: one site.
  EXPECT_EQ(NormalizedRaceCause(Access("core/slot_access.cc:133", true, true), Access("core/slot_access.cc:133", true, true)),
            "race core/slot_access.cc:133");
  // Two plain stores at two lines: both, sorted.
  EXPECT_EQ(NormalizedRaceCause(Access("core/z.cc:1", true, true), Access("core/a.cc:9", true, true)),
            "race core/a.cc:9 core/z.cc:1");
  // A plain load racing with an atomic store: the load is what must change.
  EXPECT_EQ(NormalizedRaceCause(Access("core/member.cc:149", true, false), Access("core/slot_access.cc:132", false, true)),
            "race core/slot_access.cc:132");
}

TEST(UnsyncTest, APlainStoreAndAnUnorderedLoadOfAnotherThreadRace) {
  const std::vector<TraceStep> steps = {
      Step(0, EventKind::kStore, Order::kPlain, &g_slot, 133),
      Step(1, EventKind::kLoad, Order::kSeqCst, &g_slot, 88, "src/core/member.cc"),
      Step(1, EventKind::kLoad, Order::kSeqCst, &g_flag, 90, "src/core/member.cc"),  // another address
  };
  const std::vector<RacingPair> pairs = RacingPairs(steps, 2);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].earlier, 0);
  EXPECT_EQ(pairs[0].later, 1);
  EXPECT_TRUE(RacingPairs(steps, 0).empty()) << "only pairs up to the given index";
}

TEST(UnsyncTest, ReleaseAcquireOrdersThePlainAccesses) {
  // T0 writes the slot plainly and publishes a flag with a release store;
  // T1 acquires the flag and then reads the slot plainly: no race.
  std::vector<TraceStep> steps = {
      Step(0, EventKind::kStore, Order::kPlain, &g_slot, 1),
      Step(0, EventKind::kStore, Order::kRelease, &g_flag, 2),
      Step(1, EventKind::kLoad, Order::kAcquire, &g_flag, 3),
      Step(1, EventKind::kLoad, Order::kPlain, &g_slot, 4),
  };
  EXPECT_TRUE(RacingPairs(steps, 3).empty());
  // A relaxed load of the flag orders nothing: the plain accesses race.
  steps[2].order = Order::kRelaxed;
  ASSERT_EQ(RacingPairs(steps, 3).size(), 1u);
  // So does a relaxed store of it.
  steps[2].order = Order::kAcquire;
  steps[1].order = Order::kRelaxed;
  ASSERT_EQ(RacingPairs(steps, 3).size(), 1u);
}

TEST(UnsyncTest, AtomicPairsAndTwoReadsNeverRace) {
  const std::vector<TraceStep> atomics = {
      Step(0, EventKind::kStore, Order::kRelaxed, &g_slot, 1),
      Step(1, EventKind::kRmw, Order::kRelaxed, &g_slot, 2),
  };
  EXPECT_TRUE(RacingPairs(atomics, 1).empty());
  const std::vector<TraceStep> reads = {
      Step(0, EventKind::kLoad, Order::kPlain, &g_slot, 1),
      Step(1, EventKind::kLoad, Order::kPlain, &g_slot, 2),
  };
  EXPECT_TRUE(RacingPairs(reads, 1).empty());
  const std::vector<TraceStep> same_thread = {
      Step(0, EventKind::kStore, Order::kPlain, &g_slot, 1),
      Step(0, EventKind::kLoad, Order::kPlain, &g_slot, 2),
  };
  EXPECT_TRUE(RacingPairs(same_thread, 1).empty());
}

TEST(UnsyncTest, APlainLoadThenPlainStoreIsOneReadModifyWrite) {
  std::vector<TraceStep> steps = {
      Step(0, EventKind::kLoad, Order::kPlain, &g_slot, 132),
      Step(1, EventKind::kLoad, Order::kPlain, &g_flag, 7),  // another thread, another address
      Step(0, EventKind::kStore, Order::kPlain, &g_slot, 133),
  };
  const ReadHalves halves = PlainReadModifyWrites(steps);
  ASSERT_EQ(halves.size(), 1u);
  EXPECT_EQ(halves.at("core/slot_access.cc:132"), "core/slot_access.cc:133");
  const RaceAccess load = AsWriteHalf(AccessOf(steps[0]), halves);
  EXPECT_EQ(load.site, "core/slot_access.cc:133");
  EXPECT_TRUE(load.write);
  EXPECT_EQ(AsWriteHalf(AccessOf(steps[1]), halves).site, "core/slot_access.cc:7") << "not a read half";
  // In another operation (note), or with an atomic store, it is not.
  steps[2].note = 1;
  EXPECT_TRUE(PlainReadModifyWrites(steps).empty());
  steps[2].note = 0;
  steps[2].order = Order::kRelease;
  EXPECT_TRUE(PlainReadModifyWrites(steps).empty());
}

}  // namespace
}  // namespace ftf::audit
