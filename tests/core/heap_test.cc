// Tests for the object heaps and raw blocks (heap.h): immediate same-thread
// reuse (ABA), cross-thread frees, "dead" refcount fields of free blocks,
// ASan poisoning, and raw memory.

#include "core/heap.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

class HeapTest : public MemoryTest {};

TEST_F(HeapTest, SameThreadSameSizeReusesTheBlockAtOnce) {
  Object* a = NewObject(T(0), 2);
  const uint64_t id_a = ObjectId(a);
  Decref(T(0), a);
  EXPECT_FALSE(IsBlockLive(a));
  Object* b = NewObject(T(0), 2);
  EXPECT_EQ(b, a);  // ABA: same address, new object
  EXPECT_NE(ObjectId(b), id_a);
  EXPECT_EQ(BlockGeneration(b), 2u);
  EXPECT_TRUE(IsBlockLive(b));
  ASSERT_EQ(obs_.Reuses().size(), 1u);
  EXPECT_EQ(obs_.Reuses()[0], id_a);
  // The reused block is a proper new object.
  EXPECT_EQ(Tid(b), T(0).tid);
  EXPECT_EQ(Local(b), 1u);
  EXPECT_EQ(Shared(b), 0);
  EXPECT_EQ(b->slot(0).Peek(), nullptr);
  EXPECT_EQ(b->slot(1).Peek(), nullptr);
  Decref(T(0), b);
}

TEST_F(HeapTest, FreeListIsLifoPerSizeClass) {
  Object* x = NewObject(T(0), 1);
  Object* y = NewObject(T(0), 1);
  Object* z = NewObject(T(0), 3);
  Decref(T(0), x);
  Decref(T(0), y);
  Decref(T(0), z);
  EXPECT_EQ(rt_.heap(0).local_free_count(1), 2u);
  EXPECT_EQ(rt_.heap(0).local_free_count(3), 1u);
  EXPECT_EQ(NewObject(T(0), 1), y);  // last freed, first reused
  EXPECT_EQ(NewObject(T(0), 1), x);
  Object* fresh = NewObject(T(0), 1);
  EXPECT_NE(fresh, x);
  EXPECT_NE(fresh, y);
  EXPECT_NE(fresh, z);  // another size never shares a block
  EXPECT_EQ(NewObject(T(0), 3), z);
}

TEST_F(HeapTest, OtherThreadsDoNotReuseTheBlock) {
  Object* a = NewObject(T(0), 0);
  Decref(T(0), a);
  Object* b = NewObject(T(1), 0);  // T1's heap: a different block
  EXPECT_NE(b, a);
  Decref(T(1), b);
}

TEST_F(HeapTest, FreedBlockReadsDead) {
  // Fast path: local 0, shared 0.
  Object* a = NewObject(T(0), 4);
  Decref(T(0), a);
  EXPECT_EQ(Local(a), 0u);
  EXPECT_EQ(Shared(a), 0);
  EXPECT_FALSE(TryIncrefFast(T(1), a));
  EXPECT_FALSE(TryIncRefShared(T(1), a));
  // Merged path: local 0, exactly MERGED, freed by another thread.
  Object* b = NewObject(T(0), 5);
  Incref(T(1), b);
  Decref(T(0), b);
  Decref(T(1), b);
  EXPECT_FALSE(IsBlockLive(b));
  EXPECT_EQ(Local(b), 0u);
  EXPECT_EQ(Shared(b), kRefMerged);
  EXPECT_FALSE(TryIncref(T(2), b));
  // Only the first word (ob_tid) carries the free-list link.
  EXPECT_EQ(b->ob_mutex.PeekBits(), 0);
}

TEST_F(HeapTest, CrossThreadFreeGoesBackToTheOwningHeap) {
  Object* a = NewObject(T(0), 6);
  Incref(T(1), a);
  Decref(T(0), a);  // merged
  Decref(T(1), a);  // freed on T1, block belongs to T0's heap
  EXPECT_EQ(obs_.DeallocThread(ObjectId(a)), 1);
  EXPECT_EQ(rt_.heap(0).local_free_count(6), 0u);  // not on T0's local list ...
  Object* t1 = NewObject(T(1), 6);
  EXPECT_NE(t1, a);  // ... and never handed out by T1's heap
  Object* again = NewObject(T(0), 6);
  EXPECT_EQ(again, a);  // T0 collects its cross-thread frees when its list is empty
  Decref(T(0), again);
  Decref(T(1), t1);
}

TEST_F(HeapTest, ChunksHoldManyBlocksAndResetReturnsThem) {
  std::set<Object*> seen;
  std::vector<Object*> objs;
  for (int i = 0; i < 100; ++i) {
    Object* o = NewObject(T(2), 0);
    EXPECT_TRUE(seen.insert(o).second);
    objs.push_back(o);
  }
  size_t chunks = rt_.heap(2).chunk_count();
  EXPECT_GE(chunks, 2u);
  EXPECT_LE(chunks, 100u / 8 + 1);
  for (Object* o : objs) Decref(T(2), o);
}

