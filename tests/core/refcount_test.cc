// Tests for biased reference counting (refcount.h): owner and non-owner
// paths, queueing at zero, merges, the try-incref family, single-threaded
// (several ThreadStates used alternately from one OS thread) and with real
// threads.

#include "core/refcount.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/brc.h"
#include "core/object.h"
#include "core/runtime.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

class RefcountTest : public MemoryTest {};

TEST_F(RefcountTest, OwnerCountsLocallyNonOwnerShared) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  Incref(T(0), o);
  EXPECT_EQ(Local(o), 3u);
  EXPECT_EQ(Shared(o), 0);
  Incref(T(1), o);
  Incref(T(2), o);
  EXPECT_EQ(Local(o), 3u);
  EXPECT_EQ(Shared(o), RefShared(2, kRefSharedInit));
  EXPECT_EQ(PeekRefcnt(o), 5);
  Decref(T(1), o);  // subtracts: count 2 -> 1
  EXPECT_EQ(Shared(o), RefShared(1, kRefSharedInit));
  Decref(T(0), o);
  EXPECT_EQ(Local(o), 2u);
  EXPECT_EQ(obs_.CountOp(RefOp::kIncrefLocal), 2);
  EXPECT_EQ(obs_.CountOp(RefOp::kIncrefShared), 2);
  EXPECT_EQ(obs_.CountOp(RefOp::kDecrefShared), 1);
  EXPECT_EQ(obs_.CountOp(RefOp::kDecrefLocal), 1);
}

TEST_F(RefcountTest, OwnerFastFreeWhenSharedIsZero) {
  Object* o = NewObject(T(0), 0);
  uintptr_t owner = T(0).tid;
  (void)owner;
  uint64_t id = ObjectId(o);
  Decref(T(0), o);
  EXPECT_EQ(obs_.Deallocs(id), 1);
  EXPECT_EQ(obs_.CountOp(RefOp::kMergeZeroLocalFree), 1);
  EXPECT_EQ(obs_.CountOp(RefOp::kMergeZeroLocal), 0);  // no CAS on the fast path
  EXPECT_FALSE(IsBlockLive(o));
  // A freed block keeps reading "dead".
  EXPECT_EQ(Local(o), 0u);
  EXPECT_EQ(Shared(o), 0);
}

TEST_F(RefcountTest, OwnerMergesWhenSharedIsNotZero) {
  Object* o = NewObject(T(0), 0);
  Incref(T(1), o);  // T1 holds one reference through shared
  Decref(T(0), o);  // local 1 -> 0
  EXPECT_TRUE(IsBlockLive(o));
  EXPECT_EQ(Tid(o), 0u);  // INV-OBJ-1: tid 0 iff MERGED
  EXPECT_EQ(Local(o), 0u);
  EXPECT_EQ(Shared(o), RefShared(1, kRefMerged));
  EXPECT_FALSE(IsOwnedByCurrentThread(T(0), o));
  // Now every thread, the former owner included, uses the shared path.
  Incref(T(0), o);
  EXPECT_EQ(Shared(o), RefShared(2, kRefMerged));
  Decref(T(0), o);
  uint64_t id = ObjectId(o);
  Decref(T(1), o);  // exactly MERGED: the non-owner deallocates
  EXPECT_EQ(obs_.Deallocs(id), 1);
  EXPECT_EQ(obs_.DeallocThread(id), 1);
  EXPECT_EQ(Shared(o), kRefMerged);  // a freed merged block reads dead too
  EXPECT_EQ(Local(o), 0u);
}

TEST_F(RefcountTest, OwnerMergeWithMaybeWeakrefAndZeroCountFrees) {
  Object* o = NewObject(T(0), 0);
  SetMaybeWeakref(T(0), o);
  EXPECT_EQ(Shared(o), kRefMaybeWeakref);
  uint64_t id = ObjectId(o);
  Decref(T(0), o);  // not the fast path: CAS to MERGED, count 0 => free (case 1.8 b)
  EXPECT_EQ(obs_.CountOp(RefOp::kMergeZeroLocal), 1);
  EXPECT_EQ(obs_.CountOp(RefOp::kMergeZeroLocalFree), 0);
  EXPECT_EQ(obs_.Deallocs(id), 1);
}

