// RefLedger: one must-detect and one must-not-detect test per refcount
// finding kind (DOUBLE_FREE, OVER_RELEASE, PREMATURE_FREE, RESURRECTION,
// USE_AFTER_FREE, LEAK). Each must-detect test injects exactly one fault:
// a core Faults switch (runtime.h) or a deliberate wrong call sequence
// against the core API; its must-not-detect twin runs the same scenario
// correctly. Threads are interleaved by hand on one OS thread; the fiber
// runs are in ledger_fiber_test.cc.

#include "audit/ledger.h"

#include <gtest/gtest.h>

#include "audit/access_check.h"
#include "audit_test_util.h"
#include "core/brc.h"
#include "core/heap.h"
#include "core/qsbr.h"

namespace ftf::audit {
namespace {

using core::Decref;
using core::Incref;
using core::NewObject;
using core::Object;
using testing::DropRegister;
using testing::LedgerTest;

// --- DOUBLE_FREE ------------------------------------------------------------

TEST_F(LedgerTest, DoubleFree_DeallocOfAFreedObject) {
  Object* o = NewObject(T(0), 0);
  const uint64_t id = core::ObjectId(o);
  Decref(T(0), o);  // the last reference: freed (owner fast path)
  // Wrong call sequence: deallocate it again.
  std::optional<Finding> f = Catch([&] { core::Dealloc(T(0), o); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kDoubleFree);
  EXPECT_EQ(f->main_object(), id);
  EXPECT_EQ(f->thread, 0);
  EXPECT_NE(f->message.find("already freed"), std::string::npos) << f->message;
  EXPECT_EQ(ledger_.finding()->kind, FindingKind::kDoubleFree);
}

TEST_F(LedgerTest, DoubleFree_BlockFreedTwice) {
  Object* o = NewObject(T(1), 0);
  Decref(T(1), o);
  // Wrong call sequence: return the block to its heap again. The ledger
  // fires before the heap's own fatal check.
  std::optional<Finding> f = Catch([&] { core::FreeObjectBlock(T(1), o); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kDoubleFree);
  EXPECT_NE(f->message.find("freed twice"), std::string::npos) << f->message;
}

TEST_F(LedgerTest, DoubleFree_NotReportedForOneDecrefPerReference) {
  Object* o = NewObject(T(0), 0);
  const uint64_t id = core::ObjectId(o);
  Incref(T(1), o);
  Decref(T(1), o);
  EXPECT_FALSE(Catch([&] { Decref(T(0), o); }).has_value());
  const ObjectLife* life = ledger_.Life(id);
  ASSERT_NE(life, nullptr);
  EXPECT_EQ(life->state, LifeState::kFreed);
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding()) << ledger_.finding()->message;
}

// --- OVER_RELEASE -----------------------------------------------------------

// T0 owns o and holds the only reference; T1 drops three references it
// never had. The first is queued to T0 (count 0: INV-RC-1), the second
// takes the QUEUED shared count to -1 (true count 0), the third to -2:
// the true count local + (shared >> 2) would be -1.
TEST_F(LedgerTest, OverRelease_NonOwnerDecrefsMoreThanItHolds) {
  Object* o = NewObject(T(0), 0);
  holders_.regs[0][0] = o;
  ASSERT_FALSE(Catch([&] { Decref(T(1), o); }).has_value());
  ASSERT_FALSE(Catch([&] { Decref(T(1), o); }).has_value());
  std::optional<Finding> f = Catch([&] { Decref(T(1), o); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kOverRelease);
  EXPECT_EQ(f->thread, 1);
  EXPECT_NE(f->message.find("from 0 to -1"), std::string::npos) << f->message;
  holders_.regs[0][0] = nullptr;
}

TEST_F(LedgerTest, OverRelease_NotReportedWhenEveryDecrefHasItsIncref) {
  Object* o = NewObject(T(0), 0);
  holders_.regs[0][0] = o;
  for (int i = 0; i < 3; ++i) {
    Incref(T(1), o);
    holders_.regs[1][i] = o;
  }
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(Catch([&] { DropRegister(holders_, T(1), i); }).has_value());
  ASSERT_FALSE(Catch([&] { DropRegister(holders_, T(0), 0); }).has_value());
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding());
}

TEST_F(LedgerTest, OverRelease_DecrefOfAnObjectBeingDeallocated) {
  // o's slot holds o itself without a reference of its own (a missing
  // Py_NewRef): clearing the slot in dealloc drops a reference too many.
  ledger_.set_options(LedgerOptions{true, /*check_holders=*/false, true});
  Object* o = NewObject(T(0), 1);
  o->slot(0).StorePlain(o);
  std::optional<Finding> f = Catch([&] { Decref(T(0), o); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kOverRelease);
  EXPECT_NE(f->message.find("being deallocated"), std::string::npos) << f->message;
}

// --- PREMATURE_FREE ---------------------------------------------------------

// A store that forgets Py_NewRef: X.a = o without a reference of its own.
// Dropping the register's reference frees o while X's slot still holds it.
TEST_F(LedgerTest, PrematureFree_BorrowedStoreIntoASlot) {
  Object* x = NewObject(T(0), 1);
  Object* o = NewObject(T(0), 0);
  holders_.regs[0][0] = x;
  holders_.regs[0][1] = o;
  x->slot(0).StoreRelease(o);  // the wrong call sequence: no Incref first
  std::optional<Finding> f = Catch([&] { DropRegister(holders_, T(0), 1); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kPrematureFree);
  EXPECT_EQ(f->main_object(), core::ObjectId(o));
  EXPECT_NE(f->details.find("held by slot 0 of obj#" + std::to_string(core::ObjectId(x))), std::string::npos)
      << f->details;
  x->slot(0).Poke(nullptr);
}

TEST_F(LedgerTest, PrematureFree_NotReportedForAProperStore) {
  Object* x = NewObject(T(0), 1);
  Object* o = NewObject(T(0), 0);
  holders_.regs[0][0] = x;
  holders_.regs[0][1] = o;
  Incref(T(0), o);
  x->slot(0).StoreRelease(o);
  ASSERT_FALSE(Catch([&] { DropRegister(holders_, T(0), 1); }).has_value());
  EXPECT_EQ(ledger_.HoldersOf(core::ObjectId(o)).size(), 1u);
  ASSERT_FALSE(Catch([&] { DropRegister(holders_, T(0), 0); }).has_value());  // frees x, then o
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding());
}

TEST_F(LedgerTest, PrematureFree_DeallocWithANonZeroRefcount) {
  Object* o = NewObject(T(0), 0);
  Incref(T(1), o);  // T1's reference lives in the shared count
  std::optional<Finding> f = Catch([&] { core::Dealloc(T(0), o); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kPrematureFree);
  EXPECT_NE(f->message.find("refcount is 2"), std::string::npos) << f->message;
}

// --- RESURRECTION -----------------------------------------------------------

// o dies by a merge (MERGED, count 0) on T1; a stale reader on T1 then
// tries TryIncRefShared on the freed block. Correctly it refuses exactly
// MERGED; Faults::tryincref_shared_allows_merged lets it bring o back.
class ResurrectionTest : public LedgerTest {
 protected:
  Object* KillByMerge() {
    Object* o = NewObject(T(0), 0);
    Incref(T(1), o);  // shared 1
    Decref(T(0), o);  // owner drops: local 0, merged with count 1
    Decref(T(1), o);  // MERGED count 0: T1 deallocates
    return o;
  }
};

TEST_F(ResurrectionTest, TryIncrefSharedOnADeadObjectWithTheFault) {
  Object* o = KillByMerge();
  ASSERT_EQ(o->ob_ref_shared.Peek(), core::kRefMerged);
  rt_.faults.tryincref_shared_allows_merged = true;
  std::optional<Finding> f = Catch([&] { (void)core::TryIncRefShared(T(1), o); });
  rt_.faults.tryincref_shared_allows_merged = false;
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kResurrection);
  EXPECT_NE(f->message.find("try-incref-shared-ok"), std::string::npos) << f->message;
}

TEST_F(ResurrectionTest, TryIncrefSharedOnADeadObjectRefusesCorrectly) {
  Object* o = KillByMerge();
  bool got = true;
  EXPECT_FALSE(Catch([&] { got = core::TryIncRefShared(T(1), o); }).has_value());
  EXPECT_FALSE(got);
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding());
}

TEST_F(ResurrectionTest, PlainIncrefOfAFreedObject) {
  Object* o = KillByMerge();
  std::optional<Finding> f = Catch([&] { Incref(T(2), o); });  // wrong call sequence
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kResurrection);
  EXPECT_EQ(f->thread, 2);
}

// --- USE_AFTER_FREE ---------------------------------------------------------

TEST_F(LedgerTest, UseAfterFree_DecrefOfAFreedObject) {
  Object* o = NewObject(T(0), 0);
  Decref(T(0), o);
  std::optional<Finding> f = Catch([&] { Decref(T(1), o); });  // wrong call sequence
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kUseAfterFree);
  EXPECT_NE(f->message.find("whose block was freed by T0"), std::string::npos) << f->message;
}

TEST_F(LedgerTest, UseAfterFree_NotReportedForStaleReadsOfTheHeader) {
  Object* o = NewObject(T(0), 0);
  Object* reused = nullptr;
  Decref(T(0), o);
  // What lock-free readers do with a stale pointer: read the refcount
  // fields of the dead block and fail (docs/cpython-model.md §5).
  EXPECT_FALSE(Catch([&] { EXPECT_FALSE(core::TryIncref(T(1), o)); }).has_value());
  // ABA: the block is reused for a new object, which is alive.
  reused = NewObject(T(0), 0);
  EXPECT_EQ(reused, o);
  EXPECT_FALSE(Catch([&] { Decref(T(0), reused); }).has_value());
  EXPECT_FALSE(ledger_.has_finding());
}

// A scheduling hook that plays "another thread" once, at the first store to
// `addr`, and tells the AccessCheckingHook which thread is running.
class InterleaveHook : public core::SchedHook {
 public:
  void OnAccess(const core::Access& a) override {
    if (!armed || a.addr != addr || a.kind != core::AccessKind::kStore) return;
    armed = false;
    const int saved = current;
    current = other_thread;
    other();
    current = saved;
  }
  void WaitUntil(const core::WaitSpec& spec) override {}
  bool armed = false;
  const void* addr = nullptr;
  int current = 0;
  int other_thread = 1;
  std::function<void()> other;
};

// gh-119999: with Faults::merge_tid_after_cas the owner publishes MERGED
// before giving up ob_tid; T1 sees MERGED, drops the last reference and
// frees o; T0's ob_tid store then writes into the freed block.
class MergeOrderTest : public LedgerTest {
 protected:
  std::optional<Finding> Run(bool fault) {
    Object* o = NewObject(T(0), 0);
    Incref(T(1), o);  // T1 holds one reference (shared 1)
    rt_.faults.merge_tid_after_cas = fault;
    InterleaveHook inter;
    inter.addr = o->ob_tid.address();
    inter.other = [&] { Decref(T(1), o); };
    inter.armed = true;
    AccessCheckingHook check(ledger_, &inter, [&] { return inter.current; });
    core::InstallSchedHook(&check);
    std::optional<Finding> f = Catch([&] { Decref(T(0), o); });
    core::InstallSchedHook(nullptr);
    rt_.faults.merge_tid_after_cas = false;
    EXPECT_FALSE(inter.armed) << "the interleaving point was never reached";
    return f;
  }
};

TEST_F(MergeOrderTest, TidStoreAfterFreeWithTheFault) {
  std::optional<Finding> f = Run(true);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kUseAfterFree);
  EXPECT_EQ(f->thread, 0);
  EXPECT_NE(f->site.find("core/refcount.cc:"), std::string::npos) << f->site;
  EXPECT_NE(f->message.find("store of the header"), std::string::npos) << f->message;
}

