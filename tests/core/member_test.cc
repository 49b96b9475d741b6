// Tests for PyMember_GetOne / PyMember_SetOne and the descriptor paths
// (member.h): the AttributeError / None rules, delete, refcounts with values
// owned by other threads, and each variant's fallback, including the
// interleavings that make the proposal's mutants fail (played
// single-threaded by running "another thread" from the scheduling hook).

#include "core/member.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>

#include "core/critical_section.h"
#include "core/refcount.h"
#include "core/sched_hook.h"
#include "core/type.h"
#include "core/variant.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

// Runs `action` once, just before the access that `when` selects, on the
// same OS thread: "another logical thread" acting at exactly that point.
class Interleave : public SchedHook {
 public:
  Interleave(std::function<bool(const Access&)> when, std::function<void()> action)
      : when_(std::move(when)), action_(std::move(action)) {}
  void OnAccess(const Access& a) override {
    if (busy_ || fired_ || !when_(a)) return;
    busy_ = true;
    action_();
    busy_ = false;
    fired_ = true;
  }
  void WaitUntil(const WaitSpec& spec) override {
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
  }
  bool fired() const { return fired_; }

 private:
  std::function<bool(const Access&)> when_;
  std::function<void()> action_;
  bool busy_ = false;
  bool fired_ = false;
};

// Throws after `limit` scheduling points: bounds a loop that would not end.
struct TooManySteps {};
class StepLimit : public SchedHook {
 public:
  explicit StepLimit(long limit) : limit_(limit) {}
  void OnAccess(const Access&) override {
    if (++steps_ > limit_) throw TooManySteps{};
  }
  void WaitUntil(const WaitSpec& spec) override {
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
  }

 private:
  long limit_;
  long steps_ = 0;
};

class MemberTest : public MemoryTest {
 protected:
  explicit MemberTest(const char* variant = "locked") : sys_(rt_, *FindVariant(variant)) {
    t_ = sys_.NewHeapType(T(0), "T", {{"a"}, {"b", MemberType::kObject}, {"ro", MemberType::kObjectEx, kMemberReadOnly}});
    u_ = sys_.NewHeapType(T(0), "U", {{"b"}, {"a"}});  // sorted: a at slot 0, like T
    o_ = NewInstance(T(0), t_);
  }
  const MemberDef& A() const { return t_->members[0]; }
  const MemberDef& B() const { return t_->members[1]; }
  const MemberDef& RO() const { return t_->members[2]; }
  // The flag a stored value's ob_ref_shared carries: lockfree_slots_fixed's
  // writers set MAYBE_WEAKREF before publishing (variant.h).
  intptr_t StoredFlag() const {
    return sys_.variant().slot_store_sets_maybe_weakref ? kRefMaybeWeakref : kRefSharedInit;
  }
  // A value object made (and so owned) by thread `owner`.
  Object* Value(int owner) { return NewInstance(T(owner), sys_.object_type()); }

  TypeSystem sys_;
  Type* t_;
  Type* u_;
  Object* o_;
};

class MemberVariantTest : public MemberTest, public ::testing::WithParamInterface<const char*> {
 protected:
  MemberVariantTest() : MemberTest(GetParam()) {}
};

INSTANTIATE_TEST_SUITE_P(Variants, MemberVariantTest,
                         ::testing::Values("locked", "lockfree_slots", "lockfree_slots_fixed"));

TEST_P(MemberVariantTest, UnsetObjectExRaisesAttributeError) {
  AttrResult r = MemberGetOne(T(1), o_, A());
  EXPECT_EQ(r.error, AttrError::kNoAttribute);
  EXPECT_TRUE(IsAttributeError(r.error));
  EXPECT_EQ(r.value, nullptr);
  EXPECT_EQ(AttrErrorMessage(r), "AttributeError: 'T' object has no attribute 'a'");
  AttrResult g = GenericGetAttr(T(1), o_, "a");
  EXPECT_EQ(g.error, AttrError::kNoAttribute);
}