TEST_F(RefcountTest, NonOwnerDecrefAtZeroQueuesInsteadOfSubtracting) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);  // a reference for T1, counted in local
  Decref(T(1), o);  // T1 releases it: shared 0 -> QUEUED
  EXPECT_EQ(Shared(o), kRefQueued);
  EXPECT_EQ(Local(o), 2u);
  ASSERT_EQ(T(0).brc_queue.size(), 1u);
  EXPECT_EQ(T(0).brc_queue[0], o);
  EXPECT_NE(T(0).eval_breaker.Peek() & kEvalExplicitMerge, 0u);
  EXPECT_EQ(obs_.CountOp(RefOp::kQueue), 1);
  ASSERT_EQ(obs_.QueuedTo().size(), 1u);
  EXPECT_EQ(obs_.QueuedTo()[0], 0);

  // While QUEUED, further non-owner decrefs subtract and may go negative.
  Incref(T(0), o);  // local 3
  Decref(T(2), o);
  EXPECT_EQ(Shared(o), RefShared(-1, kRefQueued));
  EXPECT_EQ(PeekRefcnt(o), 2);  // local 3 + count -1; the queue's reference included

  BrcMergeRefcounts(T(0));  // extra -1 for the queue's reference
  EXPECT_TRUE(T(0).brc_queue.empty());
  EXPECT_EQ(Tid(o), 0u);
  EXPECT_EQ(Local(o), 0u);
  EXPECT_EQ(Shared(o), RefShared(1, kRefMerged));
  uint64_t id = ObjectId(o);
  Decref(T(0), o);  // the owner's last reference, now on the shared path
  EXPECT_EQ(obs_.Deallocs(id), 1);
}

TEST_F(RefcountTest, NonOwnerDecrefAtMaybeWeakrefAlsoQueues) {
  Object* o = NewObject(T(0), 0);
  SetMaybeWeakref(T(0), o);
  Incref(T(0), o);
  Decref(T(1), o);
  EXPECT_EQ(Shared(o), kRefQueued);  // the MAYBE_WEAKREF bit is dropped
  uint64_t id = ObjectId(o);
  Decref(T(0), o);                   // local 1: queue's reference outstanding
  BrcMergeRefcounts(T(0));           // 1 + 0 - 1 = 0: freed by the owner
  EXPECT_EQ(obs_.Deallocs(id), 1);
  EXPECT_EQ(obs_.DeallocThread(id), 0);
}

TEST_F(RefcountTest, FaultNonOwnerSubtractsAtZero) {
  rt_.faults.nonowner_decref_subtracts_at_zero = true;
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  Decref(T(1), o);
  EXPECT_EQ(Shared(o), RefShared(-1, kRefSharedInit));  // negative without QUEUED: the bug
  EXPECT_TRUE(T(0).brc_queue.empty());
  rt_.faults.nonowner_decref_subtracts_at_zero = false;
}

TEST_F(RefcountTest, ExplicitMergeClearsOwnershipFirst) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  Incref(T(1), o);
  // Watch the field values at the moment of the CAS.
  uintptr_t tid_at_cas = 1;
  uint32_t local_at_cas = 1;
  obs_.on_ref_change = [&](ThreadState&, Object* x, RefOp op, int64_t, int64_t) {
    if (x == o && op == RefOp::kExplicitMerge) {
      tid_at_cas = Tid(x);
      local_at_cas = Local(x);
    }
  };
  EXPECT_EQ(ExplicitMergeRefcount(T(0), o, 0), 3);
  EXPECT_EQ(tid_at_cas, 0u);
  EXPECT_EQ(local_at_cas, 0u);
  EXPECT_EQ(Shared(o), RefShared(3, kRefMerged));
  obs_.on_ref_change = nullptr;
  Decref(T(0), o);
  Decref(T(1), o);
  uint64_t id = ObjectId(o);
  Decref(T(2), o);
  EXPECT_EQ(obs_.Deallocs(id), 1);
}

TEST_F(RefcountTest, FaultMergeTidAfterCas) {
  rt_.faults.merge_tid_after_cas = true;
  Object* o = NewObject(T(0), 0);
  Incref(T(1), o);
  uintptr_t tid_at_cas = 0;
  obs_.on_ref_change = [&](ThreadState&, Object* x, RefOp op, int64_t, int64_t) {
    if (x == o && op == RefOp::kMergeZeroLocal) tid_at_cas = Tid(x);
  };
  Decref(T(0), o);
  EXPECT_EQ(tid_at_cas, T(0).tid);  // MERGED was published while the tid still named the owner
  EXPECT_EQ(Tid(o), 0u);
  obs_.on_ref_change = nullptr;
  rt_.faults.merge_tid_after_cas = false;
  Decref(T(1), o);
}

