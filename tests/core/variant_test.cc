// The variant registry (core/variant.h): names are unique and found by
// name, `locked` is CPython as it is, and every mutant names the finding it
// must produce while no other variant does.

#include "core/variant.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace ftf::core {
namespace {

const std::regex kKindName("[A-Z][A-Z_]*");

TEST(VariantTest, NamesAreUniqueAndFindVariantFindsEach) {
  std::set<std::string> names;
  ASSERT_FALSE(AllVariants().empty());
  for (const Variant& v : AllVariants()) {
    EXPECT_TRUE(names.insert(v.name).second) << "duplicate variant " << v.name;
    EXPECT_TRUE(std::regex_match(v.name, std::regex("[a-z][a-z0-9_]*"))) << v.name;
    EXPECT_FALSE(v.description.empty()) << v.name;
    EXPECT_EQ(FindVariant(v.name), &v) << v.name;
  }
  EXPECT_EQ(FindVariant("no_such_variant"), nullptr);
  EXPECT_EQ(FindVariant(""), nullptr);
}

TEST(VariantTest, LockedIsCPythonAsItIs) {
  const Variant& locked = LockedVariant();
  EXPECT_EQ(locked.name, "locked");
  EXPECT_EQ(FindVariant("locked"), &locked);
  EXPECT_FALSE(locked.is_mutant);
  EXPECT_EQ(locked.slot_store_bytecode, SlotStoreBytecode::kLockObject);
  EXPECT_EQ(locked.slot_store_member, SlotStoreMember::kCriticalSection);
  EXPECT_EQ(locked.slot_get_fallback, SlotGetFallback::kCriticalSectionIncref);
  EXPECT_EQ(&AllVariants().front(), &locked) << "locked comes first";
  EXPECT_TRUE(locked.keys_version_guard);
  EXPECT_TRUE(locked.class_swap_stops_world);
  EXPECT_FALSE(locked.member_delete_checks_unlocked);
}

TEST(VariantTest, EveryMutantNamesItsFindingAndNothingElseDoes) {
  int mutants = 0;
  for (const Variant& v : AllVariants()) {
    if (v.is_mutant) {
      ++mutants;
      ASSERT_TRUE(v.expected_finding.has_value()) << v.name;
      // Each kind is one of the closed set, with a stable upper-case name.
      EXPECT_TRUE(std::regex_match(FindingKindName(*v.expected_finding), kKindName)) << v.name;
      for (FindingKind k : v.also_found_as) {
        EXPECT_TRUE(std::regex_match(FindingKindName(k), kKindName)) << v.name;
        EXPECT_NE(k, *v.expected_finding) << v.name << ": also_found_as repeats the expected kind";
      }
      // Under TSan: the TSan-specific kind when there is one, else the same.
      const FindingKind tsan = v.expected_finding_tsan.value_or(*v.expected_finding);
      EXPECT_EQ(ExpectedFinding(v, /*under_tsan=*/true), tsan) << v.name;
      EXPECT_EQ(ExpectedFinding(v, /*under_tsan=*/false), v.expected_finding) << v.name;
    } else {
      EXPECT_FALSE(v.expected_finding.has_value()) << v.name;
      EXPECT_FALSE(v.expected_finding_tsan.has_value()) << v.name;
      EXPECT_TRUE(v.also_found_as.empty()) << v.name;
      EXPECT_FALSE(ExpectedFinding(v, true).has_value()) << v.name;
    }
  }
  EXPECT_GE(mutants, 1);
}

}  // namespace
}  // namespace ftf::core
