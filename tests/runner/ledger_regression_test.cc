// Regressions of the auditors themselves: inputs that once produced a false
// report on `locked`, replayed from their text twins, must stay clean.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "program/io.h"
#include "runner/runner.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

using testing::SourceDir;

// _Py_ExplicitMergeRefcount zeroes ob_ref_local before its CAS; a non-owner
// decref of the QUEUED object in that window sees local 0 + shared -1. The
// ledger used to call that OVER_RELEASE (a false report on CPython as it is).
TEST(LedgerRegression, QueuedDecrefDuringExitedOwnerMergeIsNotOverRelease) {
  auto path = SourceDir() / "corpus/text/core_fuzzer/regressions/20261122_queued_decref_during_exited_owner_merge.txt";
  absl::StatusOr<program::Program> p = program::LoadProgramFile(path.string());
  ASSERT_TRUE(p.ok()) << p.status();
  Runner r;
  for (int i = 0; i < 3; ++i) {
    RunOutcome out = r.Run(*p, RunnerOptions{});
    EXPECT_FALSE(out.finding.has_value()) << out.finding->message;
    EXPECT_EQ(out.exec.outcome, sched::Outcome::kOk);
  }
}

// A value published with a relaxed store and try-increfed by LOAD_GLOBAL: the
// model heap's chunk allocation and plain header zeroing used to make TSan
// report a race on `locked` (CPython's allocator writes no plain zeros). Under
// the tsan preset a regression aborts this test with a TSan report.
TEST(LedgerRegression, FreshObjectPublishedRelaxedIsNotARace) {
  auto path =
      SourceDir() / "corpus/text/core_fuzzer/regressions/20261122_fresh_object_published_relaxed_vs_chunk_allocation.txt";
  absl::StatusOr<program::Program> p = program::LoadProgramFile(path.string());
  ASSERT_TRUE(p.ok()) << p.status();
  Runner r;
  RunOutcome out = r.Run(*p, RunnerOptions{});
  EXPECT_FALSE(out.finding.has_value()) << out.finding->message;
}

}  // namespace
}  // namespace ftf::runner
