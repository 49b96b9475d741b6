// Tests for the object header, creation, immortality, deallocation and
// Runtime::Reset (object.h, runtime.h).

#include "core/object.h"

#include <gtest/gtest.h>

#include "core/brc.h"
#include "core/heap.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

class ObjectTest : public MemoryTest {};

TEST(ObjectLayoutTest, MatchesTheFreeThreadedHeader) {
  EXPECT_EQ(sizeof(Object), 32u);
  EXPECT_EQ(offsetof(Object, ob_tid), 0u);
  EXPECT_EQ(offsetof(Object, ob_flags), 8u);
  EXPECT_EQ(offsetof(Object, ob_mutex), 10u);
  EXPECT_EQ(offsetof(Object, ob_gc_bits), 11u);
  EXPECT_EQ(offsetof(Object, ob_ref_local), 12u);
  EXPECT_EQ(offsetof(Object, ob_ref_shared), 16u);
  EXPECT_EQ(offsetof(Object, ob_type), 24u);
  EXPECT_EQ(BlockSize(0), 64u);
  EXPECT_EQ(BlockSize(1), 80u);
  EXPECT_EQ(BlockSize(2), 80u);
}

TEST(ObjectLayoutTest, SharedEncoding) {
  EXPECT_EQ(RefShared(3, kRefMerged), (3 << 2) | 3);
  EXPECT_EQ(RefSharedCount(RefShared(-2, kRefQueued)), -2);
  EXPECT_EQ(RefSharedFlags(RefShared(-2, kRefQueued)), kRefQueued);
  EXPECT_EQ(RefSharedCount(kRefMerged), 0);
}

TEST_F(ObjectTest, NewObjectIsOwnedWithLocalOne) {
  Type* fake_type = reinterpret_cast<Type*>(uintptr_t{0x5000});
  Object* o = NewObject(T(1), 3, fake_type);
  EXPECT_EQ(Tid(o), T(1).tid);
  EXPECT_NE(Tid(o), 0u);
  EXPECT_EQ(Local(o), 1u);
  EXPECT_EQ(Shared(o), 0);
  EXPECT_EQ(o->ob_flags.Peek(), 0);
  EXPECT_EQ(o->ob_gc_bits.Peek(), 0);
  EXPECT_EQ(o->ob_mutex.PeekBits(), 0);
  EXPECT_EQ(o->ob_type.Peek(), fake_type);
  EXPECT_EQ(o->nslots(), 3u);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(o->slot(i).Peek(), nullptr);
  EXPECT_TRUE(IsBlockLive(o));
  EXPECT_EQ(AllocThread(o), 1);
  EXPECT_FALSE(IsStaticBlock(o));
  EXPECT_TRUE(IsOwnedByCurrentThread(T(1), o));
  EXPECT_FALSE(IsOwnedByCurrentThread(T(0), o));
  EXPECT_EQ(PeekRefcnt(o), 1);
  EXPECT_EQ(obs_.allocs(), 1);
  Decref(T(1), o);
}

TEST_F(ObjectTest, IdsComeFromTheRuntimeCounterNotAddresses) {
  EXPECT_EQ(ObjectId(rt_.none()), 1u);
  Object* a = NewObject(T(0), 0);
  Object* b = NewObject(T(1), 5);
  Object* c = NewObject(T(0), 0);
  EXPECT_EQ(ObjectId(a), 2u);
  EXPECT_EQ(ObjectId(b), 3u);
  EXPECT_EQ(ObjectId(c), 4u);
  Decref(T(0), a);
  Decref(T(1), b);
  Decref(T(0), c);
}