TEST_P(MemberVariantTest, UnsetObjectReadsAsNone) {
  AttrResult r = MemberGetOne(T(1), o_, B());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, rt_.none());
  EXPECT_TRUE(r.null_as_none);
  EXPECT_EQ(o_->slot(1).Peek(), nullptr) << "reading does not store None";
}

TEST_P(MemberVariantTest, SetGetDeleteWithValuesOfOtherThreads) {
  Object* v = Value(1);  // owned by thread 1
  uint64_t vid = ObjectId(v);
  // Thread 2 stores it: Py_XNewRef by a non-owner goes through ob_ref_shared.
  ASSERT_TRUE(MemberSetOne(T(2), o_, A(), v).ok());
  EXPECT_EQ(o_->slot(0).Peek(), v);
  EXPECT_EQ(PeekRefcnt(v), 2);
  EXPECT_EQ(v->ob_ref_shared.Peek(), RefShared(1, StoredFlag()));
  // Thread 0 reads it: shared is non-zero, so TryIncrefCompare succeeds.
  AttrResult r = GenericGetAttr(T(0), o_, "a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, v);
  EXPECT_FALSE(r.used_fallback);
  EXPECT_EQ(PeekRefcnt(v), 3);
  Decref(T(0), r.value);
  // Overwrite: the old value loses the slot's reference.
  Object* w = Value(2);
  ASSERT_TRUE(GenericSetAttr(T(0), o_, "a", w).ok());
  EXPECT_EQ(PeekRefcnt(v), 1);
  EXPECT_EQ(PeekRefcnt(w), 2);
  Decref(T(2), w);
  // Delete, then delete again: AttributeError carrying just the name.
  ASSERT_TRUE(GenericDelAttr(T(1), o_, "a").ok());
  EXPECT_EQ(o_->slot(0).Peek(), nullptr);
  EXPECT_EQ(obs_.Deallocs(ObjectId(w)), 1) << "the slot held the last reference to w";
  AttrResult again = GenericDelAttr(T(1), o_, "a");
  EXPECT_EQ(again.error, AttrError::kDeleteUnset);
  EXPECT_EQ(AttrErrorMessage(again), "AttributeError: a");
  // v's last reference is its creator's.
  Decref(T(1), v);
  EXPECT_EQ(obs_.Deallocs(vid), 1);
}

TEST_P(MemberVariantTest, ObjectMemberDeleteOfNullIsFineAndOwnerReadsLocally) {
  ASSERT_TRUE(MemberSetOne(T(0), o_, B(), nullptr).ok());
  EXPECT_EQ(o_->slot(1).Peek(), nullptr);
  Object* v = Value(0);
  ASSERT_TRUE(MemberSetOne(T(0), o_, B(), v).ok());
  AttrResult r = MemberGetOne(T(0), o_, B());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, v);
  EXPECT_FALSE(r.null_as_none);
  EXPECT_EQ(v->ob_ref_local.Peek(), 3u) << "owner: TryIncrefFast, local count";
  EXPECT_EQ(v->ob_ref_shared.Peek(), StoredFlag());
  Decref(T(0), r.value);
  ASSERT_TRUE(MemberSetOne(T(0), o_, B(), nullptr).ok());
  EXPECT_EQ(PeekRefcnt(v), 1);
  Decref(T(0), v);
}

TEST_P(MemberVariantTest, ReadOnlyMemberRefusesStoresAndDeletes) {
  Object* v = Value(0);
  AttrResult r = MemberSetOne(T(0), o_, RO(), v);
  EXPECT_EQ(r.error, AttrError::kReadOnly);
  EXPECT_EQ(AttrErrorMessage(r), "AttributeError: readonly attribute");
  EXPECT_EQ(MemberSetOne(T(0), o_, RO(), nullptr).error, AttrError::kReadOnly);
  EXPECT_EQ(PeekRefcnt(v), 1) << "no reference taken";
  EXPECT_EQ(MemberGetOne(T(0), o_, RO()).error, AttrError::kNoAttribute);
  Decref(T(0), v);
}

