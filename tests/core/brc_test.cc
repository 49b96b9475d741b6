// Tests for the biased-reference-counting merge queue (brc.h).

#include "core/brc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/object.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

class BrcTest : public MemoryTest {};

TEST_F(BrcTest, QueuedObjectIsMergedByTheOwnerAtItsSafePoint) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  Decref(T(1), o);  // queue
  EXPECT_EQ(T(0).eval_breaker.Peek() & kEvalExplicitMerge, kEvalExplicitMerge);
  EXPECT_EQ(T(1).eval_breaker.Peek(), 0u);
  // The safe point of the owner (stw.cc) clears the bit and merges.
  SafePoint(T(0));
  EXPECT_EQ(T(0).eval_breaker.Peek() & kEvalExplicitMerge, 0u);
  EXPECT_TRUE(T(0).brc_queue.empty());
  EXPECT_EQ(Shared(o), RefShared(1, kRefMerged));
  EXPECT_EQ(Tid(o), 0u);
  uint64_t id = ObjectId(o);
  Decref(T(0), o);
  EXPECT_EQ(obs_.Deallocs(id), 1);
}

TEST_F(BrcTest, MergeFreesObjectsReachingZero) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    Object* o = NewObject(T(0), 1);
    Incref(T(0), o);
    Decref(T(0), o);  // owner's own reference is dropped first: local 1 left (T2's)
    ids.push_back(ObjectId(o));
    Decref(T(2), o);  // T2 drops the last one: queued
  }
  ASSERT_EQ(T(0).brc_queue.size(), 5u);
  for (uint64_t id : ids) EXPECT_EQ(obs_.Deallocs(id), 0);
  BrcMergeRefcounts(T(0));
  for (uint64_t id : ids) {
    EXPECT_EQ(obs_.Deallocs(id), 1);
    EXPECT_EQ(obs_.DeallocThread(id), 0);
  }
}

TEST_F(BrcTest, OwnerExitedMeansTheQueuerMerges) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  Incref(T(0), o);  // two references to give to T1
  ThreadExit(T(0));  // T0 leaves the BRC table with o still owned (tid unchanged)
  EXPECT_EQ(T(0).brc_registered.Peek(), 0);
  EXPECT_EQ(Tid(o), T(0).tid);
  Decref(T(1), o);  // count 0: queue -> owner gone -> explicit merge here, 3 + 0 - 1 = 2
  ASSERT_EQ(obs_.QueuedTo().size(), 1u);
  EXPECT_EQ(obs_.QueuedTo()[0], -1);
  EXPECT_TRUE(T(0).brc_queue.empty());
  EXPECT_EQ(Tid(o), 0u);
  EXPECT_EQ(Local(o), 0u);
  EXPECT_EQ(Shared(o), RefShared(2, kRefMerged));
  Decref(T(1), o);
  uint64_t id = ObjectId(o);
  Decref(T(2), o);
  EXPECT_EQ(obs_.Deallocs(id), 1);
  EXPECT_EQ(obs_.DeallocThread(id), 2);
}

TEST_F(BrcTest, OwnerExitedAndLastReferenceFreesInTheQueuer) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  Decref(T(0), o);  // T0's own reference gone; local 1 is T1's
  ThreadExit(T(0));
  uint64_t id = ObjectId(o);
  Decref(T(1), o);  // 1 + 0 - 1 = 0
  EXPECT_EQ(obs_.Deallocs(id), 1);
  EXPECT_EQ(obs_.DeallocThread(id), 1);
}

