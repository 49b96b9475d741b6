// The cyclic collector inside fuzz runs (core/gc.h): a GC_COLLECT operation
// stops the world in the middle of a program run by the fiber executor,
// merges queued refcounts on their owners' behalf, frees unreachable cycles,
// calls finalizers once, and keeps what a finalizer resurrected.

#include <gtest/gtest.h>

#include <string>

#include "audit/ledger.h"
#include "core/finding_kind.h"
#include "program/text.h"
#include "runner/replay.h"
#include "runner/runner.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

program::Program Parse(const std::string& text) {
  absl::StatusOr<program::Program> p = program::ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

RunOutcome RunLocked(Runner& runner, const program::Program& p, const char* variant = "locked") {
  RunnerOptions opts;
  opts.variant = core::FindVariant(variant);
  opts.record_observations = true;
  return runner.Run(p, opts);
}

// The ledger event of `kind` for object `id`, or nullptr.
const audit::LedgerEvent* EventOf(const audit::RefLedger& ledger, uint64_t id, audit::LedgerEventKind kind) {
  for (const audit::LedgerEvent& e : ledger.events()) {
    if (e.object == id && e.kind == kind) return &e;
  }
  return nullptr;
}

// The id of the object created by operation `op` of thread `t`.
uint64_t CreatedBy(const audit::RefLedger& ledger, int t, int op) {
  for (const audit::LedgerEvent& e : ledger.events()) {
    if (e.kind == audit::LedgerEventKind::kCreated && e.thread == t && e.op_index == op) return e.object;
  }
  return 0;
}

// A self-referencing T0 dropped by its thread is garbage only the collector
// can free: T0 does it at its `gc_collect` while T1 is still running (it
// has operations after the collection), so the world really stops mid-run.
constexpr char kCycle[] = R"(ftfuzz program v1
threads 2
schedule direct
bytes 01 00 00 00 00 00
t0:    r0 = T0()
t0 s0: r0.a = r0
t0:    del r0
t1 s0: r1 = o1.a
t0:    gc_collect
t1 s0: r2 = o1.b
t1:    quiescent
t1:    yield
t0:    r1 = T1()
)";

TEST(GcTest, AnUnreachableCycleIsFreedMidRunByTheCollectingThread) {
  Runner runner;
  const program::Program p = Parse(kCycle);
  RunOutcome out = RunLocked(runner, p);
  ASSERT_FALSE(out.finding.has_value()) << out.finding->message;
  const audit::RefLedger& ledger = runner.ledger();
  const uint64_t cycle = CreatedBy(ledger, 0, 0);
  ASSERT_NE(cycle, 0u);
  const audit::LedgerEvent* dealloc = EventOf(ledger, cycle, audit::LedgerEventKind::kDeallocStart);
  ASSERT_NE(dealloc, nullptr);
  EXPECT_EQ(dealloc->thread, 0);
  EXPECT_EQ(dealloc->op_index, 3) << "freed by the gc_collect operation, not at tear-down";
  // T1 ran operations after the collection: the run went on.
  ASSERT_EQ(out.observations.size(), 2u);
  EXPECT_EQ(out.observations[1].size(), 4u);
  // Without the collection the cycle lives until tear-down.
  const std::string no_gc = [] {
    std::string s = kCycle;
    s.replace(s.find("t0:    gc_collect"), 17, "t0:    yield     ");
    return s;
  }();
  Runner runner2;
  RunOutcome out2 = RunLocked(runner2, Parse(no_gc));
  ASSERT_FALSE(out2.finding.has_value());
  const audit::LedgerEvent* late = EventOf(runner2.ledger(), CreatedBy(runner2.ledger(), 0, 0),
                                           audit::LedgerEventKind::kDeallocStart);
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->op_index, -1) << "freed at tear-down";
}

// o0's initial slot values belong to the main thread, which is idle for the
// whole program: a program thread's drop of the last reference queues them to
// the main thread (biased refcounting), where nothing would merge them until
// tear-down. The collector merges that queue on main's behalf and frees the
// value during the collection.
TEST(GcTest, TheCollectorMergesAnotherThreadsQueueAndFreesWhatReachedZero) {
  Runner runner;
  const program::Program p = Parse(R"(ftfuzz program v1
t0 s0: o0.a = None
t0:    gc_collect
t0:    yield
)");
  RunOutcome out = RunLocked(runner, p);
  ASSERT_FALSE(out.finding.has_value()) << out.finding->message;
  const audit::RefLedger& ledger = runner.ledger();
  // The value o0.a held: created by the main thread (thread index 8) before the run.
  uint64_t value = 0;
  for (const audit::LedgerEvent& e : ledger.events()) {
    if (e.kind == audit::LedgerEventKind::kBrcQueued && e.thread == 0) value = e.object;
  }
  ASSERT_NE(value, 0u) << "the store must queue the old value to its owner";
  const audit::LedgerEvent* dealloc = EventOf(ledger, value, audit::LedgerEventKind::kDeallocStart);
  ASSERT_NE(dealloc, nullptr);
  EXPECT_EQ(dealloc->thread, 0);
  EXPECT_EQ(dealloc->op_index, 1) << "merged and freed by the collection";
}