TEST_F(RefcountTest, TryIncrefFast) {
  Object* o = NewObject(T(0), 0);
  EXPECT_TRUE(TryIncrefFast(T(0), o));
  EXPECT_EQ(Local(o), 2u);
  EXPECT_FALSE(TryIncrefFast(T(1), o));  // never touches shared
  EXPECT_EQ(Shared(o), 0);
  EXPECT_EQ(Local(o), 2u);
  EXPECT_TRUE(TryIncrefFast(T(1), rt_.none()));
  EXPECT_EQ(Local(rt_.none()), kImmortalRefcntLocal);
  Decref(T(0), o);
  Decref(T(0), o);
}

TEST_F(RefcountTest, TryIncRefSharedRefusesZeroAndMerged) {
  Object* o = NewObject(T(0), 0);
  // shared == 0: the owner could free it with no CAS.
  EXPECT_FALSE(TryIncRefShared(T(1), o));
  EXPECT_EQ(Shared(o), 0);
  EXPECT_EQ(obs_.CountOp(RefOp::kTryIncrefSharedFail), 1);

  // Every other value is safe: MAYBE_WEAKREF with count 0 ...
  o->ob_ref_shared.Poke(kRefMaybeWeakref);
  EXPECT_TRUE(TryIncRefShared(T(1), o));
  EXPECT_EQ(Shared(o), RefShared(1, kRefMaybeWeakref));
  // ... QUEUED with count 0 and negative counts ...
  o->ob_ref_shared.Poke(kRefQueued);
  EXPECT_TRUE(TryIncRefShared(T(1), o));
  EXPECT_EQ(Shared(o), RefShared(1, kRefQueued));
  o->ob_ref_shared.Poke(RefShared(-3, kRefQueued));
  EXPECT_TRUE(TryIncRefShared(T(1), o));
  EXPECT_EQ(Shared(o), RefShared(-2, kRefQueued));
  // ... positive counts, and MERGED with a positive count.
  o->ob_ref_shared.Poke(RefShared(2, kRefMerged));
  EXPECT_TRUE(TryIncRefShared(T(1), o));
  EXPECT_EQ(Shared(o), RefShared(3, kRefMerged));
  // Exactly MERGED (count 0): dead.
  o->ob_ref_shared.Poke(kRefMerged);
  EXPECT_FALSE(TryIncRefShared(T(1), o));
  EXPECT_EQ(Shared(o), kRefMerged);

  o->ob_ref_shared.Poke(0);
  Decref(T(0), o);
}

TEST_F(RefcountTest, FaultTryIncRefSharedAllowsZero) {
  rt_.faults.tryincref_shared_allows_zero = true;
  Object* o = NewObject(T(0), 0);
  EXPECT_TRUE(TryIncRefShared(T(1), o));
  EXPECT_EQ(Shared(o), RefShared(1, kRefSharedInit));
  rt_.faults.tryincref_shared_allows_zero = false;
  Decref(T(1), o);
  Decref(T(0), o);
}

TEST_F(RefcountTest, TryIncRefSharedOnAFreedBlockFails) {
  // Fast-path free leaves shared == 0; a merged free leaves exactly MERGED.
  Object* a = NewObject(T(0), 0);
  Decref(T(0), a);
  EXPECT_FALSE(TryIncRefShared(T(1), a));
  Object* b = NewObject(T(0), 7);
  Incref(T(1), b);
  Decref(T(0), b);
  Decref(T(1), b);
  EXPECT_FALSE(IsBlockLive(b));
  EXPECT_FALSE(TryIncRefShared(T(2), b));
  EXPECT_FALSE(TryIncref(T(2), b));
}

TEST_F(RefcountTest, TryIncrefCompareSucceedsWhenSourceUnchanged) {
  Object* o = NewObject(T(0), 0);
  Cell<Object*> src(o);
  SetMaybeWeakref(T(0), o);  // lets non-owners take references at count 0
  EXPECT_TRUE(TryIncrefCompare(T(1), src, o));
  EXPECT_EQ(Shared(o), RefShared(1, kRefMaybeWeakref));
  EXPECT_TRUE(TryIncrefCompare(T(0), src, o));  // owner: fast path
  EXPECT_EQ(Local(o), 2u);
  Decref(T(1), o);
  Decref(T(0), o);
  Decref(T(0), o);
}