TEST_F(BrcTest, OwnerMergedConcurrentlySoQueuerDecrefsShared) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  // Between T1's CAS to QUEUED and its read of ob_tid, the owner gives up
  // ownership (an explicit merge, e.g. from the GC): T1 sees tid 0.
  obs_.on_ref_change = [&](ThreadState& ts, Object* x, RefOp op, int64_t, int64_t) {
    if (x == o && op == RefOp::kQueue) ExplicitMergeRefcount(T(0), o, 0);
  };
  Decref(T(1), o);
  obs_.on_ref_change = nullptr;
  // The merge counted 2 (local) + 0 = 2; T1's reference then went through
  // the shared path: 1 left, owned by nobody, not queued anywhere.
  EXPECT_TRUE(T(0).brc_queue.empty());
  EXPECT_TRUE(obs_.QueuedTo().empty());
  EXPECT_EQ(Shared(o), RefShared(1, kRefMerged));
  uint64_t id = ObjectId(o);
  Decref(T(0), o);
  EXPECT_EQ(obs_.Deallocs(id), 1);
}

TEST_F(BrcTest, RemoveThreadDrainsUntilEmpty) {
  Object* a = NewObject(T(0), 0);
  Object* b = NewObject(T(0), 0);
  Incref(T(0), a);
  Incref(T(0), b);
  Decref(T(0), a);
  Decref(T(1), a);  // queued; last reference
  // While T0 merges a, T2 queues b: the exit loop must pick it up too.
  bool once = false;
  obs_.on_ref_change = [&](ThreadState& ts, Object* x, RefOp op, int64_t, int64_t) {
    if (x == a && op == RefOp::kExplicitMerge && !once) {
      once = true;
      Decref(T(2), b);
    }
  };
  const uint64_t ida = ObjectId(a), idb = ObjectId(b);
  BrcRemoveThread(T(0));
  obs_.on_ref_change = nullptr;
  EXPECT_TRUE(once);
  EXPECT_TRUE(T(0).brc_queue.empty());
  EXPECT_TRUE(T(0).brc_local.empty());
  EXPECT_EQ(T(0).brc_registered.Peek(), 0);
  EXPECT_EQ(obs_.Deallocs(ida), 1);
  EXPECT_EQ(obs_.Deallocs(idb), 0);  // T0 still holds one
  EXPECT_EQ(Shared(b), RefShared(1, kRefMerged));
  BrcInitThread(T(0));
  EXPECT_EQ(T(0).brc_registered.Peek(), 1);
  Decref(T(0), b);
  EXPECT_EQ(obs_.Deallocs(idb), 1);
}

// Real threads: non-owners queue objects while the owner runs safe points,
// then exits; late queuers merge by themselves. Each object freed once.
TEST_F(BrcTest, RealThreadsQueueWhileOwnerMergesAndExits) {
  constexpr int kObjects = 400;
  testing::AtomicDeallocCounter counter(1024);
  rt_.observer = &counter;
  std::vector<Object*> objs;
  std::vector<uint64_t> ids;
  for (int i = 0; i < kObjects; ++i) {
    Object* o = NewObject(T(0), 0);
    Incref(T(0), o);
    Incref(T(0), o);  // one reference each for T1 and T2, counted in local
    objs.push_back(o);
    ids.push_back(ObjectId(o));
  }
  std::atomic<bool> owner_done{false};
  auto non_owner = [&](int t) {
    for (size_t i = 0; i < objs.size(); ++i) {
      Decref(T(t), objs[t == 1 ? i : objs.size() - 1 - i]);
      if (i % 16 == 0) SafePoint(T(t));
    }
  };
  std::thread b(non_owner, 1);
  std::thread c(non_owner, 2);
  for (size_t i = 0; i < objs.size(); ++i) {
    Decref(T(0), objs[i]);
    SafePoint(T(0));  // merges whatever was queued so far
  }
  ThreadExit(T(0));  // drains until empty, then later queuers merge themselves
  owner_done.store(true);
  b.join();
  c.join();
  rt_.observer = &obs_;
  for (uint64_t id : ids) EXPECT_EQ(counter.Deallocs(id), 1) << "object #" << id;
  EXPECT_EQ(counter.Total(), kObjects);
}

}  // namespace
}  // namespace ftf::core
