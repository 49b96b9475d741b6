// mutant_detection_test.cc - every mutant of the variant registry
// (core/variant.h) is found by a hand-written program of the seed corpus,
// deterministically, and the same program is clean on `locked`.
//
// Each program is a seed's text twin (corpus/text/<target>/seeds/X.txt,
// parsed with program::ParseText through LoadProgramFile); its comment
// explains the interleaving. The schedules preempt threads in the middle of
// an operation by counting core accesses, so a change to the core that adds
// or removes an access on those paths may move them: re-derive the byte
// with `ftf repro X.txt --variant=V` and the trace.
//
// What finds each mutant depends on the build (Variant::expected_finding /
// expected_finding_tsan):
//   * the ledger or the executor, in every build, for the mutants whose
//     accesses are all atomic (RESURRECTION, DEADLOCK, WRONG_VALUE);
//   * without TSan (gcc, asan), the ledger sees the consequence of the racy
//     mutants (USE_AFTER_FREE, WRONG_VALUE); under TSan the race is reported
//     first, and TSan stops the process, so those runs happen in a child
//     process (a death test) that must exit with TSan's status 66;
//   * mutant_class_swap_no_stw has no consequence the ledger can see (the
//     layout rule keeps cached offsets valid, heap types' refcounts are
//     deferred), nor has mutant_unlocked_delete_check (two deletes that both
//     succeed lose an AttributeError, not memory): TSan-only death tests;
//     nor has mutant_qsbr_goal_vs_wr_seq (the keys it frees too early are
//     raw memory, outside the ledger's refcount events; ASan sees it too,
//     as ASAN, which stops the process: the fuzzing.* tests check that),
//     nor has mutant_dict_resize_tests_owner (the same raw keys, freed at
//     once by the dict's owner), nor has mutant_qsbr_grow_without_stop
//     (the QSBR array and the threads' pointers into it are no objects).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "audit/signature.h"
#include "core/variant.h"
#include "runner/runner.h"
#include "runner_test_util.h"