TEST_F(MergeOrderTest, NoStoreAfterFreeWithTheFixedOrder) {
  EXPECT_FALSE(Run(false).has_value());
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding());
}

TEST_F(LedgerTest, UseAfterFree_PayloadAccessThroughTheAccessCheck) {
  Object* o = NewObject(T(0), 1);
  Decref(T(0), o);
  AccessCheckingHook check(ledger_, nullptr, [] { return 0; });
  core::InstallSchedHook(&check);
  // The check fires before the access happens (so ASan builds do not crash first).
  std::optional<Finding> f = Catch([&] { (void)o->slot(0).LoadSeqCst(); });
  core::InstallSchedHook(nullptr);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kUseAfterFree);
  EXPECT_NE(f->message.find("in the payload"), std::string::npos) << f->message;
}

TEST_F(LedgerTest, UseAfterFree_LockingAFreedObjectsMutex) {
  Object* o = NewObject(T(0), 0);
  Decref(T(0), o);
  AccessCheckingHook check(ledger_, nullptr, [] { return 1; });
  core::InstallSchedHook(&check);
  // A stale reader's refcount loads are allowed (checked first: the ledger
  // reports only its first finding).
  std::optional<Finding> g = Catch([&] { (void)core::TryIncref(T(1), o); });
  // LOCK_OBJECT on a stale owner: a CAS on the header, but not the one
  // lock-free readers may do (ob_ref_shared).
  std::optional<Finding> f = Catch([&] { (void)o->ob_mutex.LockFast(); });
  core::InstallSchedHook(nullptr);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kUseAfterFree);
  EXPECT_EQ(f->thread, 1);
  EXPECT_NE(f->message.find("rmw of the header of obj#"), std::string::npos) << f->message;
  EXPECT_FALSE(g.has_value()) << g->message;
}