// T0 has a finalizer that stores the object into g7. The collector finds the
// dropped cycle unreachable, calls __del__ (world running), finds it
// resurrected (handle_resurrected_objects) and keeps it whole: loading g7
// gives the object, and its slot still holds itself. Dropping g7 makes it
// garbage again; the second collection frees it without calling __del__
// again (PEP 442: _PyGC_FINALIZED), so g7 stays absent.
constexpr char kResurrect[] = R"(ftfuzz program v1
type T0 (a, b) __del__
t0:    r0 = T0()
t0 s0: r0.a = r0
t0:    del r0
t0:    gc_collect
t0 s0: r1 = g7
t0 s1: r2 = r1.a
t0:    del r1
t0:    del r2
t0:    del globals[g7]
t0:    gc_collect
t0 s2: r3 = g7
)";

TEST(GcTest, AFinalizerResurrectsTheObjectOnceAndTheNextCollectionFreesIt) {
  Runner runner;
  RunOutcome out = RunLocked(runner, Parse(kResurrect));
  ASSERT_FALSE(out.finding.has_value()) << out.finding->message;
  const audit::RefLedger& ledger = runner.ledger();
  const uint64_t obj = CreatedBy(ledger, 0, 0);
  ASSERT_NE(obj, 0u);
  const auto& obs = out.observations[0];
  ASSERT_EQ(obs.size(), 11u);
  EXPECT_EQ(obs[4].loaded_id, static_cast<int64_t>(obj)) << "g7 = self in __del__";
  EXPECT_EQ(obs[5].result, Observation::Result::kOk);
  EXPECT_EQ(obs[5].loaded_id, static_cast<int64_t>(obj)) << "a resurrected object keeps its slots";
  EXPECT_EQ(obs[10].result, Observation::Result::kNameError) << "__del__ ran once: g7 was not stored again";
  const audit::LedgerEvent* dealloc = EventOf(ledger, obj, audit::LedgerEventKind::kDeallocStart);
  ASSERT_NE(dealloc, nullptr);
  EXPECT_EQ(dealloc->op_index, 9) << "freed by the second collection";
}

TEST(GcTest, ACollectorThatIgnoresResurrectionClearsALiveObject) {
  Replayed locked = ReplayText(kResurrect, "locked");
  ASSERT_TRUE(locked.error.empty()) << locked.error;
  EXPECT_FALSE(locked.kind.has_value());
  Replayed mutant = ReplayText(kResurrect, "mutant_gc_ignores_resurrection");
  ASSERT_TRUE(mutant.error.empty()) << mutant.error;
  ASSERT_TRUE(mutant.kind.has_value());
  EXPECT_EQ(*mutant.kind, core::FindingKind::kPrematureFree);
}

// A type without a finalizer: the same cycle is simply freed by the first
// collection, and g7 is never stored.
TEST(GcTest, WithoutAFinalizerTheCycleIsFreedAtTheFirstCollection) {
  std::string text = kResurrect;
  text.replace(text.find(" __del__"), 8, "");
  Runner runner;
  RunOutcome out = RunLocked(runner, Parse(text));
  ASSERT_FALSE(out.finding.has_value()) << out.finding->message;
  const uint64_t obj = CreatedBy(runner.ledger(), 0, 0);
  const audit::LedgerEvent* dealloc = EventOf(runner.ledger(), obj, audit::LedgerEventKind::kDeallocStart);
  ASSERT_NE(dealloc, nullptr);
  EXPECT_EQ(dealloc->op_index, 3);
  EXPECT_NE(out.observations[0][4].loaded_id, static_cast<int64_t>(obj)) << "g7 keeps its initial value";
}

// Found by fuzzing `locked` while the guard was missing: T0's and T1's
// collections overlapped (the first one's finalizer phase runs with the
// world started), the second's update_refs took ob_tid of an object on the
// first one's worklist as its gc_refs, and the first collection lost that
// object: a LEAK. gc_collect_main lets one collection run at a time
// (gcstate->collecting); the other gc.collect() returns at once.
constexpr char kTwoCollectors[] = R"(ftfuzz program v1
threads 4
schedule direct
bytes 01 01 00 00 01 00
object o0 = T0(a=fresh, b=empty)
object o1 = T1(a=empty, b=empty)
object o2 = T2(b=None, a=fresh)
object o3 = T3(a=fresh, b=empty, c=None)
t0:    r0 = T0()
t0 s0: r0.a = r0
t0 s1: r0.b = o1
t0:    del r0
t0:    gc_collect
t0 s0: r1 = g7
t1:    r0 = T0()
t1 s0: o0.b = fresh
t1 s0: r0.a = r0
t1 s1: r0.b = o1
t1:    del r0
t1:    gc_collect
t1 s0: r1 = g7
t2:    type_modified(T1)
t2:    member_set(o0, b, r3)
t2:    r3 = T2()
t2 s3: r3.c = move r3
t2:    o3.__class__ = T2
t2:    del builtins[b2]
t3 s0: r0 = g2
t3 s0: r0 = g2
t3:    quiescent
t3 s0: r0 = g2
)";

TEST(GcTest, TwoThreadsCollectingAtOnceRunOneCollectionAtATime) {
  Replayed r = ReplayText(kTwoCollectors, "locked");
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_FALSE(r.kind.has_value()) << core::FindingKindName(*r.kind) << " " << r.cause;
}

}  // namespace
}  // namespace ftf::runner
