// Tests for deferred reference counting and stack references (deferred.h,
// stackref.h): the bias, the tagged references of
// _Py_TryIncrefCompareStackRef, the stack-reference operations, and the
// collector's accounting and free.

#include "core/deferred.h"

#include <gtest/gtest.h>

#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stackref.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

class DeferredTest : public MemoryTest {};

TEST_F(DeferredTest, SetDeferredRefcountSetsTheBitAndTheBias) {
  Object* o = NewObject(T(0), 0);
  EXPECT_FALSE(PeekIsDeferred(o));
  SetDeferredRefcount(T(0), o);
  EXPECT_TRUE(PeekIsDeferred(o));
  EXPECT_TRUE(IsDeferred(o));
  EXPECT_EQ(Shared(o), RefShared(kRefDeferred, 0));
  EXPECT_EQ(Local(o), 1u) << "the creator's reference stays local";
  EXPECT_EQ(GcRefcount(o), 1) << "the collector counts the references, not the bias";
  EXPECT_EQ(obs_.CountOp(RefOp::kSetDeferred), 1);
}

TEST_F(DeferredTest, DecrefNeverFreesADeferredObject) {
  Object* o = NewFunctionObject(T(0), nullptr);
  const uint64_t id = ObjectId(o);
  Incref(T(1), o);  // a non-owner's reference (shared)
  Decref(T(0), o);  // the creator's last local one: gives up ownership, merges
  EXPECT_EQ(Tid(o), 0u);
  EXPECT_EQ(RefSharedFlags(Shared(o)), kRefMerged);
  Decref(T(1), o);  // the last counted reference
  EXPECT_EQ(obs_.Deallocs(id), 0) << "only the collector frees a deferred object";
  EXPECT_EQ(GcRefcount(o), 0);
  EXPECT_TRUE(IsBlockLive(o));
  // The collector finds it unreachable and frees it.
  EXPECT_TRUE(GcFreeDeferred(T(2), o));
  EXPECT_EQ(obs_.Deallocs(id), 1);
  EXPECT_EQ(obs_.CountOp(RefOp::kClearDeferred), 1);
}

TEST_F(DeferredTest, GcFreeDeferredLeavesAReferencedObjectAlone) {
  Object* o = NewFunctionObject(T(0), nullptr);
  EXPECT_FALSE(GcFreeDeferred(T(0), o)) << "the creator still holds it";
  EXPECT_TRUE(PeekIsDeferred(o));
  EXPECT_TRUE(IsBlockLive(o));
  Decref(T(0), o);
  EXPECT_TRUE(GcFreeDeferred(T(0), o));
  EXPECT_FALSE(IsBlockLive(o));
}

TEST_F(DeferredTest, WithoutTheBiasTheLastDecrefFrees) {
  rt_.faults.deferred_without_bias = true;  // mutant_deferred_no_bias's constructor
  Object* o = NewFunctionObject(T(0), nullptr);
  const uint64_t id = ObjectId(o);
  EXPECT_TRUE(PeekIsDeferred(o));
  EXPECT_EQ(Shared(o), 0);
  Decref(T(0), o);
  EXPECT_EQ(obs_.Deallocs(id), 1);
}

TEST_F(DeferredTest, TryIncrefCompareStackRefTagsADeferredObjectWithoutRecheck) {
  Object* fn = NewFunctionObject(T(0), nullptr);
  Object* other = NewObject(T(0), 0);
  Cell<Object*> slot;
  slot.Init(other);  // the slot no longer holds fn: a non-deferred value would be re-checked
  const intptr_t shared_before = Shared(fn);
  StackRef ref;
  ASSERT_TRUE(TryIncrefCompareStackRef(T(1), slot, fn, &ref));
  EXPECT_TRUE(StackRefIsDeferred(ref));
  EXPECT_EQ(StackRefBorrow(ref), fn);
  EXPECT_EQ(Shared(fn), shared_before) << "a tagged reference takes no count";
  EXPECT_EQ(obs_.CountOp(RefOp::kCompareMismatch), 0) << "and the source is not read again";

  // The same for an ordinary object: _Py_TryIncrefCompare re-checks the
  // source and fails.
  Object* plain = NewObject(T(0), 0);
  Incref(T(1), plain);  // shared > 0, so the shared try-incref can succeed
  ASSERT_FALSE(TryIncrefCompareStackRef(T(1), slot, plain, &ref));
  EXPECT_EQ(obs_.CountOp(RefOp::kCompareMismatch), 1);
  slot.Init(plain);
  ASSERT_TRUE(TryIncrefCompareStackRef(T(1), slot, plain, &ref));
  EXPECT_FALSE(StackRefIsDeferred(ref)) << "an ordinary object gets a counted reference";
  EXPECT_EQ(RefSharedCount(Shared(plain)), 2);
  StackRefClose(T(1), ref);
  EXPECT_EQ(RefSharedCount(Shared(plain)), 1);
  Decref(T(1), plain);
  Decref(T(0), plain);
  Decref(T(0), other);
  Decref(T(0), fn);
}

TEST_F(DeferredTest, StackRefOperationsFollowTheTag) {
  Object* fn = NewFunctionObject(T(0), nullptr);
  Object* plain = NewObject(T(0), 0);
  // PyStackRef_FromPyObjectNew: tagged for the deferred one, counted otherwise.
  StackRef a = StackRefFromNew(T(0), fn);
  StackRef b = StackRefFromNew(T(0), plain);
  EXPECT_TRUE(StackRefIsDeferred(a));
  EXPECT_FALSE(StackRefIsDeferred(b));
  EXPECT_EQ(Local(fn), 1u);
  EXPECT_EQ(Local(plain), 2u);
  // PyStackRef_DUP counts only the untagged one.
  StackRef a2 = StackRefDup(T(0), a);
  StackRef b2 = StackRefDup(T(0), b);
  EXPECT_EQ(Local(fn), 1u);
  EXPECT_EQ(Local(plain), 3u);
  // PyStackRef_AsPyObjectSteal: a real reference from a tagged one.
  Object* strong = StackRefAsPyObjectSteal(T(0), a2);
  EXPECT_EQ(strong, fn);
  EXPECT_EQ(Local(fn), 2u);
  EXPECT_EQ(StackRefAsPyObjectSteal(T(0), b2), plain);
  EXPECT_EQ(Local(plain), 3u) << "stealing an untagged reference moves its count";
  // PyStackRef_CLOSE drops only what an untagged reference owns.
  StackRefClose(T(0), a);
  StackRefClose(T(0), b);
  EXPECT_EQ(Local(fn), 2u);
  EXPECT_EQ(Local(plain), 2u);
  StackRefClose(T(0), kStackRefNull);
  EXPECT_TRUE(StackRefIsNull(StackRefFromSteal(nullptr)));
  EXPECT_EQ(StackRefAsPyObjectSteal(T(0), kStackRefNull), nullptr);
  Decref(T(0), fn);
  Decref(T(0), fn);
  Decref(T(0), plain);
  Decref(T(0), plain);
  EXPECT_FALSE(IsBlockLive(plain));
  EXPECT_TRUE(GcFreeDeferred(T(0), fn));
}

}  // namespace
}  // namespace ftf::core