TEST_F(RefcountTest, TryIncrefCompareUndoesOnMismatch) {
  Object* o = NewObject(T(0), 0);
  Object* other = NewObject(T(0), 0);
  Incref(T(2), o);  // shared 1, so the shared increment succeeds
  Cell<Object*> src(o);
  // "Another thread" replaces *src between the CAS and the re-load.
  obs_.on_ref_change = [&](ThreadState&, Object* x, RefOp op, int64_t, int64_t) {
    if (x == o && op == RefOp::kTryIncrefSharedOk) src.Poke(other);
  };
  EXPECT_FALSE(TryIncrefCompare(T(1), src, o));
  obs_.on_ref_change = nullptr;
  EXPECT_EQ(Shared(o), RefShared(1, kRefSharedInit));  // increment undone
  EXPECT_EQ(obs_.CountOp(RefOp::kCompareMismatch), 1);
  Decref(T(2), o);
  Decref(T(0), o);
  Decref(T(0), other);
}

TEST_F(RefcountTest, FailedCompareCanDeallocateOnTheReadingThread) {
  // o is merged with one reference, held by "the slot" (T2).
  Object* o = NewObject(T(0), 1);
  Object* child = NewObject(T(1), 0);
  o->slot(0).StoreRelease(child);
  Incref(T(2), o);
  Decref(T(0), o);
  ASSERT_EQ(Shared(o), RefShared(1, kRefMerged));
  Cell<Object*> src(o);
  const uint64_t id = ObjectId(o);
  // Between T1's CAS and its re-load, the writer clears the slot and drops
  // the slot's reference: T1's undo Decref is then the last one.
  obs_.on_ref_change = [&](ThreadState&, Object* x, RefOp op, int64_t, int64_t) {
    if (x == o && op == RefOp::kTryIncrefSharedOk) {
      src.Poke(nullptr);
      Decref(T(2), o);
    }
  };
  EXPECT_FALSE(TryIncrefCompare(T(1), src, o));
  obs_.on_ref_change = nullptr;
  EXPECT_EQ(obs_.Deallocs(id), 1);
  EXPECT_EQ(obs_.DeallocThread(id), 1);  // the reader freed it (and ran its slot clearing)
  EXPECT_FALSE(IsBlockLive(o));
  EXPECT_FALSE(IsBlockLive(child));      // T1 owned child: freed at once on T1
}

TEST_F(RefcountTest, FaultCompareSkipsRecheck) {
  rt_.faults.tryincref_compare_skips_recheck = true;
  Object* o = NewObject(T(0), 0);
  Incref(T(2), o);
  Cell<Object*> src(o);
  obs_.on_ref_change = [&](ThreadState&, Object* x, RefOp op, int64_t, int64_t) {
    if (x == o && op == RefOp::kTryIncrefSharedOk) src.Poke(nullptr);
  };
  EXPECT_TRUE(TryIncrefCompare(T(1), src, o));  // the bug: a reference to a value no longer in src
  obs_.on_ref_change = nullptr;
  rt_.faults.tryincref_compare_skips_recheck = false;
  Decref(T(1), o);
  Decref(T(2), o);
  Decref(T(0), o);
}

TEST_F(RefcountTest, XGetRefRetriesAndTryXGetRefGivesUp) {
  Object* a = NewObject(T(0), 0);
  Object* b = NewObject(T(0), 0);
  Incref(T(2), a);
  Incref(T(2), b);
  Cell<Object*> src(a);
  Cell<Object*> empty(nullptr);
  EXPECT_EQ(XGetRef(T(1), empty), nullptr);
  EXPECT_EQ(TryXGetRef(T(1), empty), nullptr);

  int swaps = 0;
  obs_.on_ref_change = [&](ThreadState&, Object* x, RefOp op, int64_t, int64_t) {
    if (x == a && op == RefOp::kTryIncrefSharedOk && swaps++ == 0) src.Poke(b);
  };
  EXPECT_EQ(TryXGetRef(T(1), src), nullptr);  // one attempt, lost the race
  src.Poke(a);
  swaps = 0;
  EXPECT_EQ(XGetRef(T(1), src), b);  // second round reads b and gets it
  obs_.on_ref_change = nullptr;
  EXPECT_EQ(Shared(a), RefShared(1, kRefSharedInit));
  EXPECT_EQ(Shared(b), RefShared(2, kRefSharedInit));
  EXPECT_EQ(TryXGetRef(T(1), src), b);
  EXPECT_EQ(Shared(b), RefShared(3, kRefSharedInit));
  for (int i = 0; i < 2; ++i) Decref(T(1), b);
  Decref(T(2), a);
  Decref(T(2), b);
  Decref(T(0), a);
  Decref(T(0), b);
}