TEST_F(ObjectTest, NoneIsImmortalAndStatic) {
  Object* none = rt_.none();
  EXPECT_EQ(Tid(none), 0u);
  EXPECT_EQ(Local(none), kImmortalRefcntLocal);
  EXPECT_EQ(Shared(none), 0);
  EXPECT_EQ(none->ob_flags.Peek() & kStaticallyAllocatedFlag, kStaticallyAllocatedFlag);
  EXPECT_EQ(none->ob_gc_bits.Peek() & kGcBitsDeferred, kGcBitsDeferred);
  EXPECT_TRUE(IsImmortal(none));
  EXPECT_TRUE(IsStaticBlock(none));
  for (int i = 0; i < 3; ++i) {
    Incref(T(i), none);
    Decref(T(i), none);
    Decref(T(i), none);  // extra decrefs are harmless on immortal objects
  }
  EXPECT_EQ(Local(none), kImmortalRefcntLocal);
  EXPECT_EQ(Shared(none), 0);
  EXPECT_TRUE(TryIncrefFast(T(2), none));  // succeeds without writing
  EXPECT_EQ(Local(none), kImmortalRefcntLocal);
  EXPECT_EQ(obs_.AllDeallocs().size(), 0u);
}

TEST_F(ObjectTest, SetImmortalStopsRefcounting) {
  Object* o = NewObject(T(0), 1);
  Incref(T(1), o);  // shared 1
  SetImmortal(T(0), o);
  EXPECT_EQ(Tid(o), 0u);
  EXPECT_EQ(Local(o), kImmortalRefcntLocal);
  EXPECT_EQ(Shared(o), 0);
  EXPECT_NE(o->ob_gc_bits.Peek() & kGcBitsDeferred, 0);
  Decref(T(0), o);
  Decref(T(1), o);
  Decref(T(1), o);
  EXPECT_TRUE(IsBlockLive(o));
  EXPECT_EQ(obs_.CountOp(RefOp::kSetImmortal), 1);
}

TEST_F(ObjectTest, DeallocClearsSlotsAndReleasesChildren) {
  Object* parent = NewObject(T(0), 3);
  Object* child1 = NewObject(T(0), 0);
  Object* child2 = NewObject(T(1), 1);  // owned by another thread
  Object* grandchild = NewObject(T(1), 0);
  child2->slot(0).StoreRelease(grandchild);  // steals T1's reference
  parent->slot(0).StoreRelease(child1);      // steals T0's reference
  parent->slot(2).StoreRelease(NewRef(T(0), child2));  // T0 increfs: shared path
  EXPECT_EQ(Shared(child2), RefShared(1, kRefSharedInit));
  Decref(T(1), child2);  // T1's own reference: local 0, shared 1 -> merged, count 1
  EXPECT_EQ(Tid(child2), 0u);
  EXPECT_EQ(Shared(child2), RefShared(1, kRefMerged));

  const uint64_t pid = ObjectId(parent), c1 = ObjectId(child1), c2 = ObjectId(child2), gc = ObjectId(grandchild);
  Decref(T(0), parent);  // frees parent; clearing slot 2 frees child2 (merged 0), which frees grandchild
  EXPECT_EQ(obs_.Deallocs(pid), 1);
  EXPECT_EQ(obs_.Deallocs(c1), 1);
  EXPECT_EQ(obs_.Deallocs(c2), 1);
  // grandchild is owned by T1 and T0 dropped T1's reference from the slot:
  // a non-owner decref at count 0 queues it to T1 instead of freeing.
  EXPECT_EQ(obs_.Deallocs(gc), 0);
  EXPECT_EQ(Shared(grandchild), kRefQueued);
  ASSERT_EQ(T(1).brc_queue.size(), 1u);
  EXPECT_FALSE(IsBlockLive(parent));
  EXPECT_FALSE(IsBlockLive(child1));
  EXPECT_FALSE(IsBlockLive(child2));
  BrcMergeRefcounts(T(1));
  EXPECT_EQ(obs_.Deallocs(gc), 1);
  EXPECT_EQ(obs_.DeallocThread(c2), 0);  // deallocation ran on the thread dropping the last ref
}

