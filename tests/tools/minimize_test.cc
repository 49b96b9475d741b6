// minimize_test.cc - `ftf minimize`: keeps the finding, never grows, removes
// padding, is deterministic, and handles inputs without a finding or broken
// files.
//
// The inputs are the mutant-detection seeds (tests/runner/mutant_detection_
// test.cc) and the lockfree_slots livelock regression. Under TSan the racy
// mutants are reported as DATA_RACE first (the candidate runs fork), and the
// data-race-only mutant is minimized only there.

#include "tools/minimize.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "program/decoder.h"
#include "program/encoder.h"
#include "program/io.h"
#include "program/text.h"
#include "runner/runner.h"
#include "tools_test_util.h"

namespace ftf::tools {
namespace {

using testing::CorpusPath;
using testing::kUnderTsan;

struct Case {
  const char* variant;
  const char* input;  // relative to corpus/
  bool race_first_under_tsan;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.variant; }

const Case kCases[] = {
    {"mutant_half_migrated", "text/slots_fuzzer/seeds/member_set_inside_exchange_window.txt", true},
    {"mutant_cs_fallback_incref", "text/slots_fuzzer/seeds/fallback_reload_vs_exchange.txt", false},
    {"mutant_plain_store", "text/slots_fuzzer/seeds/two_specialized_stores_one_slot.txt", true},
    {"mutant_trybegin_keeps_first_lock", "text/globals_fuzzer/seeds/trybegin_while_builtins_locked.txt", false},
    {"mutant_no_keys_version_guard", "text/globals_fuzzer/seeds/specialized_load_after_entry_reuse.txt", false},
    {"mutant_unlocked_specializer", "text/globals_fuzzer/seeds/specializer_vs_popitem_reuse.txt", true},
    {"lockfree_slots", "text/slots_fuzzer/regressions/20261122_lockfree_slots_xgetref_livelock.txt", false},
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return info.param.variant; }

program::Program Load(const std::string& relative) {
  absl::StatusOr<program::Program> p = program::LoadProgramFile(CorpusPath(relative));
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : program::EmptyProgram();
}

// The seed plus irrelevant work: a thread that makes and drops an object
// and yields, and two extra operations at the end of every thread.
program::Program Pad(const program::Program& seed) {
  program::Program p = seed;
  program::ThreadProgram extra;
  program::Op make;
  make.code = program::OpCode::kNew;
  make.type = 1;
  make.reg = 2;
  program::Op drop;
  drop.code = program::OpCode::kDrop;
  drop.reg = 2;
  extra.ops = {make, program::Op{}, drop};
  for (program::ThreadProgram& t : p.threads) {
    program::Op m = make;
    m.type = 2;
    m.reg = 3;
    program::Op d = drop;
    d.reg = 3;
    t.ops.push_back(m);
    t.ops.push_back(d);
  }
  p.threads.push_back(extra);
  return p;
}

struct Seen {
  bool has_finding = false;
  std::string kind;
  std::string location;
};

Seen RunOnce(const program::Program& p, const char* variant) {
  CandidateRunner runner(core::FindVariant(variant), CandidateRunner::Isolation::kAuto);
  CandidateOutcome o = runner.Run(p);
  return Seen{o.has_finding, o.has_finding ? audit::FindingKindName(o.kind) : "clean", o.location};
}

class MinimizeTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (kUnderTsan && GetParam().race_first_under_tsan) {
      // Still minimizable (as DATA_RACE, in forked children), but each
      // candidate costs a fork under TSan: the DataRace test below covers it.
      GTEST_SKIP() << "TSan reports the race first: see MinimizeDataRace";
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Mutants, MinimizeTest, ::testing::ValuesIn(kCases), CaseName);

TEST_P(MinimizeTest, KeepsTheFindingAndNeverGrows) {
  const Case& c = GetParam();
  const program::Program seed = Load(c.input);
  MinimizeOptions o;
  o.variant = core::FindVariant(c.variant);
  MinimizeResult r = Minimize(seed, o);
  ASSERT_TRUE(r.has_finding);
  EXPECT_FALSE(r.budget_exhausted);
  EXPECT_LE(r.after.threads, r.before.threads);
  EXPECT_LE(r.after.ops, r.before.ops);
  EXPECT_LE(r.after.context_switches, r.before.context_switches);
  EXPECT_LE(r.after.bytes, r.before.bytes);
  EXPECT_TRUE(program::Validate(r.minimized).ok());
  // The minimized program, through its bytes, gives the same finding at the same place.
  absl::StatusOr<std::vector<uint8_t>> bytes = program::Encode(r.minimized);
  ASSERT_TRUE(bytes.ok());
  const program::Program decoded = program::Decode(*bytes);
  EXPECT_EQ(decoded, r.minimized);
  const Seen before = RunOnce(seed, c.variant);
  const Seen after = RunOnce(decoded, c.variant);
  EXPECT_TRUE(after.has_finding);
  EXPECT_EQ(after.kind, before.kind);
  EXPECT_EQ(after.location, before.location);
  EXPECT_EQ(after.kind, audit::FindingKindName(r.kind));
  EXPECT_EQ(after.location, r.location);
}

TEST_P(MinimizeTest, RemovesPadding) {
  const Case& c = GetParam();
  const program::Program seed = Load(c.input);
  const program::Program padded = Pad(seed);
  const Seen want = RunOnce(seed, c.variant);
  const Seen got = RunOnce(padded, c.variant);
  ASSERT_TRUE(got.has_finding);
  ASSERT_EQ(got.kind, want.kind);
  ASSERT_EQ(got.location, want.location) << "the padding changed the finding's place";
  MinimizeOptions o;
  o.variant = core::FindVariant(c.variant);
  MinimizeResult r = Minimize(padded, o);
  ASSERT_TRUE(r.has_finding);
  EXPECT_EQ(r.before.threads, static_cast<int>(seed.threads.size()) + 1);
  // No padding left: at most the seed's threads and operations.
  EXPECT_LE(r.after.threads, static_cast<int>(seed.threads.size()));
  EXPECT_LE(r.after.ops, program::TotalOps(seed));
  for (const program::ThreadProgram& t : r.minimized.threads) {
    for (const program::Op& op : t.ops) {
      EXPECT_FALSE(op.code == program::OpCode::kNew && op.type >= 1) << "padding kept: " << program::OpText(op);
    }
  }
  EXPECT_LT(r.after.bytes, r.before.bytes);
}

TEST_P(MinimizeTest, IsDeterministic) {
  const Case& c = GetParam();
  const program::Program padded = Pad(Load(c.input));
  MinimizeOptions o;
  o.variant = core::FindVariant(c.variant);
  // A bounded search is deterministic too, and a livelock candidate costs
  // its whole step budget (slow under TSan).
  o.max_runs = 80;
  MinimizeResult a = Minimize(padded, o);
  MinimizeResult b = Minimize(padded, o);
  EXPECT_EQ(a.minimized, b.minimized);
  EXPECT_EQ(a.runs, b.runs);
  EXPECT_EQ(a.after.context_switches, b.after.context_switches);
}

// The livelock regression shrinks to one member_get on a slot whose value's
// owner (the main thread) holds it with ob_ref_shared == 0.
TEST(MinimizeLivelock, ShrinksToOneReader) {
  const program::Program seed = Load("text/slots_fuzzer/regressions/20261122_lockfree_slots_xgetref_livelock.txt");
  MinimizeOptions o;
  o.variant = core::FindVariant("lockfree_slots");
  MinimizeResult r = Minimize(seed, o);
  ASSERT_TRUE(r.has_finding);
  EXPECT_EQ(r.kind, audit::FindingKind::kLivelock);
  EXPECT_EQ(r.after.threads, 1);
  EXPECT_EQ(r.after.ops, 1);
  ASSERT_EQ(r.minimized.threads.size(), 1u);
  EXPECT_EQ(r.minimized.threads[0].ops[0].code, program::OpCode::kGetMember);
  // The fixed variant is clean on the minimized program too.
  EXPECT_FALSE(RunOnce(r.minimized, "lockfree_slots_fixed").has_finding);
}

// A PCT schedule becomes a direct one when that keeps the finding.
TEST(MinimizeSchedule, PctBecomesDirect) {
  const program::Program seed = Load("text/slots_fuzzer/seeds/member_get_vs_exchange.txt");
  ASSERT_EQ(seed.schedule.kind, program::ScheduleKind::kPct);
  MinimizeOptions o;
  o.variant = core::FindVariant("lockfree_slots");
  MinimizeResult r = Minimize(seed, o);
  ASSERT_TRUE(r.has_finding);
  EXPECT_EQ(r.minimized.schedule.kind, program::ScheduleKind::kDirect);
  EXPECT_LT(r.after.context_switches, r.before.context_switches);
}

TEST(MinimizeNoFinding, CleanInputHasNothingToKeep) {
  const program::Program seed = Load("text/slots_fuzzer/seeds/member_set_inside_exchange_window.txt");
  MinimizeOptions o;
  o.variant = core::FindVariant("locked");
  MinimizeResult r = Minimize(seed, o);
  EXPECT_FALSE(r.has_finding);
  EXPECT_EQ(r.runs, 1);
}

TEST(MinimizeBudget, StopsAtMaxRunsWithTheBestSoFar) {
  const program::Program padded =
      Pad(Load("text/slots_fuzzer/regressions/20261122_lockfree_slots_xgetref_livelock.txt"));
  MinimizeOptions o;
  o.variant = core::FindVariant("lockfree_slots");
  o.max_runs = 3;
  MinimizeResult r = Minimize(padded, o);
  ASSERT_TRUE(r.has_finding);
  EXPECT_TRUE(r.budget_exhausted);
  EXPECT_LE(r.runs, 3);
  EXPECT_LE(r.after.ops, r.before.ops);
}

#if defined(FTF_TSAN)
// DATA_RACE: only TSan sees it, and it kills the process, so every candidate
// runs in a forked child and the ftfuzz SUMMARY line on its stderr is parsed.
TEST(MinimizeDataRace, UnlockedDeleteCheckKeepsTheRace) {
  const program::Program seed = Load("text/slots_fuzzer/seeds/delete_check_vs_member_set.txt");
  MinimizeOptions o;
  o.variant = core::FindVariant("mutant_unlocked_delete_check");
  o.max_runs = 200;
  MinimizeResult r = Minimize(Pad(seed), o);
  ASSERT_TRUE(r.has_finding);
  EXPECT_EQ(r.kind, audit::FindingKind::kDataRace);
  EXPECT_FALSE(r.location.empty());
  EXPECT_LE(r.after.ops, program::TotalOps(seed));
  EXPECT_LE(r.after.threads, 2);
}
#endif

// --- the command line --------------------------------------------------------

TEST(MinimizeCommandLine, WritesTheOutputAndPrintsSizes) {
  const std::filesystem::path dir = testing::MakeTempDir("min");
  const std::string in = (dir / "padded.txt").string();
  testing::WriteAll(in, program::ToText(Pad(Load(
                            "text/slots_fuzzer/regressions/20261122_lockfree_slots_xgetref_livelock.txt"))));
  testing::CommandResult r = testing::RunCommand(testing::ToolBinary() + " minimize " + in + " --variant=lockfree_slots");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("before: 3 threads, 9 ops"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after:  1 thread, 1 op, 1 context switch"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("member_get(o0, a)"), std::string::npos) << r.output;
  absl::StatusOr<program::Program> out = program::LoadProgramFile(in + ".min");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(program::TotalOps(*out), 1);
  // -o and the same answer on a second run (deterministic bytes).
  const std::string second = (dir / "second.bin").string();
  r = testing::RunCommand(testing::ToolBinary() + " minimize " + in + " -o " + second + " --variant=lockfree_slots");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testing::ReadAll(second), testing::ReadAll(in + ".min"));
  std::filesystem::remove_all(dir);
}

TEST(MinimizeCommandLine, NoFindingExitsOne) {
  testing::CommandResult r = testing::RunCommand(
      testing::ToolBinary() + " minimize " + CorpusPath("text/slots_fuzzer/seeds/member_set_inside_exchange_window.txt") +
      " --variant=locked -o /dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no finding"), std::string::npos) << r.output;
}

TEST(MinimizeCommandLine, BrokenInputsExitTwoWithAMessage) {
  const std::filesystem::path dir = testing::MakeTempDir("min-bad");
  const std::string empty = (dir / "empty").string();
  testing::WriteAll(empty, "");
  const std::string truncated = (dir / "truncated.txt").string();
  testing::WriteAll(truncated, "ftfuzz program v1\nthreads 2\nt0 s0: o0.a = fre");
  const std::string garbage = (dir / "garbage.txt").string();
  testing::WriteAll(garbage, "ftfuzz program v1\n\x01\x02 what is this\n");
  const std::string bin = testing::ToolBinary() + " minimize ";
  testing::CommandResult r = testing::RunCommand(bin + truncated);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("line 3"), std::string::npos) << r.output;
  r = testing::RunCommand(bin + garbage);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("line 2"), std::string::npos) << r.output;
  r = testing::RunCommand(bin + (dir / "missing").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = testing::RunCommand(bin + empty + " --variant=no_such_variant");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = testing::RunCommand(bin);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ftf::tools