TEST_F(RefcountTest, NewRefWithLockSetsMaybeWeakref) {
  Object* o = NewObject(T(0), 0);
  EXPECT_EQ(XNewRefWithLock(T(1), nullptr), nullptr);
  EXPECT_EQ(NewRefWithLock(T(1), o), o);
  EXPECT_EQ(Shared(o), RefShared(1, kRefMaybeWeakref));
  Decref(T(1), o);
  EXPECT_EQ(Shared(o), kRefMaybeWeakref);  // count back at 0, flag kept
  // So a lock-free reader can still take a reference ...
  Cell<Object*> src(o);
  EXPECT_TRUE(TryIncrefCompare(T(2), src, o));
  Decref(T(2), o);
  // ... and the owner's last decref merges instead of freeing with no CAS.
  uint64_t id = ObjectId(o);
  Decref(T(0), o);
  EXPECT_EQ(obs_.CountOp(RefOp::kMergeZeroLocalFree), 0);
  EXPECT_EQ(obs_.Deallocs(id), 1);
  // The owner's own NewRefWithLock is the fast path.
  Object* p = NewObject(T(0), 0);
  EXPECT_EQ(NewRefWithLock(T(0), p), p);
  EXPECT_EQ(Local(p), 2u);
  EXPECT_EQ(Shared(p), 0);
  Decref(T(0), p);
  Decref(T(0), p);
}

TEST_F(RefcountTest, FaultNewRefWithLockWithoutWeakrefFlag) {
  rt_.faults.newref_with_lock_no_weakref = true;
  Object* o = NewObject(T(0), 0);
  NewRefWithLock(T(1), o);
  EXPECT_EQ(Shared(o), RefShared(1, kRefSharedInit));
  rt_.faults.newref_with_lock_no_weakref = false;
  Decref(T(1), o);
  EXPECT_FALSE(TryIncRefShared(T(2), o));  // the gh-124642 symptom: readers now fail
  Decref(T(0), o);
}

TEST_F(RefcountTest, SetMaybeWeakrefOnlyFromNoFlag) {
  Object* o = NewObject(T(0), 0);
  Incref(T(1), o);
  SetMaybeWeakref(T(1), o);
  EXPECT_EQ(Shared(o), RefShared(1, kRefMaybeWeakref));
  SetMaybeWeakref(T(2), o);  // already set: unchanged
  EXPECT_EQ(Shared(o), RefShared(1, kRefMaybeWeakref));
  o->ob_ref_shared.Poke(RefShared(1, kRefQueued));
  SetMaybeWeakref(T(2), o);
  EXPECT_EQ(Shared(o), RefShared(1, kRefQueued));
  o->ob_ref_shared.Poke(RefShared(1, kRefMaybeWeakref));
  SetMaybeWeakref(T(0), rt_.none());
  EXPECT_EQ(Shared(rt_.none()), 0);
  Decref(T(1), o);
  Decref(T(0), o);
}