TEST_P(MemberVariantTest, DescriptorOfAnotherTypeRaisesTypeError) {
  Object* u = NewInstance(T(0), u_);
  AttrResult r = MemberDescrGet(T(0), A(), u);  // T.a applied to a U instance
  EXPECT_EQ(r.error, AttrError::kDescriptorMismatch);
  EXPECT_TRUE(IsTypeError(r.error));
  EXPECT_EQ(AttrErrorMessage(r), "TypeError: descriptor 'a' for 'T' objects doesn't apply to a 'U' object");
  EXPECT_EQ(MemberDescrSet(T(0), A(), u, rt_.none()).error, AttrError::kDescriptorMismatch);
  EXPECT_EQ(u->slot(0).Peek(), nullptr);
  // Through U's own descriptor it works, at U's offset for 'a' (slot 0:
  // CPython sorts __slots__, so ('b', 'a') lays out as ('a', 'b')).
  ASSERT_TRUE(GenericSetAttr(T(0), u, "a", rt_.none()).ok());
  EXPECT_EQ(u->slot(0).Peek(), rt_.none());
  AttrResult missing = GenericGetAttr(T(0), u, "zz");
  EXPECT_EQ(missing.error, AttrError::kNoAttribute);
  EXPECT_EQ(AttrErrorMessage(missing), "AttributeError: 'U' object has no attribute 'zz'");
  EXPECT_EQ(GenericSetAttr(T(0), u, "zz", rt_.none()).error, AttrError::kNoAttribute);
  Decref(T(0), u);
}

// Two deletes of the same Py_T_OBJECT_EX slot, the second one starting just
// before the first one takes the value out (its critical section, or its
// exchange): the AttributeError is decided by the value each took out, so
// exactly one succeeds (gh-146270, PR #148800).
TEST_P(MemberVariantTest, ConcurrentDeletesExactlyOneSucceeds) {
  Object* v = Value(1);
  ASSERT_TRUE(MemberSetOne(T(1), o_, A(), v).ok());
  const void* slot = o_->slot(0).address();
  const void* mutex = o_->ob_mutex.address();
  AttrResult inner;
  Interleave hook([&](const Access& a) { return a.addr == slot || a.addr == mutex; },
                  [&] { inner = MemberSetOne(T(2), o_, A(), nullptr); });
  InstallSchedHook(&hook);
  AttrResult outer = MemberSetOne(T(0), o_, A(), nullptr);
  InstallSchedHook(nullptr);
  ASSERT_TRUE(hook.fired());
  EXPECT_TRUE(inner.ok());
  EXPECT_EQ(outer.error, AttrError::kDeleteUnset) << "the second delete found the slot empty";
  EXPECT_EQ(o_->slot(0).Peek(), nullptr);
  SafePoint(T(1));  // thread 2's decref was queued to the owner: merge it
  EXPECT_EQ(PeekRefcnt(v), 1) << "the slot's reference was dropped exactly once";
  Decref(T(1), v);
}

// mutant_unlocked_delete_check (CPython before gh-146270): both deletes pass
// the plain NULL check made outside any lock (check-then-act) and both report
// success. (That read also races with every writer: TSan's DATA_RACE.)
TEST(MemberMutantTest, UnlockedDeleteCheckLetsTwoDeletesSucceed) {
  Runtime rt(3);
  for (int i = 0; i < 3; ++i) ThreadStart(rt.thread(i));
  TypeSystem sys(rt, *FindVariant("mutant_unlocked_delete_check"));
  Type* t = sys.NewHeapType(rt.thread(0), "T", {{"a"}});
  const MemberDef& a = t->members[0];
  Object* o = NewInstance(rt.thread(0), t);
  Object* v = NewInstance(rt.thread(1), sys.object_type());
  ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, v).ok());
  const void* slot = o->slot(0).address();
  const void* mutex = o->ob_mutex.address();
  int slot_accesses = 0;
  AttrResult inner;
  Interleave hook(
      [&](const Access& acc) {
        if (acc.addr == slot) ++slot_accesses;
        // After the plain NULL check, before the critical section.
        return slot_accesses == 1 && acc.addr == mutex;
      },
      [&] { inner = MemberSetOne(rt.thread(2), o, a, nullptr); });
  InstallSchedHook(&hook);
  AttrResult outer = MemberSetOne(rt.thread(0), o, a, nullptr);
  InstallSchedHook(nullptr);
  ASSERT_TRUE(hook.fired());
  EXPECT_TRUE(inner.ok());
  EXPECT_TRUE(outer.ok()) << "sequentially, the second delete would raise AttributeError";
  EXPECT_EQ(o->slot(0).Peek(), nullptr);
  SafePoint(rt.thread(1));
  EXPECT_EQ(PeekRefcnt(v), 1) << "no memory error: only the AttributeError is lost";
  Decref(rt.thread(1), v);
  for (int i = 0; i < 3; ++i) ThreadExit(rt.thread(i));
}

