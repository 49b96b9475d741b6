// regressions_test.cc - every input under corpus/<target>/regressions/ still
// produces the outcome its text twin records.
//
// A regression's twin (corpus/text/<target>/regressions/<name>.txt) carries
// one `# expect: VARIANT KIND` line per variant it was checked on
// (program/expectations.h parses them).
// The binary file is the one replayed (the twin is the readable form;
// seed_corpus_test checks the two agree). A twin without any expect line
// fails: a regression nobody can check is not a regression.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/variant.h"
#include "program/expectations.h"
#include "program/io.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

namespace fs = std::filesystem;
using testing::CorpusFiles;
using testing::kUnderTsan;

using program::Expectation;

TEST(Regressions, EveryRegressionStillProducesItsRecordedOutcome) {
  int checked = 0;
  for (const fs::path& twin : CorpusFiles("text")) {
    const std::string rel = fs::relative(twin, testing::SourceDir() / "corpus" / "text").string();
    if (rel.find("/regressions/") == std::string::npos) continue;
    SCOPED_TRACE(rel);
    absl::StatusOr<std::string> text = program::ReadFileBytes(twin.string());
    ASSERT_TRUE(text.ok()) << text.status().message();
    const std::vector<Expectation> expected = program::ParseExpectations(*text, kUnderTsan);
    EXPECT_FALSE(expected.empty()) << "no `# expect: VARIANT KIND` line in " << rel;
    const fs::path binary = testing::SourceDir() / "corpus" / rel.substr(0, rel.size() - 4);
    absl::StatusOr<program::Program> p = program::LoadProgramFile(binary.string());
    ASSERT_TRUE(p.ok()) << binary << ": " << p.status().message();
    for (const Expectation& e : expected) {
      // DATA_RACE is TSan's finding: the Runner never returns it; a run under
      // TSan that races stops the process, so those are the fuzzing tests' job.
      if (e.kind == "DATA_RACE") continue;
      ASSERT_NE(core::FindVariant(e.variant), nullptr) << "unknown variant " << e.variant;
      Runner runner;
      testing::Replay r = testing::Run(runner, *p, e.variant);
      EXPECT_EQ(r.kind, e.kind) << rel << " on " << e.variant << " (at " << r.location << ")";
      ++checked;
    }
  }
  EXPECT_GE(checked, 3) << "regressions found under " << testing::SourceDir() / "corpus";
}

// WithKnownFixes (FTF_KNOWN_FIXED=1, the clean campaigns) carries every fix
// of a known CPython bug: each regression that a `locked_*_fixed` variant
// fixes is clean on `locked` with the known fixes too. Under TSan a race left
// unfixed stops this process, which fails the test as well.
TEST(Regressions, TheKnownFixesFixEveryKnownRegression) {
  const core::Variant fixed = core::WithKnownFixes(core::LockedVariant());
  int checked = 0;
  for (const fs::path& twin : CorpusFiles("text")) {
    const std::string rel = fs::relative(twin, testing::SourceDir() / "corpus" / "text").string();
    if (rel.find("/regressions/") == std::string::npos) continue;
    absl::StatusOr<std::string> text = program::ReadFileBytes(twin.string());
    ASSERT_TRUE(text.ok()) << text.status().message();
    bool fixed_by_locked_fix = false;
    for (const Expectation& e : program::ParseExpectations(*text, kUnderTsan)) {
      fixed_by_locked_fix |= e.variant.starts_with("locked_") && e.variant.ends_with("_fixed") && e.kind == "clean";
    }
    if (!fixed_by_locked_fix) continue;
    SCOPED_TRACE(rel);
    const fs::path binary = testing::SourceDir() / "corpus" / rel.substr(0, rel.size() - 4);
    absl::StatusOr<program::Program> p = program::LoadProgramFile(binary.string());
    ASSERT_TRUE(p.ok()) << binary << ": " << p.status().message();
    Runner runner;
    RunnerOptions opts;
    opts.variant = &fixed;
    RunOutcome out = runner.Run(*p, opts);
    EXPECT_FALSE(out.finding.has_value()) << rel << ": " << core::FindingKindName(out.finding->kind);
    ++checked;
  }
  EXPECT_GE(checked, 3) << "the popitem and deferred-store regressions";
}

TEST(Regressions, ExpectLinesParse) {
  const std::vector<Expectation> e =
      program::ParseExpectations("ftfuzz program v1\n# expect: a USE_AFTER_FREE\n# expect-tsan: a DATA_RACE\n# expect: b clean\n",
                                 kUnderTsan);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].variant, "a");
  EXPECT_EQ(e[0].kind, kUnderTsan ? "DATA_RACE" : "USE_AFTER_FREE");
  EXPECT_EQ(e[1].variant, "b");
  EXPECT_EQ(e[1].kind, "clean");
}

}  // namespace
}  // namespace ftf::runner