// Real threads: many non-owners drop references concurrently while the
// owner drops its own and merges its queue. Every object must be freed
// exactly once, and only after all references are gone.
TEST_F(RefcountTest, RealThreadsConcurrentDecrefsFreeExactlyOnce) {
  constexpr int kObjects = 300;
  testing::AtomicDeallocCounter counter(1024);
  rt_.observer = &counter;
  std::vector<Object*> objs;
  std::vector<uint64_t> ids;
  for (int i = 0; i < kObjects; ++i) {
    Object* o = NewObject(T(0), 1);
    // Two references for the non-owners: one counted in local (handed over by
    // the owner), one taken through shared; vary the mix per object.
    Incref(T(0), o);
    if (i % 3 == 0) {
      Incref(T(1), o);
    } else {
      Incref(T(0), o);
    }
    if (i % 5 == 0) SetMaybeWeakref(T(0), o);
    objs.push_back(o);
    ids.push_back(ObjectId(o));
  }
  std::atomic<int> done{0};
  auto non_owner = [&](int t) {
    for (Object* o : objs) Decref(T(t), o);
    done.fetch_add(1);
  };
  std::thread b(non_owner, 1);
  std::thread c(non_owner, 2);
  for (Object* o : objs) {
    Decref(T(0), o);  // the owner's own reference
    if ((T(0).eval_breaker.LoadRelaxed() & kEvalExplicitMerge) != 0) {
      T(0).eval_breaker.FetchAndSeqCst(~kEvalExplicitMerge);
      BrcMergeRefcounts(T(0));
    }
  }
  b.join();
  c.join();
  BrcMergeRefcounts(T(0));
  rt_.observer = &obs_;
  for (uint64_t id : ids) EXPECT_EQ(counter.Deallocs(id), 1) << "object #" << id;
  EXPECT_EQ(counter.Total(), kObjects);
  for (Object* o : objs) EXPECT_FALSE(IsBlockLive(o));
}

// Real threads: readers take references with TryIncrefCompare from a slot
// the writer keeps replacing; a reference obtained is always to a live
// object, and nothing is freed twice or leaked.
TEST_F(RefcountTest, RealThreadsTryIncrefCompareAgainstReplacement) {
  // Readers do race with frees here, by design: their TryIncrefFast loads
  // ob_tid of blocks the writer may have just freed. Store the free-list link
  // atomically so TSan checks the refcount protocol rather than flag that
  // CPython-tolerated read (heap.h).
  rt_.plain_free_list_link = false;
  testing::AtomicDeallocCounter counter(1 << 19);
  rt_.observer = &counter;
  Object* holder = NewObject(T(0), 1);
  SetImmortal(T(0), holder);  // the container stays
  holder->slot(0).StoreRelease(NewObject(T(0), 2));
  std::atomic<bool> stop{false};
  std::atomic<long> got{0};
  auto reader = [&](int t) {
    while (!stop.load()) {
      Object* v = TryXGetRef(T(t), holder->slot(0));
      if (v != nullptr) {
        EXPECT_TRUE(IsBlockLive(v));  // a reference is never to a freed block
        EXPECT_EQ(v->nslots(), 2u);
        got.fetch_add(1);
        Decref(T(t), v);  // may queue v to T0, or free it here
      }
    }
  };
  std::thread r1(reader, 1);
  std::thread r2(reader, 2);
  int writes = 0;
  // On a loaded machine the readers may not run at all during a fixed
  // number of writes: keep writing until they have read (10 s and the
  // counter's capacity at most).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (; writes < 3000 || (got.load() < 500 && writes < 400000 && std::chrono::steady_clock::now() < give_up);
       ++writes) {
    const int i = writes;
    Object* fresh = NewObject(T(0), 2);
    if (i % 4 != 1) SetMaybeWeakref(T(0), fresh);  // most are readable lock-free (2.6)
    Object* old = holder->slot(0).ExchangeSeqCst(fresh);
    Decref(T(0), old);
    if ((T(0).eval_breaker.LoadRelaxed() & kEvalExplicitMerge) != 0) {
      T(0).eval_breaker.FetchAndSeqCst(~kEvalExplicitMerge);
      BrcMergeRefcounts(T(0));
    }
  }
  stop.store(true);
  r1.join();
  r2.join();
  BrcMergeRefcounts(T(0));
  Object* last = holder->slot(0).ExchangeSeqCst(nullptr);
  uint64_t last_id = ObjectId(last);
  Decref(T(0), last);
  rt_.observer = &obs_;
  EXPECT_EQ(counter.Deallocs(last_id), 1);
  EXPECT_EQ(counter.overflow(), 0);
  EXPECT_EQ(counter.Total(), writes + 1);  // every replaced object freed exactly once
  for (uint64_t id = 3; id < static_cast<uint64_t>(writes) + 4; ++id) EXPECT_EQ(counter.Deallocs(id), 1) << id;
  EXPECT_GT(got.load(), 0);
}

}  // namespace
}  // namespace ftf::core
