// Finding kinds and names, and the executor's verdicts as findings:
// DEADLOCK (two logical threads locking two PyMutexes in opposite order)
// and LIVELOCK (a thread spinning on a flag nobody sets), each with its
// must-not-detect twin, and their report text and SUMMARY line.

#include "audit/finding.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <set>

#include "audit/report.h"
#include "audit_test_util.h"
#include "core/atomics.h"
#include "core/mutex.h"
#include "core/thread_state.h"
#include "sched/fiber_executor.h"

namespace ftf::audit {
namespace {

using testing::Direct;

TEST(FindingKindTest, NamesAreStableUpperCaseAndRoundTrip) {
  const std::vector<FindingKind>& all = AllFindingKinds();
  ASSERT_EQ(all.size(), static_cast<size_t>(kNumFindingKinds));
  std::set<std::string> seen;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(all[i]), i);
    const std::string name = FindingKindName(all[i]);
    for (char c : name) EXPECT_TRUE(std::isupper(static_cast<unsigned char>(c)) || c == '_') << name;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
    ASSERT_TRUE(ParseFindingKind(name).has_value()) << name;
    EXPECT_EQ(*ParseFindingKind(name), all[i]);
  }
  // The stable names (reports, SUMMARY and SIGNATURE lines, variant.cc).
  EXPECT_EQ(seen, (std::set<std::string>{"DOUBLE_FREE", "OVER_RELEASE", "PREMATURE_FREE", "RESURRECTION",
                                         "USE_AFTER_FREE", "LEAK", "WRONG_VALUE", "BAD_LAYOUT", "DATA_RACE",
                                         "DEADLOCK", "LIVELOCK", "ASAN", "UBSAN", "CRASH", "HANG"}));
  EXPECT_FALSE(ParseFindingKind("double_free").has_value());
  EXPECT_FALSE(ParseFindingKind("INVARIANT").has_value());
}

TEST(FindingKindTest, LocationNeverEmpty) {
  Finding f;
  EXPECT_EQ(f.Location(), "end of run");
  f.operation = "DROP";
  EXPECT_EQ(f.Location(), "DROP");
  f.site = "core/refcount.cc:47";
  EXPECT_EQ(f.Location(), "core/refcount.cc:47 in DROP");
}

// Two threads lock two PyMutexes (kDontDetach: no runtime needed) in the
// given orders.
struct LockProgram {
  core::Mutex a, b;
  std::array<core::ThreadState, 2> ts;
  bool opposite = true;
  void Body(int t) {
    core::Mutex& first = (t == 0 || !opposite) ? a : b;
    core::Mutex& second = (t == 0 || !opposite) ? b : a;
    first.Lock(&ts[t], core::LockFlags::kDontDetach);
    second.Lock(&ts[t], core::LockFlags::kDontDetach);
    second.Unlock();
    first.Unlock();
  }
};

TEST(ExecutorFindingTest, OppositeLockOrderIsADeadlockFinding) {
  sched::FiberExecutor ex;
  LockProgram p;
  // T0 takes `a`; T1 takes `b` and blocks on `a`; T0 blocks on `b`.
  sched::RunResult r = ex.Run(2, [&](int t) { p.Body(t); }, Direct({0x00, 0xF9}));
  std::optional<Finding> f = FindingFromRunResult(r);
  ASSERT_TRUE(f.has_value()) << r.description;
  EXPECT_EQ(f->kind, FindingKind::kDeadlock);
  EXPECT_EQ(f->auditor, "executor");
  EXPECT_EQ(f->step, r.steps);
  EXPECT_EQ(f->thread, 0);
  EXPECT_NE(f->message.find("all 2 unfinished logical threads are blocked"), std::string::npos) << f->message;
  EXPECT_NE(f->details.find("T0: blocked in PyMutex_Lock at audit/finding_test.cc:"), std::string::npos) << f->details;
  EXPECT_NE(f->details.find("T1: blocked in PyMutex_Lock at audit/finding_test.cc:"), std::string::npos) << f->details;

  ReportContext ctx;
  ctx.trace = &ex.trace();
  ctx.input_path = "crash-deadlock";
  const std::string report = BuildReport(*f, ctx);
  EXPECT_EQ(report.rfind("==FTF== ERROR: executor: DEADLOCK at PyMutex_Lock@audit/finding_test.cc:", 0), 0u) << report;
  EXPECT_NE(report.find("== Schedule"), std::string::npos) << report;
  EXPECT_NE(report.find("Reproduce with: ./ftfuzz repro crash-deadlock --variant=locked"), std::string::npos);
  const std::string summary = SummaryLine(*f);
  // Both threads wait at the same place (the Loc of a core call is its
  // caller's line, here this test's second Lock): one entry, deduplicated.
  EXPECT_EQ(summary.rfind("SUMMARY: ftfuzz: DEADLOCK PyMutex_Lock@audit/finding_test.cc:", 0), 0u) << summary;
  EXPECT_EQ(summary.find(' ', 26), std::string::npos) << "one stuck place only: " << summary;
  EXPECT_EQ(summary.find("0x"), std::string::npos) << summary;
  EXPECT_EQ(report.substr(report.size() - summary.size() - 1), summary + "\n");
}

