// Tests for the cyclic collector (gc.h) on one OS thread: the other logical
// threads are detached, so the stop-the-world parks them at once. The
// collection mid-run under the fiber executor is in tests/runner/gc_test.cc.

#include "core/gc.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/brc.h"
#include "core/mutex.h"
#include "core/object.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "core/type.h"

namespace ftf::core {
namespace {

// A client whose finalizer (instances of `finalizer_type`) stores the object
// into `global` when `resurrect`, as `def __del__(self): global g; g = self`.
class TestClient : public GcClient {
 public:
  const Type* finalizer_type = nullptr;
  bool resurrect = false;
  Object* global = nullptr;
  std::vector<Object*> finalized;

  bool HasFinalizer(const Object* o) const override { return o->ob_type.Peek() == finalizer_type; }
  void Finalize(ThreadState& ts, Object* o) override {
    finalized.push_back(o);
    if (resurrect) {
      Object* old = global;
      global = NewRef(ts, o);
      XDecref(ts, old);
    }
  }
};

class GcTest : public ::testing::Test {
 protected:
  GcTest() : types_(rt_) {
    for (int i = 0; i < 2; ++i) ThreadStart(rt_.thread(i));
    Detach(rt_.thread(1));  // idle: parked by the requester's stop at once
    SlotDecl a;
    a.name = "a";
    SlotDecl b;
    b.name = "b";
    type_ = types_.NewHeapType(ts0(), "T", {a, b});
    plain_type_ = types_.NewHeapType(ts0(), "P", {a, b});
  }
  ~GcTest() override {
    Attach(rt_.thread(1));
    ThreadExit(rt_.thread(1));
    ThreadExit(ts0());
  }
  ThreadState& ts0() { return rt_.thread(0); }
  // o.a = v, taking a new reference to v (plain store: one OS thread).
  void Store(Object* o, uint32_t slot, Object* v) {
    o->slot(slot).StorePlain(NewRef(ts0(), v));
  }