// --- LEAK -------------------------------------------------------------------

// T0 owns o; X's slot holds o's second reference (in T0's local count).
// T1 clears the slot and drops that reference at shared count 0. Correctly
// it queues o to T0 (INV-RC-1) and T0's exit merges and frees it; with
// Faults::nonowner_decref_subtracts_at_zero the shared count goes to -1,
// T0's local count stays 1 forever, and o outlives the run.
class NonOwnerDecrefTest : public LedgerTest {
 protected:
  void Scenario(bool fault) {
    Object* x = NewObject(T(0), 1);
    Object* o = NewObject(T(0), 0);
    holders_.regs[0][0] = x;
    holders_.regs[0][1] = o;
    Incref(T(0), o);
    x->slot(0).StoreRelease(o);
    DropRegister(holders_, T(0), 1);  // local 1: the slot's reference
    rt_.faults.nonowner_decref_subtracts_at_zero = fault;
    Object* old = x->slot(0).ExchangeSeqCst(nullptr);
    Decref(T(1), old);
    rt_.faults.nonowner_decref_subtracts_at_zero = false;
    DropRegister(holders_, T(0), 0);  // x goes
    ExitAll();                        // T0's exit drains its merge queue
    leaked_id_ = core::ObjectId(o);
  }
  uint64_t leaked_id_ = 0;
};