// A value owned by another thread whose shared count is 0 cannot be
// try-incref'd by a non-owner (the owner may free it without a CAS).
Object* StoreForeignValue(ThreadState& owner, Object* obj, const MemberDef& m, Object* v) {
  EXPECT_TRUE(MemberSetOne(owner, obj, m, v).ok());
  Decref(owner, v);  // only the slot's reference is left: local 1, shared 0
  EXPECT_EQ(v->ob_ref_local.Peek(), 1u);
  EXPECT_EQ(v->ob_ref_shared.Peek(), 0);
  return v;
}

TEST_F(MemberTest, LockedFallbackTakesTheCriticalSectionAndIncrefs) {
  Object* v = StoreForeignValue(T(1), o_, A(), Value(1));
  AttrResult r = MemberGetOne(T(0), o_, A());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, v);
  EXPECT_TRUE(r.used_fallback);
  EXPECT_EQ(v->ob_ref_shared.Peek(), RefShared(1, kRefSharedInit)) << "plain Py_XINCREF: no MAYBE_WEAKREF";
  EXPECT_EQ(o_->ob_mutex.PeekBits(), 0);
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
  // Now shared is non-zero: the next read needs no fallback.
  AttrResult r2 = MemberGetOne(T(2), o_, A());
  EXPECT_FALSE(r2.used_fallback);
  Decref(T(2), r2.value);
  Decref(T(0), r.value);
}