TEST_F(ObjectTest, ResetStartsAFreshWorld) {
  rt_.faults.tryincref_shared_allows_zero = true;  // configuration survives Reset
  rt_.qsbr.deferred_limit = 3;
  Object* o = NewObject(T(0), 2);
  Object* p = NewObject(T(1), 2);
  o->slot(0).StoreRelease(p);  // leaked graph
  void* raw = AllocRaw(T(1), 100);
  (void)raw;  // leaked raw block: Reset must free it (LSan would complain otherwise)
  Incref(T(2), o);
  Decref(T(0), o);  // merged, still alive
  Object* q = NewObject(T(2), 0);
  Incref(T(2), q);
  Decref(T(0), q);  // T0 drops a reference: queued to T2
  EXPECT_EQ(T(2).brc_queue.size(), 1u);
  EXPECT_GT(rt_.heap(0).chunk_count(), 0u);

  for (int i = 0; i < rt_.num_threads(); ++i) ThreadExit(T(i));
  rt_.observer = nullptr;
  rt_.Reset();
  rt_.observer = &obs_;

  EXPECT_EQ(rt_.heap(0).chunk_count(), 0u);
  EXPECT_EQ(rt_.heap(1).live_raw_blocks(), 0u);
  EXPECT_EQ(rt_.qsbr.wr_seq.Peek(), kQsbrInitial);
  EXPECT_EQ(rt_.qsbr.rd_seq.Peek(), kQsbrInitial);
  EXPECT_EQ(rt_.qsbr.deferred_limit, 3u);
  EXPECT_TRUE(rt_.faults.tryincref_shared_allows_zero);
  EXPECT_EQ(rt_.next_object_id.Peek(), 2u);
  for (int i = 0; i < rt_.num_threads(); ++i) {
    EXPECT_EQ(T(i).Status(), ThreadStatus::kNotStarted);
    EXPECT_EQ(T(i).rt, &rt_);
    EXPECT_EQ(T(i).index, i);
    EXPECT_EQ(T(i).tid, static_cast<uintptr_t>(i + 1) * Runtime::kTidStride);
    EXPECT_EQ(T(i).heap, &rt_.heap(i));
    EXPECT_TRUE(T(i).brc_queue.empty());
    EXPECT_EQ(T(i).brc_registered.Peek(), 1);
    EXPECT_EQ(T(i).eval_breaker.Peek(), 0u);
    EXPECT_EQ(T(i).qsbr->seq.Peek(), 0u);
  }
  EXPECT_EQ(Local(rt_.none()), kImmortalRefcntLocal);
  EXPECT_EQ(rt_.stw.world_stopped.Peek(), 0);
  rt_.faults.tryincref_shared_allows_zero = false;

  for (int i = 0; i < rt_.num_threads(); ++i) ThreadStart(T(i));
  Object* fresh = NewObject(T(0), 0);
  EXPECT_EQ(ObjectId(fresh), 2u);  // same ids as in the previous input
  Decref(T(0), fresh);
}

TEST_F(ObjectTest, FindThreadByTid) {
  for (int i = 0; i < rt_.num_threads(); ++i) EXPECT_EQ(rt_.FindThreadByTid(T(i).tid), &T(i));
  EXPECT_EQ(rt_.FindThreadByTid(0), nullptr);
  EXPECT_EQ(rt_.FindThreadByTid(T(0).tid + 8), nullptr);
  EXPECT_EQ(rt_.FindThreadByTid(Runtime::kTidStride * 100), nullptr);
}

TEST(ObjectDeathTest, SlotOutOfRangeAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Runtime rt(1);
  ThreadStart(rt.thread(0));
  Object* o = NewObject(rt.thread(0), 2);
  EXPECT_DEATH(o->slot(2).Peek(), "slot 2 of object");
  Decref(rt.thread(0), o);
}

TEST(ObjectDeathTest, DoubleFreeOfABlockAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Runtime rt(1);
  ThreadStart(rt.thread(0));
  Object* o = NewObject(rt.thread(0), 0);
  Decref(rt.thread(0), o);
  EXPECT_DEATH(FreeObjectBlock(rt.thread(0), o), "double free");
}

}  // namespace
}  // namespace ftf::core