TEST_F(NonOwnerDecrefTest, LeakWithTheFault) {
  ASSERT_FALSE(Catch([&] { Scenario(true); }).has_value());
  ledger_.CheckEnd();
  ASSERT_TRUE(ledger_.has_finding());
  const Finding& f = *ledger_.finding();
  EXPECT_EQ(f.kind, FindingKind::kLeak);
  EXPECT_EQ(f.main_object(), leaked_id_);
  EXPECT_NE(f.message.find("no holder"), std::string::npos) << f.message;
}

TEST_F(NonOwnerDecrefTest, NoLeakWhenTheDecrefIsQueued) {
  ASSERT_FALSE(Catch([&] { Scenario(false); }).has_value());
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding()) << ledger_.finding()->message;
  const ObjectLife* life = ledger_.Life(leaked_id_);
  ASSERT_NE(life, nullptr);
  EXPECT_EQ(life->state, LifeState::kFreed);
  EXPECT_EQ(life->dealloc_thread, 0);  // merged and freed by the owner at exit
}

TEST_F(LedgerTest, Leak_OneIncrefTooMany) {
  Object* o = NewObject(T(0), 0);
  holders_.regs[0][0] = o;
  Incref(T(0), o);  // wrong call sequence: a reference nobody holds
  // Mid-run: the refcount (2) disagrees with the holders (1).
  ledger_.CheckEnd(/*world_torn_down=*/false);
  ASSERT_TRUE(ledger_.has_finding());
  EXPECT_EQ(ledger_.finding()->kind, FindingKind::kLeak);
  EXPECT_NE(ledger_.finding()->message.find("refcount 2"), std::string::npos) << ledger_.finding()->message;
}

