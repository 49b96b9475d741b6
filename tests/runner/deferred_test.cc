// Deferred reference counting inside a run (core/deferred.h,
// core/stackref.h): a specialized LOAD_GLOBAL of a function leaves a tagged
// stack reference (no count) in a register, another thread drops the last
// counted reference in the middle of the run, the function survives (the
// _Py_REF_DEFERRED bias), the tagged reference is converted when stored, and
// the tear-down's collector frees it. On mutant_deferred_no_bias the same
// program frees the function under the register.

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "audit/audit_scope.h"
#include "audit/ledger.h"
#include "core/deferred.h"
#include "core/object.h"
#include "core/stackref.h"
#include "program/text.h"
#include "runner/runner.h"
#include "runner/world.h"
#include "runner_test_util.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {
namespace {

program::Program LoadProgram() {
  absl::StatusOr<program::Program> p = program::LoadProgramFile(
      (testing::SourceDir() / "tests/runner/programs/function_freed_under_tagged_ref.txt").string());
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : program::Program();
}

// What the ledger recorded for object `id`, in order.
std::vector<audit::LedgerEvent> EventsOf(const audit::RefLedger& ledger, uint64_t id) {
  std::vector<audit::LedgerEvent> out;
  for (const audit::LedgerEvent& e : ledger.events()) {
    if (e.object == id) out.push_back(e);
  }
  return out;
}

// What T1 sees of T0's register r0 and the function it points to. T1
// reads another logical thread's state, as an auditor would: outside TSan's
// view (fiber switches carry no happens-before edge for such a probe).
struct RegProbe {
  core::StackRef ref;
  int64_t gc_refcount = -1;
  bool live = false;
};
FTF_AUDIT_HOT RegProbe ProbeRegister(const World& w, int t, int r) {
  RegProbe p;
  p.ref = w.reg_ref(t, r);
  if (core::Object* fn = core::StackRefBorrow(p.ref)) {
    p.gc_refcount = core::GcRefcount(fn);
    p.live = core::IsBlockLive(fn);
  }
  return p;
}

TEST(DeferredRunTest, TaggedReferenceOutlivesTheLastCountedOneMidRun) {
  const program::Program p = LoadProgram();
  sched::FiberExecutor ex;
  World w(ex);
  w.Build(p, core::LockedVariant(), /*record=*/true);
  // Seen from T1 right after its last operation, while T0 waits at its
  // yield between its loads and its store (the schedule F9 F8 F9 F8).
  core::StackRef r0_mid;
  int64_t gc_refcount_mid = -1;
  bool live_mid = false;
  const sched::RunResult r = ex.Run(
      2,
      [&](int t) {
        w.RunThread(t);
        if (t == 1) {
          const RegProbe probe = ProbeRegister(w, 0, 0);
          r0_mid = probe.ref;
          gc_refcount_mid = probe.gc_refcount;
          live_mid = probe.live;
        }
      },
      p.schedule, sched::RunOptions());
  ASSERT_EQ(r.outcome, sched::Outcome::kOk) << r.description;

  const std::vector<std::vector<Observation>> obs = w.TakeObservations();
  ASSERT_EQ(obs.size(), 2u);
  ASSERT_EQ(obs[0].size(), 5u);
  // T0's second load ran LOAD_GLOBAL_MODULE and got T1's function.
  EXPECT_FALSE(obs[0][0].specialized);
  EXPECT_TRUE(obs[0][1].specialized);
  const int64_t fn_id = obs[0][1].loaded_id;
  ASSERT_GT(fn_id, 0);
  EXPECT_EQ(obs[0][0].loaded_id, fn_id);
  // Mid-run: the global is gone, so no counted reference is left, yet the
  // register still points to the live function, with a tagged reference.
  EXPECT_TRUE(core::StackRefIsDeferred(r0_mid));
  EXPECT_FALSE(core::StackRefIsNull(r0_mid));
  EXPECT_EQ(static_cast<int64_t>(core::ObjectId(core::StackRefBorrow(r0_mid))), fn_id);
  EXPECT_EQ(gc_refcount_mid, 0);
  EXPECT_TRUE(live_mid);
  // The store converted the tagged reference into a counted one, and the
  // load reads the function back.
  EXPECT_EQ(obs[0][3].result, Observation::Result::kOk);
  EXPECT_EQ(obs[0][4].loaded_id, fn_id);

  EXPECT_FALSE(w.TearDown().has_value()) << "no leak, no false report";
  // The ledger's history: the specialized load took no count (no
  // increment by T0 in its op#1), T1's delete dropped the last counted
  // reference while T0 still had its store ahead, and only the tear-down's
  // collector (the main thread) freed the function.
  const audit::RefLedger& ledger = w.ledger();
  const std::vector<audit::LedgerEvent> ev = EventsOf(ledger, static_cast<uint64_t>(fn_id));
  auto is_incref = [](core::RefOp op) {
    return op == core::RefOp::kIncrefLocal || op == core::RefOp::kIncrefShared ||
           op == core::RefOp::kNewRefWithLock || op == core::RefOp::kTryIncrefFastOk ||
           op == core::RefOp::kTryIncrefSharedOk;
  };
  uint64_t t1_delete_seq = 0;
  uint64_t t0_store_seq = 0;
  uint64_t clear_seq = 0;
  for (const audit::LedgerEvent& e : ev) {
    if (e.kind != audit::LedgerEventKind::kRef) continue;
    if (e.thread == 0 && e.op_index == 1) {
      EXPECT_FALSE(is_incref(e.op)) << core::RefOpName(e.op);
    }
    if (e.thread == 1 && e.op_index == 2 && t1_delete_seq == 0) t1_delete_seq = e.seq;
    if (e.thread == 0 && e.op_index == 3 && is_incref(e.op) && t0_store_seq == 0) t0_store_seq = e.seq;
    if (e.op == core::RefOp::kClearDeferred) {
      clear_seq = e.seq;
      EXPECT_EQ(e.thread, kMainThread);
    }
  }
  ASSERT_NE(t1_delete_seq, 0u);
  ASSERT_NE(t0_store_seq, 0u);
  EXPECT_LT(t1_delete_seq, t0_store_seq) << "the delete happened between T0's load and its store";
  EXPECT_GT(clear_seq, t0_store_seq);
  const audit::ObjectLife* life = ledger.Life(static_cast<uint64_t>(fn_id));
  ASSERT_NE(life, nullptr);
  EXPECT_EQ(life->state, audit::LifeState::kFreed);
  EXPECT_EQ(life->free_thread, kMainThread);
}

TEST(DeferredRunTest, WithoutTheBiasTheFunctionIsFreedUnderTheRegister) {
  const program::Program p = LoadProgram();
  Runner runner;
  testing::Replay locked = testing::Run(runner, p, "locked");
  EXPECT_EQ(locked.kind, "clean");
  testing::Replay mutant = testing::Run(runner, p, "mutant_deferred_no_bias");
  EXPECT_EQ(mutant.kind, "PREMATURE_FREE");
}

TEST(DeferredRunTest, DeferredGlobalsSelectsFunctionValuesAtSetUp) {
  program::Program p = *program::ParseText("ftfuzz program v1\nt0 s0: r0 = g1\nt0 s0: r0 = g1\nt0:    del r0\n");
  p.world.deferred_globals = 0x02;  // g1 only
  sched::FiberExecutor ex;
  World w(ex);
  w.Build(p, core::LockedVariant(), /*record=*/true);
  const core::Dict* g = w.env().globals;
  ASSERT_NE(g, nullptr);
  const sched::RunResult r = ex.Run(1, [&](int t) { w.RunThread(t); }, p.schedule, sched::RunOptions());
  ASSERT_EQ(r.outcome, sched::Outcome::kOk) << r.description;
  const auto obs = w.TakeObservations();
  ASSERT_EQ(obs[0].size(), 3u);
  EXPECT_TRUE(obs[0][1].specialized);
  const audit::ObjectLife* life = w.ledger().Life(static_cast<uint64_t>(obs[0][1].loaded_id));
  ASSERT_NE(life, nullptr);
  EXPECT_TRUE(life->deferred);
  EXPECT_FALSE(life->type_object);
  EXPECT_FALSE(w.TearDown().has_value());
  // g0 stays an ordinary object.
  program::Program q = p;
  q.threads[0].ops[0].name = 0;
  q.threads[0].ops[1].name = 0;
  w.Build(q, core::LockedVariant(), true);
  ASSERT_EQ(ex.Run(1, [&](int t) { w.RunThread(t); }, q.schedule, sched::RunOptions()).outcome, sched::Outcome::kOk);
  const auto obs2 = w.TakeObservations();
  const audit::ObjectLife* life0 = w.ledger().Life(static_cast<uint64_t>(obs2[0][1].loaded_id));
  ASSERT_NE(life0, nullptr);
  EXPECT_FALSE(life0->deferred);
  EXPECT_FALSE(w.TearDown().has_value());
}

}  // namespace
}  // namespace ftf::runner
