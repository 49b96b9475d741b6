// trace_identity_test.cc - a run that ends in a finding keeps its trace
// hash, and the determinism check of a finding fails when the replay's
// interleaving differs.
//
// An auditor's finding is thrown inside a logical thread and rethrown from
// the executor's Run; the Runner must still report the run's steps and trace
// hash, or every determinism check of a finding compares 0 with 0.

#include <gtest/gtest.h>

#include <string>

#include "audit/determinism.h"
#include "core/variant.h"
#include "runner/runner.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

using testing::LoadCorpusProgram;

// A mutant whose finding is the ledger's (thrown inside a thread) in every
// build: every access in its window is atomic, so TSan reports nothing.
constexpr char kMutant[] = "mutant_cs_fallback_incref";
constexpr char kSeed[] = "text/slots_fuzzer/seeds/fallback_reload_vs_exchange.txt";

RunOutcome RunOn(Runner& r, const program::Program& p) {
  RunnerOptions opts;
  opts.variant = core::FindVariant(kMutant);
  opts.exec.full_trace = true;
  return r.Run(p, opts);
}

TEST(TraceIdentityTest, AFindingRunHasItsRealTraceHash) {
  absl::StatusOr<program::Program> p = LoadCorpusProgram(kSeed);
  ASSERT_TRUE(p.ok()) << p.status().message();
  Runner r;
  RunOutcome out = RunOn(r, *p);
  ASSERT_TRUE(out.finding.has_value());
  EXPECT_EQ(audit::FindingKindName(out.finding->kind), std::string("RESURRECTION"));
  EXPECT_NE(out.exec.trace_hash, 0u);
  EXPECT_EQ(out.exec.trace_hash, r.executor().trace().hash());
  EXPECT_GE(out.exec.steps, out.finding->step);
  EXPECT_GT(out.exec.steps, 0u);
}

// Replays with one schedule byte changed (16 values for each): whenever the replay's trace differs
// from the first run's, the determinism check must say so, even when the
// finding (kind, step, thread) is the same. At least one perturbation must
// change the trace of a run that still ends in a finding, or the check of a
// finding's trace is not being exercised.
TEST(TraceIdentityTest, PerturbedReplayFailsTheDeterminismCheck) {
  absl::StatusOr<program::Program> p = LoadCorpusProgram(kSeed);
  ASSERT_TRUE(p.ok()) << p.status().message();
  Runner r;
  const RunOutcome first = RunOn(r, *p);
  ASSERT_TRUE(first.finding.has_value());

  audit::DeterminismCheck same = audit::CheckDeterminism(*first.finding, first.exec.trace_hash, [&] {
    RunOutcome again = RunOn(r, *p);
    return audit::Rerun{again.finding, again.exec.trace_hash};
  });
  EXPECT_TRUE(same.deterministic) << same.message;

  int changed_traces = 0;
  for (size_t i = 0; i < p->schedule.bytes.size() * 16; ++i) {
    program::Program q = *p;
    q.schedule.bytes[i / 16] ^= static_cast<uint8_t>(1 + 17 * (i % 16));
    uint64_t replay_hash = 0;
    bool replay_found = false;
    audit::DeterminismCheck c = audit::CheckDeterminism(*first.finding, first.exec.trace_hash, [&] {
      RunOutcome again = RunOn(r, q);
      replay_hash = again.exec.trace_hash;
      replay_found = again.finding.has_value();
      return audit::Rerun{again.finding, again.exec.trace_hash};
    });
    if (replay_hash == first.exec.trace_hash) continue;
    if (replay_found) ++changed_traces;
    EXPECT_FALSE(c.deterministic) << "schedule byte " << i / 16 << ": " << c.message;
    EXPECT_NE(c.message.find("NOT DETERMINISTIC"), std::string::npos) << c.message;
  }
  EXPECT_GT(changed_traces, 0) << "no perturbation changed the trace of a run that still ends in a finding";
}

}  // namespace
}  // namespace ftf::runner