// The STORE_ATTR_SLOT proposal's _Py_XGetRef fallback retries TryIncrefCompare until it
// succeeds. For a value owned by another thread with ob_ref_shared == 0 it
// never does (TryIncRefShared refuses 0), so the reader spins until the
// owner changes something: a livelock whenever the owner does not.
TEST(MemberLockfreeTest, XGetRefSpinsOnForeignValueWithZeroShared) {
  Runtime rt(2);
  ThreadStart(rt.thread(0));
  ThreadStart(rt.thread(1));
  TypeSystem sys(rt, *FindVariant("lockfree_slots"));
  Type* t = sys.NewHeapType(rt.thread(0), "T", {{"a"}});
  Object* o = NewInstance(rt.thread(0), t);
  Object* v = NewInstance(rt.thread(1), sys.object_type());
  ASSERT_TRUE(MemberSetOne(rt.thread(1), o, t->members[0], v).ok());
  Decref(rt.thread(1), v);
  StepLimit limit(100000);
  InstallSchedHook(&limit);
  bool spun = false;
  try {
    (void)MemberGetOne(rt.thread(0), o, t->members[0]);
  } catch (const TooManySteps&) {
    spun = true;
  }
  InstallSchedHook(nullptr);
  EXPECT_TRUE(spun) << "PyMember_GetOne returned although no reference could be taken";
  EXPECT_EQ(v->ob_ref_shared.Peek(), 0);
  // With MAYBE_WEAKREF set (a weakref exists, or PyUnstable_EnableTryIncRef),
  // try-incref from a non-owner succeeds at once.
  SetMaybeWeakref(rt.thread(1), v);
  AttrResult r = MemberGetOne(rt.thread(0), o, t->members[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.used_fallback);
  Decref(rt.thread(0), r.value);
  ThreadExit(rt.thread(0));
  ThreadExit(rt.thread(1));
}

// lockfree_slots_fixed: the writer marks the value MAYBE_WEAKREF before the
// exchange, so the same read as above takes a reference at once through
// ob_ref_shared, and the owner later frees the value through the merge CAS
// instead of the no-CAS fast path (the fix's cost).
TEST(MemberFixedTest, StoredForeignValueIsReadWithoutSpinning) {
  Runtime rt(2);
  testing::RecordingObserver obs;
  rt.observer = &obs;
  ThreadStart(rt.thread(0));
  ThreadStart(rt.thread(1));
  TypeSystem sys(rt, *FindVariant("lockfree_slots_fixed"));
  Type* t = sys.NewHeapType(rt.thread(0), "T", {{"a"}});
  const MemberDef& a = t->members[0];
  Object* o = NewInstance(rt.thread(0), t);
  Object* v = NewInstance(rt.thread(1), sys.object_type());
  const uint64_t vid = ObjectId(v);
  // The flag must be set before the value can be seen in the slot.
  const void* slot = o->slot(0).address();
  bool flagged_at_exchange = false;
  Interleave check([&](const Access& acc) { return acc.addr == slot; },
                   [&] { flagged_at_exchange = (v->ob_ref_shared.Peek() & kRefMaybeWeakref) != 0; });
  InstallSchedHook(&check);
  ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, v).ok());
  InstallSchedHook(nullptr);
  ASSERT_TRUE(check.fired());
  EXPECT_TRUE(flagged_at_exchange) << "published before MAYBE_WEAKREF was set";
  Decref(rt.thread(1), v);  // the slot's reference is left: local 1
  EXPECT_EQ(v->ob_ref_local.Peek(), 1u);
  EXPECT_EQ(v->ob_ref_shared.Peek(), RefShared(0, kRefMaybeWeakref));
  EXPECT_EQ(obs.CountOp(RefOp::kSetMaybeWeakref), 1);

  StepLimit limit(1000);
  InstallSchedHook(&limit);
  AttrResult r = MemberGetOne(rt.thread(0), o, a);
  InstallSchedHook(nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, v);
  EXPECT_FALSE(r.used_fallback) << "TryIncRefShared accepts count 0 with MAYBE_WEAKREF";
  EXPECT_EQ(v->ob_ref_shared.Peek(), RefShared(1, kRefMaybeWeakref));
  Decref(rt.thread(0), r.value);

  // A second store of the same value finds the flag set: no second CAS.
  Object* w = NewRef(rt.thread(1), v);
  ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, w).ok());
  Decref(rt.thread(1), w);
  EXPECT_EQ(obs.CountOp(RefOp::kSetMaybeWeakref), 1);

  // The owner drops the slot's reference: no fast free, a merge to MERGED.
  ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, nullptr).ok());
  EXPECT_EQ(obs.CountOp(RefOp::kMergeZeroLocalFree), 0);
  EXPECT_EQ(obs.CountOp(RefOp::kMergeZeroLocal), 1);
  EXPECT_EQ(obs.Deallocs(vid), 1);
  rt.observer = nullptr;
  Decref(rt.thread(0), o);
  ThreadExit(rt.thread(0));
  ThreadExit(rt.thread(1));
}