namespace ftf::runner {
namespace {

using testing::kUnderTsan;
using testing::LoadCorpusProgram;
using testing::Replay;

struct MutantCase {
  const char* mutant;
  // Relative to corpus/; or, for a mutant that no seed may find directly
  // (the fuzzer has to build the interleaving), a program under tests/.
  const char* seed;
  // What the Runner reports without TSan; nullptr: nothing (TSan only).
  const char* ledger_kind;
  // Under TSan, a data race is reported before the ledger's finding.
  bool race_first_under_tsan;
};

void PrintTo(const MutantCase& c, std::ostream* os) { *os << c.mutant; }

const MutantCase kCases[] = {
    {"mutant_half_migrated", "text/slots_fuzzer/seeds/member_set_inside_exchange_window.txt", "USE_AFTER_FREE", true},
    {"mutant_cs_fallback_incref", "text/slots_fuzzer/seeds/fallback_reload_vs_exchange.txt", "RESURRECTION", false},
    {"mutant_plain_store", "text/slots_fuzzer/seeds/two_specialized_stores_one_slot.txt", "USE_AFTER_FREE", true},
    {"mutant_unlocked_delete_check", "text/slots_fuzzer/seeds/delete_check_vs_member_set.txt", nullptr, true},
    {"mutant_class_swap_no_stw", "text/slots_fuzzer/seeds/class_swap_between_guard_and_load.txt", nullptr, true},
    {"mutant_trybegin_keeps_first_lock", "text/globals_fuzzer/seeds/trybegin_while_builtins_locked.txt", "DEADLOCK",
     false},
    {"mutant_no_keys_version_guard", "text/globals_fuzzer/seeds/specialized_load_after_entry_reuse.txt", "WRONG_VALUE",
     false},
    {"mutant_unlocked_specializer", "text/globals_fuzzer/seeds/specializer_vs_popitem_reuse.txt", "WRONG_VALUE", true},
    {"mutant_qsbr_goal_vs_wr_seq", "tests/runner/programs/keys_freed_under_lookup.txt", nullptr, true},
    {"mutant_layout_walk_ignores_size", "tests/runner/programs/class_assign_to_subtype_adding_slots.txt", "BAD_LAYOUT",
     false},
    {"mutant_dict_resize_tests_owner", "tests/runner/programs/dict_keys_freed_by_owner_resize.txt", nullptr, true},
    {"mutant_deferred_no_bias", "tests/runner/programs/function_freed_under_tagged_ref.txt", "PREMATURE_FREE", false},
    {"mutant_gc_merge_before_stop", "tests/runner/programs/gc_merge_while_owner_runs.txt", nullptr, true},
    {"mutant_gc_ignores_resurrection", "tests/runner/programs/gc_resurrected_object_cleared.txt", "PREMATURE_FREE",
     false},
    {"mutant_stw_resumes_sections", "tests/runner/programs/stw_requester_resumes_pinned_type_lock.txt", "DEADLOCK",
     false},
    {"mutant_type_lock_inside_stop", "tests/runner/programs/type_lock_handed_off_to_suspended_thread.txt", "DEADLOCK",
     false},
    {"mutant_qsbr_grow_without_stop", "tests/runner/programs/qsbr_array_grown_under_running_thread.txt", nullptr, true},
};

std::string CaseName(const ::testing::TestParamInfo<MutantCase>& info) { return info.param.mutant; }

class MutantDetectionTest : public ::testing::TestWithParam<MutantCase> {
 protected:
  void SetUp() override {
    const std::string seed = GetParam().seed;
    absl::StatusOr<program::Program> p =
        seed.rfind("tests/", 0) == 0 ? program::LoadProgramFile((testing::SourceDir() / seed).string())
                                     : LoadCorpusProgram(seed);
    ASSERT_TRUE(p.ok()) << p.status().message();
    program_ = *p;
  }
  const program::Program& Load() const { return program_; }

  // Why a TSan death test of this case does not apply (nullptr: it does).
  // When it does, the children re-execute this binary with `tsan_options`.
  const char* TsanChildSetUp(const char* tsan_options) const {
#if !defined(FTF_TSAN)
    (void)tsan_options;
    return "ThreadSanitizer build only (tsan preset)";
#else
    if (!GetParam().race_first_under_tsan) return "all accesses of this mutant's bug are atomic";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    setenv("TSAN_OPTIONS", tsan_options, 1);
    return nullptr;
#endif
  }

