// variant_targets_test.cc - the variant registry and the fuzz target list agree.
//
// Each variant names the fuzz targets whose fuzzing.* campaigns check it
// (src/core/variant.cc); ctest makes those tests from `ftf variants --json`,
// so a name that is not a registered target (fuzzers/CMakeLists.txt) would
// only show as a missing binary when the campaign runs.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "core/variant.h"
#include "fuzzers/fuzz_targets.h"

namespace ftf::runner {
namespace {

bool IsVariantTarget(const std::string& name) {
  return std::find(std::begin(kVariantFuzzTargets), std::end(kVariantFuzzTargets), std::string_view(name)) !=
         std::end(kVariantFuzzTargets);
}

TEST(VariantTargets, EveryVariantsFuzzTargetIsARegisteredVariantTarget) {
  for (const core::Variant& v : core::AllVariants()) {
    for (const std::string& t : v.fuzz_targets) EXPECT_TRUE(IsVariantTarget(t)) << v.name << " names " << t;
  }
}

TEST(VariantTargets, EveryMutantIsCheckedByAFuzzTarget) {
  for (const core::Variant& v : core::AllVariants()) {
    if (v.is_mutant) EXPECT_FALSE(v.fuzz_targets.empty()) << v.name << " names no fuzz target that must find it";
  }
}

}  // namespace
}  // namespace ftf::runner