  Runtime rt_{2};
  TypeSystem types_;
  Type* type_ = nullptr;
  Type* plain_type_ = nullptr;  // no finalizer
  TestClient client_;
};

TEST_F(GcTest, InstancesOfHeapTypesAreTrackedAndUntrackedWhenTheirDeallocStarts) {
  Object* o = NewInstance(ts0(), type_);
  EXPECT_TRUE(GcIsTracked(o));
  Object* plain = NewInstance(ts0(), types_.object_type());
  EXPECT_FALSE(GcIsTracked(plain)) << "object() is not a GC type";
  Decref(ts0(), plain);
  Decref(ts0(), o);
  EXPECT_FALSE(GcIsTracked(o)) << "PyObject_GC_UnTrack at the start of subtype_dealloc";
}

TEST_F(GcTest, ASelfCycleIsFreedAndAnExternallyHeldOneIsKeptWithItsOwnerRestored) {
  Object* garbage = NewInstance(ts0(), type_);
  Store(garbage, 0, garbage);
  Decref(ts0(), garbage);  // only the cycle's own reference is left
  Object* kept = NewInstance(ts0(), type_);
  Store(kept, 0, kept);
  Object* child = NewInstance(ts0(), type_);
  Store(kept, 1, child);
  Decref(ts0(), child);  // reachable only through `kept`'s slot
  ASSERT_EQ(PeekRefcnt(garbage), 1);

  GcStats s = GcCollect(ts0(), client_);
  EXPECT_EQ(s.unreachable, 1);
  EXPECT_EQ(s.collected, 1);
  EXPECT_FALSE(IsBlockLive(garbage));
  ASSERT_TRUE(IsBlockLive(kept));
  ASSERT_TRUE(IsBlockLive(child));
  // gc_restore_tid: ob_tid was gc_refs during the collection; the owner's id
  // is back and the biased counts are untouched.
  EXPECT_EQ(kept->ob_tid.Peek(), ts0().tid);
  EXPECT_EQ(child->ob_tid.Peek(), ts0().tid);
  EXPECT_EQ(kept->ob_ref_local.Peek(), 2u);
  EXPECT_EQ(child->ob_ref_local.Peek(), 1u);
  EXPECT_EQ(kept->ob_gc_bits.Peek() & kGcBitsUnreachable, 0);
  EXPECT_EQ(child->ob_gc_bits.Peek() & kGcBitsUnreachable, 0);
  EXPECT_TRUE(client_.finalized.empty());

  // Tear down: break the cycle by hand.
  Object* self = kept->slot(0).LoadPlain();
  kept->slot(0).StorePlain(nullptr);
  Decref(ts0(), self);
  Decref(ts0(), kept);
  EXPECT_FALSE(IsBlockLive(child));
}

// Thread 1 owns an object; thread 0 drops the reference thread 1 gave it,
// which queues the object to thread 1 (biased refcounting). Thread 1 is idle
// and never merges: the collection merges its queue on its behalf (with the
// world stopped) and frees the object, a non-GC one, after the restart.
TEST_F(GcTest, TheCollectorMergesAnIdleThreadsQueueAndFreesWhatReachedZero) {
  ThreadState& ts1 = rt_.thread(1);
  Attach(ts1);
  Object* o = NewObject(ts1, 0);
  Detach(ts1);
  Decref(ts0(), o);  // not the owner, shared count 0: QUEUED to thread 1
  ASSERT_EQ(ts1.brc_queue.size(), 1u);
  ASSERT_TRUE(IsBlockLive(o));

  GcStats s = GcCollect(ts0(), client_);
  EXPECT_EQ(s.merged, 1);
  EXPECT_TRUE(ts1.brc_queue.empty());
  EXPECT_FALSE(IsBlockLive(o));
}

// The collection processes every thread's QSBR delayed frees: the world is
// stopped, so every goal is reached.
TEST_F(GcTest, TheCollectorProcessesEveryThreadsDelayedFrees) {
  ThreadState& ts1 = rt_.thread(1);
  Attach(ts1);
  void* raw = AllocRaw(ts1, 64);
  FreeDelayed(ts1, raw);
  Detach(ts1);
  ASSERT_TRUE(QsbrHasPending(ts1));
  ASSERT_EQ(rt_.heap(1).live_raw_blocks(), 1u);
  GcCollect(ts0(), client_);
  EXPECT_FALSE(QsbrHasPending(ts1));
  EXPECT_EQ(rt_.heap(1).live_raw_blocks(), 0u);
}

// PEP 442 and handle_resurrected_objects: the finalizer stores the object;
// the collection keeps it (and what it references) whole. Once dropped
// again it is collected without a second finalizer call.
TEST_F(GcTest, AResurrectedObjectIsKeptWholeAndItsFinalizerRunsOnce) {
  client_.finalizer_type = type_;
  client_.resurrect = true;
  Object* o = NewInstance(ts0(), type_);
  Store(o, 0, o);
  Object* child = NewInstance(ts0(), plain_type_);
  Store(o, 1, child);
  Decref(ts0(), child);
  Decref(ts0(), o);

  GcStats s = GcCollect(ts0(), client_);
  EXPECT_EQ(s.unreachable, 2);
  EXPECT_EQ(s.finalized, 1);    // only `o`'s type has a finalizer
  EXPECT_EQ(s.resurrected, 2);  // the child is reachable from the resurrected object
  EXPECT_EQ(s.collected, 0);
  ASSERT_EQ(client_.global, o);
  ASSERT_TRUE(IsBlockLive(o));
  ASSERT_TRUE(IsBlockLive(child));
  EXPECT_EQ(o->slot(0).Peek(), o);
  EXPECT_EQ(o->slot(1).Peek(), child);
  EXPECT_EQ(PeekRefcnt(o), 2);  // its own slot and the global: the worklist's reference is gone
  EXPECT_EQ(RefSharedFlags(o->ob_ref_shared.Peek()), kRefMerged);
  EXPECT_EQ(o->ob_tid.Peek(), 0u);
  EXPECT_NE(o->ob_gc_bits.Peek() & kGcBitsFinalized, 0);

  Decref(ts0(), client_.global);
  client_.global = nullptr;
  client_.finalized.clear();
  s = GcCollect(ts0(), client_);
  EXPECT_EQ(s.finalized, 0) << "tp_finalize is called once per object";
  EXPECT_EQ(s.collected, 2);
  EXPECT_FALSE(IsBlockLive(o));
  EXPECT_FALSE(IsBlockLive(child));
  EXPECT_EQ(client_.global, nullptr);
}

TEST_F(GcTest, WithoutTheResurrectionCheckTheResurrectedObjectIsCleared) {
  client_.finalizer_type = type_;
  client_.resurrect = true;
  Object* o = NewInstance(ts0(), type_);
  Store(o, 0, o);
  Decref(ts0(), o);
  GcOptions broken;
  broken.skip_resurrection_check = true;
  GcStats s = GcCollect(ts0(), client_, broken);
  EXPECT_EQ(s.collected, 1);
  ASSERT_TRUE(IsBlockLive(o)) << "the global's reference keeps the block";
  EXPECT_EQ(o->slot(0).Peek(), nullptr) << "but tp_clear emptied a live object";
  Decref(ts0(), client_.global);
  EXPECT_FALSE(IsBlockLive(o));
}

}  // namespace
}  // namespace ftf::core
