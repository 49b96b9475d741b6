// cross_input_test.cc - an input's run does not depend on the inputs run
// before it in the same process (libFuzzer runs millions in one Runner).
//
// The crash file libFuzzer writes is replayed later in a fresh process; if
// any state survived from one input to the next (a counter, a cache, a
// thread's state), the replay would run a different interleaving and the
// finding would not reproduce. For every ordered pair (A, B) of seed programs,
// B run after A in one Runner must give the same trace hash, step count and
// outcome as B run in a fresh Runner.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "fuzzers/fuzz_targets.h"
#include "program/io.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

using testing::CorpusFiles;
using testing::Replay;

struct Named {
  std::string name;
  program::Program program;
};

std::vector<Named> SeedPrograms() {
  std::vector<Named> out;
  for (std::string_view target : kVariantFuzzTargets) {
    for (const auto& path : CorpusFiles(std::string(target) + "/seeds")) {
      absl::StatusOr<program::Program> p = program::LoadProgramFile(path.string());
      if (p.ok()) out.push_back({path.parent_path().parent_path().filename().string() + "/" + path.filename().string(), *p});
    }
  }
  return out;
}

void ExpectIndependent(const std::string& variant) {
  const std::vector<Named> seeds = SeedPrograms();
  ASSERT_GE(seeds.size(), 10u) << "seed corpora not found under " << testing::SourceDir();
  std::vector<Replay> alone;
  for (const Named& b : seeds) {
    Runner fresh;
    alone.push_back(testing::Run(fresh, b.program, variant));
  }
  int compared = 0;
  for (const Named& a : seeds) {
    Runner shared;
    for (size_t j = 0; j < seeds.size(); ++j) {
      testing::Run(shared, a.program, variant);
      const Replay after = testing::Run(shared, seeds[j].program, variant);
      const Replay& want = alone[j];
      EXPECT_EQ(after.trace_hash, want.trace_hash) << seeds[j].name << " after " << a.name << " under " << variant;
      EXPECT_EQ(after.steps, want.steps) << seeds[j].name << " after " << a.name;
      EXPECT_EQ(after.kind, want.kind) << seeds[j].name << " after " << a.name;
      EXPECT_EQ(after.step, want.step) << seeds[j].name << " after " << a.name;
      ++compared;
    }
  }
  EXPECT_EQ(compared, static_cast<int>(seeds.size() * seeds.size()));
}

TEST(CrossInput, LockedRunsDoNotDependOnThePreviousInput) { ExpectIndependent("locked"); }
TEST(CrossInput, LockfreeSlotsFixedRunsDoNotDependOnThePreviousInput) { ExpectIndependent("lockfree_slots_fixed"); }
// A mutant whose bug involves only atomic accesses (a WRONG_VALUE, also under
// TSan): a racy mutant would make TSan fail the whole test binary.
TEST(CrossInput, MutantRunsDoNotDependOnThePreviousInput) { ExpectIndependent("mutant_no_keys_version_guard"); }

}  // namespace
}  // namespace ftf::runner