TEST_F(LedgerTest, Leak_NotReportedWhileHoldersMatchRefcounts) {
  Object* x = NewObject(T(0), 2);
  Object* o = NewObject(T(1), 0);
  holders_.table[0] = x;
  holders_.regs[1][0] = o;
  Incref(T(0), o);
  x->slot(1).StoreRelease(o);
  ledger_.CheckEnd(/*world_torn_down=*/false);  // only mismatches leak
  EXPECT_FALSE(ledger_.has_finding()) << ledger_.finding()->message;
}

TEST_F(LedgerTest, Leak_CyclesNeedTheTeardownClear) {
  Object* o = NewObject(T(0), 1);
  Incref(T(0), o);
  o->slot(0).StoreRelease(o);  // o.a = o (with its own reference)
  holders_.regs[0][0] = o;
  DropRegister(holders_, T(0), 0);
  ledger_.CheckEnd(/*world_torn_down=*/false);
  EXPECT_FALSE(ledger_.has_finding());  // held by its own slot: consistent
  ledger_.CheckEnd();
  ASSERT_TRUE(ledger_.has_finding());  // but after tear-down, without a GC, a cycle leaks
  EXPECT_EQ(ledger_.finding()->kind, FindingKind::kLeak);
}

TEST_F(LedgerTest, Leak_TeardownClearFreesCycles) {
  Object* o = NewObject(T(0), 1);
  Object* p = NewObject(T(1), 1);
  Incref(T(0), o);
  Incref(T(1), p);
  o->slot(0).StoreRelease(p);  // o.a = p, p.a = o: each holds one reference
  p->slot(0).StoreRelease(o);
  Decref(T(0), o);
  Decref(T(1), p);
  ExitAll();
  // The runner's tear-down (runner/world.cc): clear the slots of the
  // objects the ledger lists as live, dropping their references.
  for (auto [id, obj] : ledger_.LiveObjectsWithSlots()) {
    for (uint32_t i = 0; i < obj->nslots(); ++i) {
      if (!ledger_.IsLive(id, obj)) break;
      Object* old = core::SlotsOf(obj)[i].LoadPlain();
      if (old == nullptr) continue;
      core::SlotsOf(obj)[i].StorePlain(nullptr);
      Decref(T(0), old);
    }
  }
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding()) << ledger_.finding()->message;
  EXPECT_EQ(ledger_.Life(core::ObjectId(o))->state, LifeState::kFreed);
  EXPECT_EQ(ledger_.Life(core::ObjectId(p))->state, LifeState::kFreed);
}

// --- history ------------------------------------------------------------------

TEST_F(LedgerTest, HistoryListsTheObjectsLife) {
  Object* o = NewObject(T(0), 0);
  const uint64_t id = core::ObjectId(o);
  Incref(T(1), o);
  Decref(T(0), o);
  Decref(T(1), o);
  const std::string h = ledger_.FormatHistory(id);
  EXPECT_NE(h.find("allocated by T0"), std::string::npos) << h;
  EXPECT_NE(h.find("created (refcount 1)"), std::string::npos) << h;
  EXPECT_NE(h.find("incref-shared shared 0->1 (refcount 1->2)"), std::string::npos) << h;
  EXPECT_NE(h.find("merge-zero-local shared 1->1|MERGED"), std::string::npos) << h;
  EXPECT_NE(h.find("decref-shared shared 1|MERGED->0|MERGED (refcount 1->0)"), std::string::npos) << h;
  EXPECT_NE(h.find("dealloc started (refcount 0)"), std::string::npos) << h;
  EXPECT_NE(h.find("block freed"), std::string::npos) << h;
  EXPECT_EQ(h.find("0x"), std::string::npos) << "no addresses in histories: " << h;
}

TEST_F(LedgerTest, RecordOnlyModeKeepsTheFirstFinding) {
  ledger_.set_options(LedgerOptions{/*throw_on_finding=*/false, true, true});
  Object* o = NewObject(T(0), 0);
  Decref(T(0), o);
  EXPECT_FALSE(Catch([&] { Decref(T(1), o); }).has_value());  // recorded, not thrown
  EXPECT_FALSE(Catch([&] { Incref(T(1), o); }).has_value());  // a second problem: not recorded
  ASSERT_TRUE(ledger_.has_finding());
  EXPECT_EQ(ledger_.finding()->kind, FindingKind::kUseAfterFree);
}

}  // namespace
}  // namespace ftf::audit
