// reduction_test.cc - the partial-order reduction (docs/scheduling.md) on
// real programs: it removes scheduling points, and no object ever escapes
// it (an access of another thread to a block the executor held private
// would mean a publication path it did not see, and points it wrongly
// left out).

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "core/variant.h"
#include "program/expectations.h"
#include "program/io.h"
#include "program/text.h"
#include "runner/runner.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

namespace fs = std::filesystem;

RunOutcome RunWith(Runner& runner, const program::Program& p, const std::string& variant, bool reduce) {
  RunnerOptions opts;
  opts.variant = core::FindVariant(variant);
  opts.exec.reduce_private = reduce;
  return runner.Run(p, opts);
}

// Every model-program input of the corpus, on `locked` and on every variant
// its text twin names: no escape, ever.
TEST(Reduction, NoObjectEscapesOnAnyCorpusInput) {
  uint64_t private_accesses = 0;
  int runs = 0;
  for (const char* target : {"slots_fuzzer", "globals_fuzzer", "core_fuzzer"}) {
    for (const fs::path& f : testing::CorpusFiles(target)) {
      const std::string rel = fs::relative(f, testing::SourceDir() / "corpus").string();
      SCOPED_TRACE(rel);
      absl::StatusOr<program::Program> p = program::LoadProgramFile(f.string());
      ASSERT_TRUE(p.ok()) << p.status().message();
      std::set<std::string> variants = {"locked"};
      const fs::path twin = testing::SourceDir() / "corpus" / "text" / (rel + ".txt");
      if (absl::StatusOr<std::string> text = program::ReadFileBytes(twin.string()); text.ok()) {
        for (const program::Expectation& e : program::ParseExpectations(*text, testing::kUnderTsan)) {
          variants.insert(e.variant);
        }
        if (testing::kUnderTsan) {
          for (const std::string& v : testing::VariantsRacingUnderTsan(*text)) variants.erase(v);
        }
      }
      for (const std::string& v : variants) {
        if (core::FindVariant(v) == nullptr) continue;
        Runner runner;
        RunOutcome out = RunWith(runner, *p, v, true);
        EXPECT_EQ(out.exec.private_escapes, 0u) << rel << " on " << v;
        private_accesses += out.exec.private_accesses;
        ++runs;
      }
    }
  }
  EXPECT_GE(runs, 20);
  EXPECT_GT(private_accesses, 0u) << "the reduction removed no scheduling point on the whole corpus";
}

// A thread that makes a fresh object and works on it in its registers
// before storing it into a shared slot: the work before the store makes no
// point; switched off, it does.
TEST(Reduction, FreshObjectInARegisterMakesNoPointUntilStored) {
  const char* text =
      "ftfuzz program v1\n"
      "threads 2\n"
      "schedule direct\n"
      "bytes f8 f9\n"
      "t0:    r0 = T1()\n"
      "t0:    member_set(r0, a, fresh)\n"
      "t0:    r1 = member_get(r0, a)\n"
      "t0:    del r1\n"
      "t0 s0: o0.a = r0\n"
      "t1 s0: r2 = o0.a\n";
  absl::StatusOr<program::Program> p = program::ParseText(text);
  ASSERT_TRUE(p.ok()) << p.status().message();
  Runner runner;
  RunOutcome on = RunWith(runner, *p, "locked", true);
  RunOutcome off = RunWith(runner, *p, "locked", false);
  EXPECT_FALSE(on.finding.has_value());
  EXPECT_FALSE(off.finding.has_value());
  EXPECT_GT(on.exec.private_accesses, 0u);
  EXPECT_EQ(on.exec.private_escapes, 0u);
  EXPECT_EQ(off.exec.private_accesses, 0u);
  EXPECT_EQ(on.exec.steps + on.exec.private_accesses, off.exec.steps);
}

}  // namespace
}  // namespace ftf::runner
