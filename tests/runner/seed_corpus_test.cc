// seed_corpus_test.cc - the fuzz targets' corpora run through the Runner.
//
// * Every seed of every variant fuzz target (fuzzers/CMakeLists.txt) runs clean on the
//   variants that are meant to be correct: locked, lockfree_slots_fixed,
//   trybegin_globals, islocked_globals. (lockfree_slots is not among them:
//   it LIVELOCKs, findings/20261122-lockfree-slots-xgetref-livelock.md.)
// * The regression input of that finding still LIVELOCKs lockfree_slots, on
//   the reading thread, deterministically, and is clean on locked and on
//   lockfree_slots_fixed.
// * The text twins of those corpora encode to their binaries
//   (regenerate a binary with
//   ./ftfuzz encode corpus/text/slots_fuzzer/seeds/X.txt -o corpus/slots_fuzzer/seeds/X).

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzzers/fuzz_targets.h"
#include "program/encoder.h"
#include "program/io.h"
#include "program/text.h"
#include "runner/runner.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

namespace fs = std::filesystem;
using testing::CorpusFiles;
using testing::Replay;

const char* const kCleanVariants[] = {"locked", "lockfree_slots_fixed", "trybegin_globals", "islocked_globals"};

class SeedCorpusTest : public ::testing::TestWithParam<std::string_view> {};

INSTANTIATE_TEST_SUITE_P(Targets, SeedCorpusTest, ::testing::ValuesIn(kVariantFuzzTargets));

TEST_P(SeedCorpusTest, EverySeedRunsCleanOnTheCorrectVariants) {
  const std::vector<fs::path> seeds = CorpusFiles(std::string(GetParam()) + "/seeds");
  ASSERT_GE(seeds.size(), 3u) << "seed corpus of " << GetParam() << " missing";
  Runner runner;
  for (const fs::path& seed : seeds) {
    absl::StatusOr<program::Program> p = program::LoadProgramFile(seed.string());
    ASSERT_TRUE(p.ok()) << seed << ": " << p.status().message();
    for (const char* v : kCleanVariants) {
      Replay r = testing::Run(runner, *p, v);
      EXPECT_EQ(r.kind, "clean") << seed.filename().string() << " on " << v << " at " << r.location << " step "
                                 << r.step;
    }
  }
}

constexpr char kRegression[] = "slots_fuzzer/regressions/20261122_lockfree_slots_xgetref_livelock";

TEST(LivelockRegressionTest, LockfreeSlotsStillLivelocksOnTheReader) {
  absl::StatusOr<program::Program> p = testing::LoadCorpusProgram(kRegression);
  ASSERT_TRUE(p.ok()) << p.status().message();
  Runner runner;
  Replay first = testing::Run(runner, *p, "lockfree_slots");
  EXPECT_EQ(first.kind, "LIVELOCK");
  EXPECT_EQ(first.thread, 1) << "the member_get thread spins";
  EXPECT_NE(first.location.find("core/refcount.cc"), std::string::npos) << first.location;
  Replay again = testing::Run(runner, *p, "lockfree_slots");
  EXPECT_EQ(again.kind, first.kind);
  EXPECT_EQ(again.step, first.step);
  EXPECT_EQ(again.trace_hash, first.trace_hash);
}

// The fuzz target reports from the ring of the last steps and the replay
// re-runs with the full trace; both must name the same spin loop, or the
// SUMMARY line (the deduplication key) changes between the crash and `ftf
// repro`.
TEST(LivelockRegressionTest, SameLocationWithTheRingAndWithTheFullTrace) {
  // The regression with work before the spin on the spinning thread: the
  // full trace holds those steps too, the ring does not.
  absl::StatusOr<program::Program> p = program::ParseText(R"(ftfuzz program v1
threads 2
schedule direct
bytes f8 f9

t0 s0: o0.a = fresh

t1:    member_set(o0, b, fresh)
t1:    r0 = member_get(o0, b)
t1:    r0 = member_get(o0, b)
t1:    r0 = member_get(o0, b)
t1:    r0 = member_get(o0, b)
t1:    r1 = member_get(o0, a)
)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  Runner runner;
  RunnerOptions ring;
  ring.variant = core::FindVariant("lockfree_slots");
  RunOutcome a = runner.Run(*p, ring);
  ASSERT_TRUE(a.finding.has_value());
  const std::string ring_location = a.finding->Location();
  RunnerOptions full = ring;
  full.exec.full_trace = true;
  RunOutcome b = runner.Run(*p, full);
  ASSERT_TRUE(b.finding.has_value());
  EXPECT_EQ(b.finding->Location(), ring_location);
  EXPECT_EQ(b.finding->step, a.finding->step);
}

