// Tests for what the World (runner/world.h) does around the core beyond
// running programs: it turns a modelled crash (core/fatal.h) into the
// harness's report line, and only while it exists.

#include "runner/world.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/fatal.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {
namespace {

void CrashWithAWorld() {
  sched::FiberExecutor exec;
  World world(exec);
  core::NotifyModelCrash({"core/dict_keys.cc", "KeysLookupLockHeld",
                          "NULL me_key: CPython dereferences it in unicode_get_hash"});
  std::abort();
}

TEST(WorldDeathTest, ModelCrashBecomesTheCrashSummaryLine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CrashWithAWorld(),
               "SUMMARY: ftfuzz: CRASH core/dict_keys.cc in KeysLookupLockHeld \\(NULL me_key: CPython "
               "dereferences it in unicode_get_hash\\)\n");
}

TEST(WorldTest, TheHandlerLivesAsLongAsTheWorld) {
  const core::ModelCrashHandler before = core::InstallModelCrashHandler(nullptr);
  {
    sched::FiberExecutor exec;
    World world(exec);
    const core::ModelCrashHandler h = core::InstallModelCrashHandler(nullptr);
    EXPECT_NE(h, nullptr) << "the World installs its handler";
    core::InstallModelCrashHandler(h);
  }
  EXPECT_EQ(core::InstallModelCrashHandler(before), nullptr) << "restored when the World goes";
}

}  // namespace
}  // namespace ftf::runner