 private:
  program::Program program_;
};

INSTANTIATE_TEST_SUITE_P(Registry, MutantDetectionTest, ::testing::ValuesIn(kCases), CaseName);

// The ledger (or the executor) reports the mutant's kind, three times at the
// same step on the same thread with the same trace.
TEST_P(MutantDetectionTest, RunnerReportsTheExpectedKindDeterministically) {
  const MutantCase& c = GetParam();
  if (c.ledger_kind == nullptr) GTEST_SKIP() << "no ledger-visible consequence: TSan only (see the death test)";
  if (kUnderTsan && c.race_first_under_tsan) GTEST_SKIP() << "TSan reports the race first: see the death test";
  const program::Program& p = Load();
  Runner runner;
  Replay first = testing::Run(runner, p, c.mutant);
  EXPECT_EQ(first.kind, c.ledger_kind) << "at " << first.location;
  EXPECT_GT(first.step, 0u);
  for (int i = 0; i < 2; ++i) {
    Replay again = testing::Run(runner, p, c.mutant);
    EXPECT_EQ(again.kind, first.kind);
    EXPECT_EQ(again.step, first.step);
    EXPECT_EQ(again.thread, first.thread);
    EXPECT_EQ(again.location, first.location);
    EXPECT_EQ(again.trace_hash, first.trace_hash);
  }
}

// The same program on CPython as it is: nothing to report (under TSan this
// also means no data race: a report would fail the test binary).
TEST_P(MutantDetectionTest, SameProgramIsCleanOnLocked) {
  const program::Program& p = Load();
  Runner runner;
  Replay r = testing::Run(runner, p, "locked");
  EXPECT_EQ(r.kind, "clean") << r.location;
  EXPECT_GT(r.steps, 0u);
}

// variant.cc's expected findings are the kinds these programs produce.
TEST_P(MutantDetectionTest, RegistryNamesTheKindTheProgramProduces) {
  const MutantCase& c = GetParam();
  const core::Variant* v = core::FindVariant(c.mutant);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->is_mutant);
  const core::FindingKind without_tsan =
      c.ledger_kind != nullptr ? *core::ParseFindingKind(c.ledger_kind) : core::FindingKind::kDataRace;
  EXPECT_EQ(core::ExpectedFinding(*v, false), without_tsan);
  EXPECT_EQ(core::ExpectedFinding(*v, true), c.race_first_under_tsan ? core::FindingKind::kDataRace : without_tsan);
}

#if defined(FTF_TSAN)
// Runs the program in this (child) process and exits: 0 if it ran clean,
// 3 if the ledger reported something. TSan's halt_on_error exits 66 first
// if it sees a race.
[[noreturn]] void RunInChild(const program::Program& p, const char* variant) {
  Runner runner;
  Replay r = testing::Run(runner, p, variant);
  std::_Exit(r.kind == "clean" ? 0 : 3);
}
#endif

// Under TSan the racy mutants are found as DATA_RACE. TSan stops the
// process at the report, so the run is a death test (a child process that
// re-executes this binary with TSAN_OPTIONS set, as sched/tsan_fiber_test).
TEST_P(MutantDetectionTest, ThreadSanitizerReportsTheRace) {
  if (const char* skip = TsanChildSetUp("halt_on_error=1:report_signal_unsafe=0")) GTEST_SKIP() << skip;
#if defined(FTF_TSAN)
  const MutantCase& c = GetParam();
  const program::Program& p = Load();
  // A mutant that frees memory under a reader (mutant_qsbr_goal_vs_wr_seq)
  // is reported as a use of freed memory when the read comes after the free.
  EXPECT_EXIT(RunInChild(p, c.mutant), ::testing::ExitedWithCode(66),
              "ThreadSanitizer: (data race|heap-use-after-free)");
  // The control: the same program on `locked` exits cleanly in a child too.
  EXPECT_EXIT(RunInChild(p, "locked"), ::testing::ExitedWithCode(0), "");
#endif
}

#if defined(FTF_TSAN)
// Runs the program four times in one process; exits 0 when every run gave the
// same finding (kind, step, trace), not clean, and 3 otherwise.
[[noreturn]] void RunRepeatedlyInChild(const program::Program& p, const char* variant) {
  Runner runner;
  const Replay first = testing::Run(runner, p, variant);
  bool same = first.kind != "clean";
  for (int i = 1; i < 4; ++i) {
    const Replay again = testing::Run(runner, p, variant);
    same = same && again.kind == first.kind && again.step == first.step && again.trace_hash == first.trace_hash;
  }
  std::_Exit(same ? 0 : 3);
}
#endif

// What TSan reports must not depend on the runs before in the process: every
// run of the same input, the first as the fourth, reports the same race
// (sched::glue::ForgetHistory). Without that, TSan's choice of which of a
// location's four remembered accesses to evict follows the fibers' trace
// positions, which grow from run to run: this mutant's race was reported in
// the first run and missed in the next ones, or the reverse after an
// unrelated allocation moved. TSan's own de-duplication of equal reports is
// off in the child, so that each run can report. Where the bug frees raw
// memory (dict keys) under a reader, the same holds because no raw block is
// reused within a run under TSan (core::Heap::FreeRaw).
TEST_P(MutantDetectionTest, ThreadSanitizerReportsTheRaceInEveryRun) {
  if (const char* skip = TsanChildSetUp(
          "halt_on_error=0:report_signal_unsafe=0:suppress_equal_stacks=0:suppress_equal_addresses=0")) {
    GTEST_SKIP() << skip;
  }
#if defined(FTF_TSAN)
  EXPECT_EXIT(RunRepeatedlyInChild(Load(), GetParam().mutant), ::testing::ExitedWithCode(0), "");
#endif
}

#if defined(FTF_TSAN)
// Exits 0 when the program's finding on `variant` names `cause_prefix`.
[[noreturn]] void CheckCauseInChild(const program::Program& p, const char* variant, const std::string& cause_prefix) {
  Runner runner;
  RunnerOptions opts;
  opts.variant = core::FindVariant(variant);
  const RunOutcome out = runner.Run(p, opts);
  if (!out.finding.has_value()) std::_Exit(4);
  // As every report names it (audit::BuildReport).
  const audit::Signature sig = audit::SignatureOf(*out.finding, &runner.executor().trace(), &runner.ledger());
  const bool named = sig.cause.rfind(cause_prefix, 0) == 0;
  if (!named) std::fprintf(stderr, "cause: %s\n", sig.cause.c_str());
  std::_Exit(named ? 0 : 3);
}
#endif

// Runs tests/runner/programs/FILE once on `variant` in a fresh child process
// (its first run) and expects a race whose cause starts with `cause_prefix`.
void ExpectRaceCauseInFreshChild(const char* file, const char* variant, const char* cause_prefix) {
#if !defined(FTF_TSAN)
  (void)file, (void)variant, (void)cause_prefix;
  GTEST_SKIP() << "ThreadSanitizer build only (tsan preset)";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("TSAN_OPTIONS", "halt_on_error=0:report_signal_unsafe=0", 1);
  absl::StatusOr<program::Program> p =
      program::LoadProgramFile((testing::SourceDir() / "tests/runner/programs" / file).string());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EXIT(CheckCauseInChild(*p, variant, cause_prefix), ::testing::ExitedWithCode(0), "");
#endif
}

// A race on a field that is no Cell (the QSBR array pointer a thread keeps,
// which mutant_qsbr_grow_without_stop rewrites without stopping the world)
// is named by the two accesses TSan saw, here the grow's plain write. The
// run's trace holds only Cell accesses: named from it, the race was "race
// core/brc.cc:92", the exiting thread's last Cell store.
TEST(MutantRaceCause, ARaceOnAPlainFieldIsNamedByTheAccessesTsanSaw) {
  ExpectRaceCauseInFreshChild("qsbr_pointer_race_named_by_tsan.txt", "mutant_qsbr_grow_without_stop",
                              "race core/qsbr_threads.cc:");
}

// The first run of a process reports what its later runs report. A fuzzing
// campaign of mutant_half_migrated found this input; replayed as the first
// input of a fresh process, TSan missed its race until the executor started
// running every fiber once before its first real run (a fiber's first memory
// access in the process, when it came inside a run, hid the race).
TEST(FirstRun, TheFirstRunOfAProcessReportsTheRace) {
  ExpectRaceCauseInFreshChild("half_migrated_race_on_first_run.txt", "mutant_half_migrated", "race core/member.cc:");
}

// Every mutant of the registry has a detection case here.
TEST(MutantRegistryTest, EveryMutantHasADetectionProgram) {
  std::set<std::string> covered;
  for (const MutantCase& c : kCases) covered.insert(c.mutant);
  for (const core::Variant& v : core::AllVariants()) {
    if (!v.is_mutant) continue;
    EXPECT_TRUE(covered.count(v.name)) << v.name << " has no program in mutant_detection_test.cc";
    EXPECT_TRUE(v.expected_finding.has_value()) << v.name;
  }
  EXPECT_EQ(covered.size(), sizeof(kCases) / sizeof(kCases[0]));
}

}  // namespace
}  // namespace ftf::runner
