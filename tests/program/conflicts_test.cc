// The static conflict pass (program/conflicts.h): which operations can meet
// another thread's, and the focus ordinals PCT's change points use.

#include "program/conflicts.h"

#include <gtest/gtest.h>

#include <string>

#include "program/text.h"

namespace ftf::program {
namespace {

Program Parse(const std::string& body, int threads) {
  const std::string text = "ftfuzz program v1\nthreads " + std::to_string(threads) + "\nschedule direct\n\n" + body;
  absl::StatusOr<Program> p = ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Program{};
}

TEST(ConflictsTest, DifferentObjectsDoNotConflictTheSameObjectDoes) {
  const ConflictMap apart = AnalyzeConflicts(Parse("t0 s0: o0.a = fresh\nt1 s0: r0 = o1.a\n", 2));
  EXPECT_EQ(apart.pairs, 0);
  EXPECT_EQ(apart.focused, 0);
  EXPECT_EQ(apart.focus[0][0], -1);
  EXPECT_EQ(apart.focus[1][0], -1);

  const ConflictMap meet = AnalyzeConflicts(Parse("t0 s0: o0.a = fresh\nt1 s0: r0 = o0.b\n", 2));
  EXPECT_EQ(meet.pairs, 1);
  EXPECT_EQ(meet.focused, 2);
  EXPECT_EQ(meet.focus[0][0], 0);
  EXPECT_EQ(meet.focus[1][0], 1);
}

TEST(ConflictsTest, TwoReadersDoNotConflict) {
  const ConflictMap m = AnalyzeConflicts(Parse("t0 s0: r0 = o0.a\nt1 s0: r1 = o0.a\nt0 s1: r1 = g0\nt1 s1: r0 = g1\n", 2));
  EXPECT_EQ(m.pairs, 0);
}

TEST(ConflictsTest, OperationsOfOneThreadNeverConflictWithEachOther) {
  const ConflictMap m = AnalyzeConflicts(Parse("t0 s0: o0.a = fresh\nt0 s1: r0 = o0.a\nt1: yield\n", 2));
  EXPECT_EQ(m.pairs, 0);
}

TEST(ConflictsTest, ARegisterOperandMeetsEveryObject) {
  // T1 stores into whatever r0 holds: it may be o3.
  const ConflictMap m = AnalyzeConflicts(Parse("t0 s0: r0 = o3.a\nt1 s0: r0.a = fresh\nt1: yield\n", 2));
  EXPECT_EQ(m.pairs, 1);
  EXPECT_EQ(m.focus[1][1], -1);  // the yield touches nothing
}

TEST(ConflictsTest, AStoredObjectsRefcountIsWritten) {
  // Storing o2 into o0.a increfs o2; T1 reads o2.
  const ConflictMap m = AnalyzeConflicts(Parse("t0 s0: o0.a = o2\nt1 s0: r0 = o2.a\n", 2));
  EXPECT_EQ(m.pairs, 1);
}

TEST(ConflictsTest, GlobalsAndTypes) {
  const ConflictMap g = AnalyzeConflicts(Parse("t0 s0: r0 = g0\nt1: globals[g3] = fresh\n", 2));
  EXPECT_EQ(g.pairs, 1);
  const ConflictMap b = AnalyzeConflicts(Parse("t0 s0: r0 = g0\nt1: builtins[b1] = fresh\n", 2));
  EXPECT_EQ(b.pairs, 1);
  // A class swap of o1 changes a type read by every slot access.
  const ConflictMap t = AnalyzeConflicts(Parse("t0 s0: r0 = o0.a\nt1: o1.__class__ = T1\n", 2));
  EXPECT_EQ(t.pairs, 1);
  const ConflictMap m = AnalyzeConflicts(Parse("t0 s0: r0 = o0.a\nt1: type_modified(T2)\n", 2));
  EXPECT_EQ(m.pairs, 1);
}

TEST(ConflictsTest, OrdinalsAreNumberedThreadByThread) {
  const ConflictMap m = AnalyzeConflicts(Parse(
      "t0 s0: o0.a = fresh\nt0: yield\nt0 s1: o1.a = fresh\n"
      "t1 s0: r0 = o1.a\nt1 s1: r1 = o0.a\n"
      "t2: yield\n",
      3));
  EXPECT_EQ(m.pairs, 2);
  EXPECT_EQ(m.focused, 4);
  ASSERT_EQ(m.focus_begin.size(), 4u);
  EXPECT_EQ(m.focus_begin[0], 0);
  EXPECT_EQ(m.focus_begin[1], 2);
  EXPECT_EQ(m.focus_begin[2], 4);
  EXPECT_EQ(m.focus_begin[3], 4);
  EXPECT_EQ(m.focus[0][0], 0);
  EXPECT_EQ(m.focus[0][1], -1);
  EXPECT_EQ(m.focus[0][2], 1);
  EXPECT_EQ(m.focus[1][0], 2);
  EXPECT_EQ(m.focus[1][1], 3);
  EXPECT_EQ(m.focus[2][0], -1);
}

}  // namespace
}  // namespace ftf::program