TEST(ExecutorFindingTest, SameLockOrderIsNoFinding) {
  sched::FiberExecutor ex;
  LockProgram p;
  p.opposite = false;
  sched::RunResult r = ex.Run(2, [&](int t) { p.Body(t); }, Direct({0x00, 0xF9}));
  EXPECT_EQ(r.outcome, sched::Outcome::kOk) << r.description;
  EXPECT_FALSE(FindingFromRunResult(r).has_value());
}

// T0 spins reading a flag; T1 sets it only if `setter` is true.
sched::RunResult SpinRun(sched::FiberExecutor& ex, bool setter, uint64_t budget = 2000) {
  core::Cell<int> flag;
  sched::RunOptions o;
  o.progress_budget = budget;
  return ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          while (flag.LoadAcquire() == 0) {
          }
        } else if (setter) {
          flag.StoreRelease(1);
        }
      },
      Direct({0x00}), o);
}

TEST(ExecutorFindingTest, SpinningForeverIsALivelockFinding) {
  sched::FiberExecutor ex;
  sched::RunResult r = SpinRun(ex, /*setter=*/false);
  std::optional<Finding> f = FindingFromRunResult(r);
  ASSERT_TRUE(f.has_value()) << r.description;
  EXPECT_EQ(f->kind, FindingKind::kLivelock);
  EXPECT_EQ(f->thread, 0);
  EXPECT_NE(f->message.find("no progress for"), std::string::npos) << f->message;
  EXPECT_NE(f->details.find("T0: runnable"), std::string::npos) << f->details;
  EXPECT_NE(f->details.find("T1: finished"), std::string::npos) << f->details;
  const std::string summary = SummaryLine(*f);
  EXPECT_EQ(summary.rfind("SUMMARY: ftfuzz: LIVELOCK audit/finding_test.cc:", 0), 0u) << summary;
  EXPECT_EQ(summary.find("0x"), std::string::npos) << summary;
  const std::string report = BuildReport(*f, ReportContext{});
  EXPECT_EQ(report.rfind("==FTF== ERROR: executor: LIVELOCK at audit/finding_test.cc:", 0), 0u) << report;

  // With the trace, the location is the spin loop itself: the same for any
  // budget (the SUMMARY line must not depend on where the budget ran out).
  std::optional<Finding> g = FindingFromRunResult(r, &ex.trace());
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->site, f->site) << "the loop is one load";
  sched::RunResult r2 = SpinRun(ex, /*setter=*/false, /*budget=*/3001);
  std::optional<Finding> h = FindingFromRunResult(r2, &ex.trace());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(SummaryLine(*h), SummaryLine(*g));
}

TEST(ExecutorFindingTest, SpinningUntilTheFlagIsSetIsNoFinding) {
  sched::FiberExecutor ex;
  sched::RunResult r = SpinRun(ex, /*setter=*/true);
  EXPECT_EQ(r.outcome, sched::Outcome::kOk) << r.description;
  EXPECT_FALSE(FindingFromRunResult(r).has_value());
}

}  // namespace
}  // namespace ftf::audit