TEST(LivelockRegressionTest, CleanOnLockedAndOnTheFix) {
  absl::StatusOr<program::Program> p = testing::LoadCorpusProgram(kRegression);
  ASSERT_TRUE(p.ok()) << p.status().message();
  Runner runner;
  for (const char* v : {"locked", "lockfree_slots_fixed"}) {
    Replay r = testing::Run(runner, *p, v);
    EXPECT_EQ(r.kind, "clean") << v << " at " << r.location;
    EXPECT_LT(r.steps, 1000u) << v << ": the reader returned at once";
  }
}

// The binary regression is the twin of its text program, which is small:
// two threads, one store of a fresh value and one member get.
TEST(LivelockRegressionTest, IsTheMinimalHandWrittenProgram) {
  absl::StatusOr<program::Program> bin = testing::LoadCorpusProgram(kRegression);
  absl::StatusOr<program::Program> text = testing::LoadCorpusProgram(std::string("text/") + kRegression + ".txt");
  ASSERT_TRUE(bin.ok()) << bin.status().message();
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(program::ToText(*bin), program::ToText(*text));
  ASSERT_EQ(bin->threads.size(), 2u);
  EXPECT_EQ(bin->threads[0].ops.size(), 1u);
  EXPECT_EQ(bin->threads[1].ops.size(), 1u);
}

class TextTwinTest : public ::testing::TestWithParam<std::string_view> {};

INSTANTIATE_TEST_SUITE_P(Targets, TextTwinTest, ::testing::ValuesIn(kVariantFuzzTargets));

TEST_P(TextTwinTest, EveryBinaryHasATextTwinThatEncodesToIt) {
  const std::string target(GetParam());
  const fs::path bin_root = testing::SourceDir() / "corpus" / target;
  const fs::path text_root = testing::SourceDir() / "corpus" / "text" / target;
  // Only the hand-written parts: the top of corpus/<target>/ may hold
  // fuzzer-grown corpora (./ftfuzz fuzz merges into corpus/<target>/merged).
  std::set<std::string> binaries, twins;
  for (const char* part : {"seeds", "regressions"}) {
    for (const fs::path& f : CorpusFiles(target + "/" + part)) binaries.insert(fs::relative(f, bin_root).string());
  }
  for (const fs::path& f : CorpusFiles("text/" + target)) {
    std::string rel = fs::relative(f, text_root).string();
    if (rel.size() > 4 && rel.substr(rel.size() - 4) == ".txt") twins.insert(rel.substr(0, rel.size() - 4));
  }
  EXPECT_EQ(binaries, twins) << "every corpus file of " << target << " needs a text twin and vice versa";
  for (const std::string& rel : twins) {
    if (!binaries.count(rel)) continue;
    SCOPED_TRACE(rel);
    absl::StatusOr<std::string> text = program::ReadFileBytes((text_root / (rel + ".txt")).string());
    ASSERT_TRUE(text.ok()) << text.status().message();
    // A twin that says it was written by hand (two core_fuzzer regressions,
    // which ledger_regression_test runs as text) is exempt.
    if (text->find("\n# twin: written by hand") != std::string::npos) continue;
    absl::StatusOr<program::Program> p = program::ParseText(*text);
    ASSERT_TRUE(p.ok()) << p.status().message();
    absl::StatusOr<std::vector<uint8_t>> encoded = program::Encode(*p);
    ASSERT_TRUE(encoded.ok()) << encoded.status().message();
    absl::StatusOr<std::string> bin = program::ReadFileBytes((bin_root / rel).string());
    ASSERT_TRUE(bin.ok()) << bin.status().message();
    EXPECT_EQ(std::string(encoded->begin(), encoded->end()), *bin) << "re-encode the binary from its twin";
  }
}

}  // namespace
}  // namespace ftf::runner