// The PR's reader on the fixed variant against a writer that keeps replacing
// the value: every value it meets is try-increfable, so it returns.
TEST(MemberFixedTest, XGetRefReaderTerminatesAgainstAReplacingWriter) {
  Runtime rt(2);
  ThreadStart(rt.thread(0));
  ThreadStart(rt.thread(1));
  TypeSystem sys(rt, *FindVariant("lockfree_slots_fixed"));
  Type* t = sys.NewHeapType(rt.thread(0), "T", {{"a"}});
  const MemberDef& a = t->members[0];
  Object* o = NewInstance(rt.thread(0), t);
  Object* first = NewInstance(rt.thread(1), sys.object_type());
  ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, first).ok());
  Decref(rt.thread(1), first);
  // Between the reader's load and its TryIncrefCompare the writer replaces
  // the value (and frees `first`): the compare fails, the retry must succeed.
  Object* second = NewInstance(rt.thread(1), sys.object_type());
  const void* slot = o->slot(0).address();
  int slot_accesses = 0;
  Interleave hook(
      [&](const Access& acc) {
        if (acc.addr == slot) ++slot_accesses;
        return slot_accesses == 1 && acc.addr != slot;  // right after the reader's first load
      },
      [&] { ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, second).ok()); });
  StepLimit limit(1000);
  struct Both : SchedHook {
    Interleave* i;
    StepLimit* l;
    void OnAccess(const Access& acc) override {
      l->OnAccess(acc);
      i->OnAccess(acc);
    }
    void WaitUntil(const WaitSpec& spec) override { i->WaitUntil(spec); }
  } both;
  both.i = &hook;
  both.l = &limit;
  InstallSchedHook(&both);
  AttrResult r = MemberGetOne(rt.thread(0), o, a);
  InstallSchedHook(nullptr);
  ASSERT_TRUE(hook.fired());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, second);
  Decref(rt.thread(0), r.value);
  Decref(rt.thread(1), second);
  ASSERT_TRUE(MemberSetOne(rt.thread(0), o, a, nullptr).ok());
  SafePoint(rt.thread(1));
  Decref(rt.thread(0), o);
  ThreadExit(rt.thread(0));
  ThreadExit(rt.thread(1));
}

// mutant_cs_fallback_incref: lock-free writers, but the reader's fallback
// re-loads under the critical section and does a plain Py_XINCREF. A writer
// that exchanges the value out and frees it between the re-load and the
// incref is not excluded by the section: the incref revives a dead object.
TEST(MemberMutantTest, CsFallbackIncrefResurrectsAFreedValue) {
  Runtime rt(2);
  testing::RecordingObserver obs;
  rt.observer = &obs;
  ThreadStart(rt.thread(0));
  ThreadStart(rt.thread(1));
  TypeSystem sys(rt, *FindVariant("mutant_cs_fallback_incref"));
  Type* t = sys.NewHeapType(rt.thread(0), "T", {{"a"}});
  const MemberDef& a = t->members[0];
  Object* o = NewInstance(rt.thread(0), t);
  Object* v = NewInstance(rt.thread(1), sys.object_type());
  ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, v).ok());
  Decref(rt.thread(1), v);  // the slot holds the only reference; v is thread 1's
  Object* other = NewInstance(rt.thread(1), sys.object_type());
  const void* slot = o->slot(0).address();
  const void* v_local = v->ob_ref_local.address();
  int slot_loads = 0;
  Interleave hook(
      [&](const Access& acc) {
        if (acc.addr == slot) ++slot_loads;
        return slot_loads == 2 && acc.addr == v_local;  // re-loaded v, before Py_XINCREF
      },
      [&] { ASSERT_TRUE(MemberSetOne(rt.thread(1), o, a, other).ok()); });  // exchange + decref: frees v
  InstallSchedHook(&hook);
  AttrResult r = MemberGetOne(rt.thread(0), o, a);
  InstallSchedHook(nullptr);
  ASSERT_TRUE(hook.fired());
  EXPECT_TRUE(r.used_fallback);
  EXPECT_EQ(r.value, v) << "the reader returns the value it re-loaded";
  EXPECT_EQ(obs.Deallocs(ObjectId(v)), 1);
  EXPECT_FALSE(IsBlockLive(v)) << "v was freed by the writer";
  EXPECT_EQ(v->ob_ref_shared.Peek(), RefShared(1, kRefSharedInit)) << "and then incref'd: resurrection";
  EXPECT_EQ(o->slot(0).Peek(), other);
  rt.observer = nullptr;
  ThreadExit(rt.thread(0));
  ThreadExit(rt.thread(1));
}

}  // namespace
}  // namespace ftf::core
