// Dict ownership inside a run (docs/cpython-model.md §18): the world says
// which thread owns the globals and builtins dicts, NEW_DICT makes a dict
// owned by the executing thread, and the dict operations make the
// unshared-to-shared transitions of Objects/dictobject.c happen mid-run
// (ensure_shared_on_read when a non-owner first reads it; then the owner's
// resize retires the old keys through QSBR instead of freeing them at once).

#include <gtest/gtest.h>

#include <vector>

#include "audit/audit_scope.h"
#include "core/dict.h"
#include "core/object.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "program/text.h"
#include "runner/world.h"
#include "runner_test_util.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {
namespace {

using testing::ParseOrFail;
using testing::RunAll;

TEST(DictOwnerTest, WorldOwnersGiveEachDictAndItsInitialValuesToTheirThread) {
  sched::FiberExecutor ex;
  World w(ex);
  program::Program p = ParseOrFail("ftfuzz program v1\nthreads 3\nt0: yield\nt1: yield\nt2: yield\n");
  // globals: 2 -> t1; builtins: 3 -> t2.
  p.world.owners = static_cast<uint8_t>(2 | (3 << 3));
  w.Build(p, core::LockedVariant(), /*record=*/false);
  const core::GlobalsEnv& env = w.env();
  EXPECT_EQ(env.globals->ob->ob_tid.Peek(), w.rt().thread(1).tid);
  EXPECT_EQ(env.builtins->ob->ob_tid.Peek(), w.rt().thread(2).tid);
  for (const core::DictPeekedEntry& e : core::DictPeekEntries(env.globals)) {
    EXPECT_EQ(e.value->ob_tid.Peek(), w.rt().thread(1).tid) << "the owner made the initial values";
    EXPECT_EQ(e.value->ob_ref_local.Peek(), 1u) << "the owner's local count holds the dict's reference";
    EXPECT_EQ(e.value->ob_ref_shared.Peek(), 0);
  }
  ASSERT_EQ(RunAll(ex, w, p).outcome, sched::Outcome::kOk);
  EXPECT_FALSE(w.TearDown().has_value());

  // A thread the program does not have (t3 of three) means the main thread;
  // so does 0, and values 5..7 read modulo 5.
  program::Program q = p;
  q.world.owners = static_cast<uint8_t>(4 | (5 << 3));
  w.Build(q, core::LockedVariant(), /*record=*/false);
  EXPECT_EQ(w.env().globals->ob->ob_tid.Peek(), w.rt().thread(kMainThread).tid);
  EXPECT_EQ(w.env().builtins->ob->ob_tid.Peek(), w.rt().thread(kMainThread).tid);
  ASSERT_EQ(RunAll(ex, w, q).outcome, sched::Outcome::kOk);
  EXPECT_FALSE(w.TearDown().has_value());
}

TEST(DictOwnerTest, TheOwnerOfGlobalsResizesThemAndFreesTheKeysAtOnceUntilANonOwnerReads) {
  sched::FiberExecutor ex;
  World w(ex);
  // Globals start with g0..g7 (a 16-slot table, 10 usable); t0 owns them.
  // Its three inserts of b0..b2 fill the table, the third resizes.
  program::Program p = ParseOrFail(
      "ftfuzz program v1\nthreads 2\nbytes F8 F9\n"
      "t0: globals[b0] = fresh\nt0: globals[b1] = fresh\nt0: globals[b2] = fresh\n"
      "t1 s0: r0 = g0\n");
  p.world.owners = 1;
  w.Build(p, core::LockedVariant(), /*record=*/false);
  const core::DictKeys* before = core::DictPeekKeys(w.env().globals);
  ASSERT_EQ(RunAll(ex, w, p).outcome, sched::Outcome::kOk);
  EXPECT_NE(core::DictPeekKeys(w.env().globals), before) << "resized";
  EXPECT_TRUE(core::DictPeekShared(w.env().globals)) << "t1's read (ensure_shared_on_read) came after";
  EXPECT_FALSE(w.TearDown().has_value());
}

// Dict operations on a register, a missing key and a non-dict target, and a
// dict that holds itself: tear-down finds no leak.
TEST(DictOwnerTest, DictOperationsObserveWhatPythonWould) {
  sched::FiberExecutor ex;
  World w(ex);
  const program::Program p = ParseOrFail(
      "ftfuzz program v1\n"
      "t0: r0 = dict()\n"
      "t0: r0[g1] = fresh\n"
      "t0: r1 = r0[g1]\n"
      "t0: r2 = r0[g2]\n"      // KeyError
      "t0: del r0[g1]\n"
      "t0: del r0[g1]\n"       // KeyError
      "t0: r2 = o0[g0]\n"      // TypeError: o0 is no dict
      "t0: r0[g3] = r0\n"      // a cycle through the dict
      "t0 s0: o1.a = r0\n");
  w.Build(p, core::LockedVariant(), /*record=*/true);
  ASSERT_EQ(RunAll(ex, w, p).outcome, sched::Outcome::kOk);
  const std::vector<std::vector<Observation>> obs = w.TakeObservations();
  ASSERT_EQ(obs[0].size(), 9u);
  using R = Observation::Result;
  const R want[] = {R::kOk, R::kOk, R::kOk, R::kKeyError, R::kOk, R::kKeyError, R::kTypeError, R::kOk, R::kOk};
  for (size_t i = 0; i < obs[0].size(); ++i) EXPECT_EQ(obs[0][i].result, want[i]) << "op " << i;
  EXPECT_GT(obs[0][2].loaded_id, 0);
  core::Object* dob = w.object(1)->slot(0).Peek();
  core::Dict* d = w.run_dict(dob);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(dob->ob_tid.Peek(), w.rt().thread(0).tid) << "made by t0";
  EXPECT_FALSE(core::DictPeekShared(d)) << "only its owner used it";
  EXPECT_EQ(w.run_dict(w.object(0)), nullptr);
  EXPECT_FALSE(w.TearDown().has_value()) << "no leak, the cycle included";
}

// The transition mid-run. T0 makes a dict, fills 5 of its 5 usable entries,
// publishes it in o0.a and yields; T1 loads it and reads a key; T0's sixth
// insert resizes. A third fiber (no program thread: it only Peeks) probes
// the dict between those steps.
struct Probe {
  bool shared = false;
  bool owner_has_pending = false;
};

// T0's QSBR queue is T0's own (ThreadState::delayed): the probe, another
// logical thread, reads it as an auditor would, outside TSan's view.
FTF_AUDIT_HOT bool HasPending(const core::ThreadState& ts) { return ts.delayed.size() > ts.delayed_rd; }

std::vector<Probe> RunWithProbe(const core::Variant& variant, bool* clean) {
  sched::FiberExecutor ex;
  World w(ex);
  program::Program p = ParseOrFail(
      "ftfuzz program v1\nthreads 3\n"
      "t0: r0 = dict()\n"
      "t0: r0[g0] = fresh\nt0: r0[g1] = fresh\nt0: r0[g2] = fresh\nt0: r0[g3] = fresh\nt0: r0[g4] = fresh\n"
      "t0 s0: o0.a = r0\n"
      "t0: yield\n"
      "t0: r0[g5] = fresh\n"
      "t0: yield\n"
      "t1 s0: r0 = o0.a\n"
      "t1: r1 = r0[g0]\n"
      "t2: yield\n");
  // T0 to its first yield; probe; T1 to the end; probe; T0 to its second
  // yield; probe; then the rest. A choice at T0's boundaries (pending
  // frees) finds the schedule's end: its bytes are read from there, and
  // F8/F9/FA have bit 0 clear or set: the trailing 00 answers "not due".
  p.schedule.bytes = {0xF8, 0xFA, 0xF9, 0xFA, 0xF8, 0xFA, 0xF8, 0xF8, 0x00, 0x00, 0x00, 0x00};
  w.Build(p, variant, /*record=*/false);
  std::vector<Probe> probes;
  sched::RunResult r = ex.Run(
      3,
      [&](int t) {
        if (t != 2) {
          w.RunThread(t);
          return;
        }
        for (int i = 0; i < 3; ++i) {
          Probe pr;
          // The SHARED bit read through the object (Peek): the probe
          // touches no plain field another logical thread wrote.
          const core::Object* dob = w.object(0)->slot(0).Peek();
          pr.shared = w.run_dict(dob) != nullptr && (dob->ob_gc_bits.Peek() & core::kGcBitsShared) != 0;
          pr.owner_has_pending = HasPending(w.rt().thread(0));
          probes.push_back(pr);
          ex.Yield();
        }
      },
      p.schedule, sched::RunOptions());
  *clean = r.outcome == sched::Outcome::kOk && !w.TearDown().has_value();
  return probes;
}

TEST(DictOwnerTest, ANonOwnerReadSharesTheDictMidRunAndTheOwnersResizeThenRetiresKeysThroughQsbr) {
  bool clean = false;
  const std::vector<Probe> probes = RunWithProbe(core::LockedVariant(), &clean);
  EXPECT_TRUE(clean);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_FALSE(probes[0].shared) << "published, but only its owner has read it";
  EXPECT_FALSE(probes[0].owner_has_pending);
  EXPECT_TRUE(probes[1].shared) << "T1's lookup ran ensure_shared_on_read";
  EXPECT_FALSE(probes[1].owner_has_pending);
  EXPECT_TRUE(probes[2].owner_has_pending) << "the owner's resize of a SHARED dict goes through QSBR";
}

TEST(DictOwnerTest, TheMutantFreesTheSharedDictsKeysAtOnceInTheOwnersResize) {
  const core::Variant* mutant = core::FindVariant("mutant_dict_resize_tests_owner");
  ASSERT_NE(mutant, nullptr);
  bool clean = false;
  const std::vector<Probe> probes = RunWithProbe(*mutant, &clean);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_TRUE(probes[1].shared);
  EXPECT_FALSE(probes[2].owner_has_pending) << "freed at once: the resizer owns the dict";
}

}  // namespace
}  // namespace ftf::runner
