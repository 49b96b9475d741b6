// repro_test.cc - `ftf repro --threads=K`: real-thread replays are counted,
// a ledger finding on a real thread does not kill the tool, a real LIVELOCK
// is a counted hang (its worker is killed), and every run is accounted for.
//
// Real interleavings are not reproducible, so these tests assert the
// accounting (every run counted exactly once, kinds only from the closed
// set) and the things that do not depend on timing: a program that
// livelocks in every interleaving hangs every time, and `locked` (CPython as
// it is) is clean on real threads.

#include "tools/repro.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "audit/finding.h"
#include "program/io.h"
#include "program/text.h"
#include "tools_test_util.h"

namespace ftf::tools {
namespace {

using testing::CorpusPath;

program::Program LoadText(const std::string& text) {
  absl::StatusOr<program::Program> p = program::ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : program::EmptyProgram();
}

// Four threads storing into and reading one slot, 16 times each: wide
// windows for the racy mutants on real hardware.
std::string StressText() {
  std::string t = "ftfuzz program v1\nthreads 4\n";
  for (int th = 0; th < 4; ++th) {
    for (int i = 0; i < 16; ++i) {
      t += "t" + std::to_string(th) + " s0: o0.a = fresh\n";
      t += "t" + std::to_string(th) + ": r0 = member_get(o0, a)\n";
    }
  }
  return t;
}

// Under TSan the workers are exec'd ftf binaries (repro.h).
ThreadReplayOptions Options(const char* variant, int runs) {
  ThreadReplayOptions o;
  o.variant = core::FindVariant(variant);
  o.runs = runs;
  o.worker_binary = testing::ToolBinary();
  return o;
}

void ExpectAccounted(const ThreadReplayStats& s, int runs) {
  EXPECT_EQ(s.runs_requested, runs);
  EXPECT_EQ(s.runs_done, runs);
  int total = s.clean;
  for (const auto& [kind, n] : s.kinds) {
    total += n;
    EXPECT_TRUE(s.first_location.count(kind)) << core::FindingKindName(kind);
  }
  EXPECT_EQ(total, runs);
  EXPECT_EQ(s.with_finding(), runs - s.clean);
}

TEST(RealThreadReplay, LockedIsCleanOnRealThreads) {
  ThreadReplayOptions o = Options("locked", 200);
  ThreadReplayStats s = ReplayOnThreads(LoadText(StressText()), o);
  ExpectAccounted(s, 200);
  EXPECT_EQ(s.clean, 200) << "kinds: " << (s.kinds.empty() ? "" : std::string(core::FindingKindName(s.kinds.begin()->first)) + " at " +
                                                                         s.first_location.begin()->second);
  EXPECT_FALSE(s.stopped_early);
}

TEST(RealThreadReplay, EveryRunOfARacyMutantIsCounted) {
  ThreadReplayOptions o = Options("mutant_half_migrated", 300);
  ThreadReplayStats s = ReplayOnThreads(LoadText(StressText()), o);
  ExpectAccounted(s, 300);
  // Not asserted (hardware timing): how many runs hit the window.
  std::printf("mutant_half_migrated on real threads: %d/300 runs with a finding\n", s.with_finding());
}

// lockfree_slots' _Py_XGetRef spins forever on a main-thread-owned slot
// value in every interleaving: on real threads that is a hang, counted, and
// the replay stops after max_hangs.
TEST(RealThreadReplay, ARealLivelockIsACountedHang) {
  ThreadReplayOptions o = Options("lockfree_slots", 10);
  o.timeout_ms = testing::kUnderTsan ? 3000 : 500;
  o.max_hangs = 2;
  ThreadReplayStats s = ReplayOnThreads(LoadText("ftfuzz program v1\nt0: r0 = member_get(o0, a)\n"), o);
  EXPECT_EQ(s.runs_done, 2);
  EXPECT_EQ(s.kinds[core::FindingKind::kHang], 2);
  EXPECT_TRUE(s.stopped_early);
  // The fixed variant terminates.
  o.variant = core::FindVariant("lockfree_slots_fixed");
  s = ReplayOnThreads(LoadText("ftfuzz program v1\nt0: r0 = member_get(o0, a)\n"), o);
  ExpectAccounted(s, 10);
  EXPECT_EQ(s.clean, 10);
}

TEST(ReproCommandLine, ThreadsPrintsCountsAndKeepsTheDeterministicReport) {
  testing::CommandResult r = testing::RunCommand(
      testing::ToolBinary() + " repro " + CorpusPath("text/slots_fuzzer/seeds/fallback_reload_vs_exchange.txt") +
      " --variant=mutant_cs_fallback_incref --threads=200");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("SUMMARY: ftfuzz: RESURRECTION"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("== Real threads (2 threads, variant mutant_cs_fallback_incref) =="), std::string::npos)
      << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("finding RESURRECTION in ([0-9]+)/200 real-thread runs")))
      << r.output;
}

TEST(ReproCommandLine, CleanProgramOnThreadsExitsZero) {
  testing::CommandResult r = testing::RunCommand(
      testing::ToolBinary() + " repro " + CorpusPath("text/slots_fuzzer/seeds/fallback_reload_vs_exchange.txt") +
      " --variant=locked --threads=100");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no finding in 100/100 real-thread runs"), std::string::npos) << r.output;
}

// The DATA_RACE regression, replayed by `ftf repro` in a fresh process under
// TSan, gives the race and an ftfuzz tail that names the input and the
// variant it was replayed on (the "Reproduce with" line is what a user copies
// next; it said --variant=locked before repro installed its crash context).
TEST(ReproCommandLine, ReplaysARecordedRaceAndNamesTheVariant) {
  if (!testing::kUnderTsan) GTEST_SKIP() << "a DATA_RACE needs the tsan preset";
  const std::string file = CorpusPath("slots_fuzzer/regressions/20261122_first_run_hid_member_set_race");
  testing::CommandResult r =
      testing::RunCommand(testing::ToolBinary() + " repro " + file + " --variant=mutant_half_migrated");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUMMARY: ftfuzz: DATA_RACE"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Reproduce with: ./ftfuzz repro " + file + " --variant=mutant_half_migrated"),
            std::string::npos)
      << r.output;
}

TEST(ReproCommandLine, BadThreadCountsAreUsageErrors) {
  const std::string base = testing::ToolBinary() + " repro " + CorpusPath("text/slots_fuzzer/seeds/publish_new_object.txt");
  EXPECT_EQ(testing::RunCommand(base + " --threads=0").exit_code, 2);
  EXPECT_EQ(testing::RunCommand(base + " --threads=x").exit_code, 2);
  EXPECT_EQ(testing::RunCommand(base + " --threads=10 --timeout=0").exit_code, 2);
}

}  // namespace
}  // namespace ftf::tools
