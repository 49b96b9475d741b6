// The executor's trace on its own (sched/trace.h): the hash depends on what
// ran (thread, kind, order, site) and never on addresses or notes; the ring
// keeps the last steps, full tracing all of them; switches are listed.

#include "sched/trace.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ftf::sched {
namespace {

struct Step {
  int thread;
  EventKind kind;
  core::Order order;
  const char* file;
  int line;
  const void* addr;
  uint64_t note;
};

void Record(Trace& t, const std::vector<Step>& steps) {
  for (const Step& s : steps) {
    if (!t.HasStepRoom()) t.Grow();
    t.RecordStep(s.thread, s.kind, s.order, s.file, s.line, SiteHash(s.file, s.line), s.addr, s.note);
  }
}

uint64_t HashOf(const std::vector<Step>& steps, bool full = false) {
  Trace t;
  t.Begin(16, full);
  Record(t, steps);
  return t.hash();
}

const int kA = 0, kB = 0;
const std::vector<Step> kBase = {
    {0, EventKind::kLoad, core::Order::kRelaxed, "/src/core/member.cc", 88, &kA, 1},
    {1, EventKind::kStore, core::Order::kRelease, "/src/core/member.cc", 90, &kB, 2},
    {0, EventKind::kRmw, core::Order::kSeqCst, "/src/core/refcount.cc", 47, &kA, 3},
};

TEST(TraceTest, TheHashDependsOnWhatRanNotOnAddressesOrNotes) {
  const uint64_t base = HashOf(kBase);
  EXPECT_EQ(HashOf(kBase), base) << "deterministic";
  EXPECT_EQ(HashOf(kBase, /*full=*/true), base) << "full tracing hashes the same steps";
  std::vector<Step> moved = kBase;
  for (Step& s : moved) {
    s.addr = &moved;  // other addresses
    s.note += 100;    // other notes
  }
  EXPECT_EQ(HashOf(moved), base);
  // Any change in thread, kind, order or site changes it.
  std::vector<std::vector<Step>> changed(4, kBase);
  changed[0][1].thread = 2;
  changed[1][1].kind = EventKind::kLoad;
  changed[2][1].order = core::Order::kSeqCst;
  changed[3][1].line = 91;
  for (const auto& c : changed) EXPECT_NE(HashOf(c), base);
  std::vector<Step> swapped = {kBase[1], kBase[0], kBase[2]};
  EXPECT_NE(HashOf(swapped), base) << "the order of the steps counts";
  EXPECT_NE(HashOf({kBase[0], kBase[1]}), base) << "a missing step counts";
}

TEST(TraceTest, SitesHashTheLastTwoPathComponents) {
  EXPECT_EQ(SiteHash("/home/a/ftfuzz/src/core/member.cc", 88), SiteHash("/build/src/core/member.cc", 88));
  EXPECT_NE(SiteHash("/src/core/member.cc", 88), SiteHash("/src/core/member.cc", 89));
  EXPECT_NE(SiteHash("/src/core/member.cc", 88), SiteHash("/src/audit/member.cc", 88));
  EXPECT_STREQ(ShortFile("/home/a/ftfuzz/src/core/member.cc"), "core/member.cc");
}

TEST(TraceTest, TheRingKeepsTheLastStepsFullTracingKeepsAll) {
  std::vector<Step> many;
  for (int i = 0; i < 40; ++i) many.push_back({i % 3, EventKind::kLoad, core::Order::kRelaxed, "/x/core/a.cc", i, &kA, 0});
  Trace ring;
  ring.Begin(8, /*full=*/false);
  Record(ring, many);
  EXPECT_EQ(ring.steps(), 40u);
  std::vector<TraceStep> last = ring.Steps();
  ASSERT_EQ(last.size(), 8u);
  EXPECT_EQ(last.front().step, 33u);
  EXPECT_EQ(last.back().step, 40u);
  EXPECT_EQ(last.back().thread, 39 % 3);

  Trace all;
  all.Begin(8, /*full=*/true);
  Record(all, many);
  std::vector<TraceStep> every = all.Steps();
  ASSERT_EQ(every.size(), 40u);
  for (size_t i = 0; i < every.size(); ++i) EXPECT_EQ(every[i].step, i + 1);
  EXPECT_EQ(all.hash(), ring.hash());

  // Begin starts a new run: nothing of the old one is left.
  all.Begin(8, /*full=*/true);
  EXPECT_EQ(all.steps(), 0u);
  EXPECT_TRUE(all.Steps().empty());
  EXPECT_EQ(all.hash(), Trace().hash());
}

TEST(TraceTest, SwitchesAreListedInOrder) {
  Trace t;
  t.Begin(16, false);
  auto sw = [&](int from, int to) {
    if (!t.HasSwitchRoom()) t.Grow();
    t.RecordSwitch(from, to);
  };
  sw(-1, 0);
  Record(t, {kBase[0]});
  sw(0, 1);
  Record(t, {kBase[1], kBase[2]});
  sw(1, 0);
  std::vector<ContextSwitch> s = t.Switches();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(t.num_switches(), 3u);
  EXPECT_EQ(s[1].step, 1u);
  EXPECT_EQ(s[1].from, 0);
  EXPECT_EQ(s[1].to, 1);
  EXPECT_EQ(s[2].step, 3u);
  EXPECT_EQ(t.FormatSwitches(), "T0@0 T1@1 T0@3");
}

}  // namespace
}  // namespace ftf::sched