TEST_F(HeapTest, PayloadOfAFreeBlockIsPoisonedHeaderIsNot) {
  if (!HaveAsan()) GTEST_SKIP() << "needs AddressSanitizer";
  Object* a = NewObject(T(0), 2);
  EXPECT_FALSE(IsPoisonedForAsan(&a->ob_type));
  EXPECT_FALSE(IsPoisonedForAsan(&a->slot(1)));
  Decref(T(0), a);
  EXPECT_TRUE(IsPoisonedForAsan(&a->ob_type));
  EXPECT_TRUE(IsPoisonedForAsan(SlotsOf(a)));
  EXPECT_TRUE(IsPoisonedForAsan(SlotsOf(a) + 1));
  EXPECT_FALSE(IsPoisonedForAsan(&a->ob_tid));
  EXPECT_FALSE(IsPoisonedForAsan(&a->ob_ref_local));
  EXPECT_FALSE(IsPoisonedForAsan(&a->ob_ref_shared));
  EXPECT_FALSE(IsPoisonedForAsan(HeaderOf(a)));
  Object* b = NewObject(T(0), 2);
  ASSERT_EQ(b, a);
  EXPECT_FALSE(IsPoisonedForAsan(&b->ob_type));
  EXPECT_FALSE(IsPoisonedForAsan(SlotsOf(b) + 1));
  Decref(T(0), b);
}

TEST_F(HeapTest, RawBlocksAndResetFreesLeakedOnes) {
  void* p = AllocRaw(T(0), 40);
  void* q = AllocRaw(T(0), 8);
  std::memset(p, 0xab, 40);
  EXPECT_EQ(Heap::RawSize(p), 40u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
  EXPECT_EQ(rt_.heap(0).live_raw_blocks(), 2u);
  FreeRaw(T(1), p);  // any thread may free
  EXPECT_EQ(rt_.heap(0).live_raw_blocks(), 1u);
  (void)q;  // leaked on purpose: Reset frees it (LSan would report it otherwise)
  rt_.heap(0).Reset();
  EXPECT_EQ(rt_.heap(0).live_raw_blocks(), 0u);
}

TEST(HeapDeathTest, UseOfAFreedRawBlockIsCaughtByAsan) {
  if (!HaveAsan()) GTEST_SKIP() << "needs AddressSanitizer";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Runtime rt(1);
  ThreadStart(rt.thread(0));
  auto* p = static_cast<volatile char*>(AllocRaw(rt.thread(0), 32));
  FreeRaw(rt.thread(0), const_cast<char*>(p));
  EXPECT_DEATH(p[3] = 1, "heap-use-after-free");
}

TEST(HeapDeathTest, UseOfAFreedObjectPayloadIsCaughtByAsan) {
  if (!HaveAsan()) GTEST_SKIP() << "needs AddressSanitizer";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Runtime rt(1);
  ThreadStart(rt.thread(0));
  Object* o = NewObject(rt.thread(0), 1);
  Decref(rt.thread(0), o);
  EXPECT_DEATH(SlotsOf(o)[0].Peek(), "use-after-poison");
}

// Real threads: T1 and T2 free T0's objects while T0 keeps allocating the
// same size. Every block comes back to T0 exactly once and is reused.
TEST_F(HeapTest, RealThreadsRemoteFreesAreCollectedByTheOwner) {
  constexpr int kRounds = 2000;
  testing::AtomicDeallocCounter counter(4096);
  rt_.observer = &counter;
  std::atomic<Object*> mailbox[2] = {nullptr, nullptr};
  std::atomic<bool> stop{false};
  auto consumer = [&](int t) {
    while (!stop.load()) {
      Object* o = mailbox[t - 1].exchange(nullptr, std::memory_order_acq_rel);
      if (o != nullptr) {
        Decref(T(t), o);  // merged by the owner: freed here
      } else {
        std::this_thread::yield();  // 2 cores, 3 threads: let the producer run
      }
    }
    if (Object* o = mailbox[t - 1].exchange(nullptr)) Decref(T(t), o);
  };
  std::thread b(consumer, 1);
  std::thread c(consumer, 2);
  std::set<Object*> blocks;
  for (int i = 0; i < kRounds; ++i) {
    Object* o = NewObject(T(0), 3);
    blocks.insert(o);
    Incref(T(0), o);
    ExplicitMergeRefcount(T(0), o, -1);  // give up ownership: count 1, MERGED
    Object* expected = nullptr;
    while (!mailbox[i % 2].compare_exchange_weak(expected, o, std::memory_order_acq_rel)) {
      expected = nullptr;
      std::this_thread::yield();
    }
  }
  stop.store(true);
  b.join();
  c.join();
  // Far fewer blocks than objects: remote frees were collected and reused.
  EXPECT_LT(blocks.size(), static_cast<size_t>(kRounds) / 4);
  rt_.observer = &obs_;
  EXPECT_EQ(counter.Total(), kRounds);
  EXPECT_EQ(counter.overflow(), 0);
  for (uint64_t id = 2; id < 2 + kRounds; ++id) EXPECT_EQ(counter.Deallocs(id), 1) << "object #" << id;
}

}  // namespace
}  // namespace ftf::core
