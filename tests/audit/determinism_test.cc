// The re-run check of a finding (audit/determinism.h): the same kind at the
// same step on the same thread with the same trace hash is deterministic,
// anything else is reported as NOT DETERMINISTIC; a race is checked by its
// trace hash alone.

#include "audit/determinism.h"

#include <gtest/gtest.h>

#include <optional>

#include "audit/finding.h"

namespace ftf::audit {
namespace {

Finding Make(FindingKind kind, uint64_t step, int thread) {
  Finding f;
  f.kind = kind;
  f.auditor = "ledger";
  f.step = step;
  f.thread = thread;
  f.site = "core/refcount.cc:47";
  f.operation = "MEMBER_SET";
  f.message = "test";
  return f;
}

constexpr uint64_t kHash = 0x9e5637a0f837b00bu;

TEST(DeterminismTest, TheSameFindingAndTraceIsDeterministic) {
  const Finding first = Make(FindingKind::kUseAfterFree, 17, 1);
  DeterminismCheck c = CheckDeterminism(first, kHash, [&] { return Rerun{first, kHash}; });
  EXPECT_TRUE(c.deterministic) << c.message;
  ASSERT_TRUE(c.rerun.has_value());
  EXPECT_EQ(c.rerun->step, 17u);
  EXPECT_EQ(c.message.find("NOT DETERMINISTIC"), std::string::npos) << c.message;
}

TEST(DeterminismTest, AnotherStepThreadKindOrNoFindingIsNotDeterministic) {
  const Finding first = Make(FindingKind::kUseAfterFree, 17, 1);
  const std::optional<Finding> reruns[] = {
      Make(FindingKind::kUseAfterFree, 18, 1),   // another step
      Make(FindingKind::kUseAfterFree, 17, 0),   // another thread
      Make(FindingKind::kPrematureFree, 17, 1),  // another kind
      std::nullopt,                              // nothing at all
  };
  for (const std::optional<Finding>& again : reruns) {
    DeterminismCheck c = CheckDeterminism(first, kHash, [&] { return Rerun{again, kHash}; });
    EXPECT_FALSE(c.deterministic) << c.message;
    EXPECT_NE(c.message.find("NOT DETERMINISTIC"), std::string::npos) << c.message;
  }
}

// The same finding at the same step after another interleaving is not the
// same run: the trace hash tells them apart.
TEST(DeterminismTest, TheSameFindingOnAnotherTraceIsNotDeterministic) {
  const Finding first = Make(FindingKind::kUseAfterFree, 17, 1);
  DeterminismCheck c = CheckDeterminism(first, kHash, [&] { return Rerun{first, kHash ^ 1}; });
  EXPECT_FALSE(c.deterministic) << c.message;
  EXPECT_NE(c.message.find("trace hash"), std::string::npos) << c.message;
}

// A finding thrown out of the re-run is its finding; its trace hash is
// unknown then, so it cannot confirm the first run's trace.
TEST(DeterminismTest, AFindingThrownByTheRerunIsItsFindingWithAnUnknownTrace) {
  const Finding first = Make(FindingKind::kDoubleFree, 5, 0);
  DeterminismCheck same = CheckDeterminism(first, kHash, [&]() -> Rerun { throw FindingException(first); });
  ASSERT_TRUE(same.rerun.has_value());
  EXPECT_EQ(same.rerun->step, 5u);
  EXPECT_FALSE(same.deterministic) << same.message;
  EXPECT_NE(same.message.find("unknown"), std::string::npos) << same.message;
  DeterminismCheck other = CheckDeterminism(
      first, kHash, [&]() -> Rerun { throw FindingException(Make(FindingKind::kDoubleFree, 6, 0)); });
  EXPECT_FALSE(other.deterministic) << other.message;
  ASSERT_TRUE(other.rerun.has_value());
  EXPECT_EQ(other.rerun->step, 6u);
}

TEST(DeterminismTest, ARaceIsCheckedByItsTraceHash) {
  const Finding race = Make(FindingKind::kDataRace, 40, 1);
  DeterminismCheck same = CheckRaceRerun(race, 0x1234, 0x1234);
  EXPECT_TRUE(same.deterministic) << same.message;
  DeterminismCheck changed = CheckRaceRerun(race, 0x1234, 0x1235);
  EXPECT_FALSE(changed.deterministic) << changed.message;
  EXPECT_NE(changed.message.find("NOT DETERMINISTIC"), std::string::npos) << changed.message;
}

}  // namespace
}  // namespace ftf::audit
