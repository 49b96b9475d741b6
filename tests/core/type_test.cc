// Tests for heap types, version tags, TYPE_LOCK and layout compatibility
// (type.h), and PyType_Modified (class_assign.h).

#include "core/type.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/class_assign.h"
#include "core/critical_section.h"
#include "core/refcount.h"
#include "core/sched_hook.h"
#include "core/variant.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

// Counts scheduling points on one address (to see TYPE_LOCK being taken).
class AddressCounter : public SchedHook {
 public:
  explicit AddressCounter(const void* addr) : addr_(addr) {}
  void OnAccess(const Access& a) override {
    if (a.addr == addr_) ++hits;
  }
  void WaitUntil(const WaitSpec& spec) override {
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
  }
  int hits = 0;

 private:
  const void* addr_;
};

class TypeTest : public MemoryTest {
 protected:
  TypeTest() : sys_(rt_) {}
  Type* Make(const char* name, std::vector<SlotDecl> slots, Type* base = nullptr) {
    return sys_.NewHeapType(T(0), name, slots, base);
  }
  TypeSystem sys_;
};

TEST_F(TypeTest, SlotLayoutFollowsDeclarationOrderAfterTheBase) {
  Type* a = Make("A", {{"x"}, {"y", MemberType::kObject}});
  EXPECT_EQ(a->nslots, 2u);
  EXPECT_EQ(a->basicsize, sizeof(Object) + 2 * sizeof(Cell<Object*>));
  ASSERT_EQ(a->members.size(), 2u);
  EXPECT_EQ(a->members[0].name, "x");
  EXPECT_EQ(a->members[0].index, 0u);
  EXPECT_EQ(a->members[0].offset, 32u);
  EXPECT_EQ(a->members[0].type, MemberType::kObjectEx);
  EXPECT_EQ(a->members[1].offset, 40u);
  EXPECT_EQ(a->members[1].type, MemberType::kObject);
  EXPECT_EQ(a->members[1].d_type, a);
  EXPECT_TRUE(a->IsHeapType());
  EXPECT_FALSE(a->IsImmutable());
  EXPECT_EQ(a->base, sys_.object_type());

  Type* b = Make("B", {{"z"}}, a);  // class B(A): __slots__ = ('z',)
  EXPECT_EQ(b->nslots, 3u);
  EXPECT_EQ(b->members[0].index, 2u);
  EXPECT_EQ(b->members[0].offset, 48u);
  ASSERT_EQ(b->mro.size(), 3u);
  EXPECT_EQ(b->mro[0], b);
  EXPECT_EQ(b->mro[1], a);
  EXPECT_EQ(b->mro[2], sys_.object_type());
  EXPECT_TRUE(IsSubtype(b, a));
  EXPECT_FALSE(IsSubtype(a, b));
  // Inherited members are found through the MRO.
  const MemberDef* x = FindMember(b, "x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->d_type, a);
  EXPECT_EQ(FindMember(b, "nope"), nullptr);

  // An instance has the type's slot count, all NULL, and the type pointer.
  Object* o = NewInstance(T(1), b);
  EXPECT_EQ(o->nslots(), 3u);
  EXPECT_EQ(o->ob_type.Peek(), b);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(o->slot(i).Peek(), nullptr);
  EXPECT_EQ(&SlotAt(o, b->members[0].offset), &o->slot(2));
  Decref(T(1), o);
}

TEST_F(TypeTest, HeapTypeObjectIsDeferredAndOwnedByItsCreator) {
  Type* a = Make("A", {{"x"}});
  Object* tobj = a->object;
  EXPECT_EQ(tobj->ob_tid.Peek(), T(0).tid);
  EXPECT_EQ(tobj->ob_ref_local.Peek(), 1u);
  EXPECT_EQ(tobj->ob_ref_shared.Peek(), RefShared(kRefDeferred, 0));
  EXPECT_NE(tobj->ob_gc_bits.Peek() & kGcBitsDeferred, 0);
  // Ordinary increfs and decrefs from any thread never bring it near zero.
  Decref(T(2), tobj);
  Decref(T(0), tobj);  // local 1 -> 0: the merge keeps it alive (shared is biased)
  EXPECT_TRUE(IsBlockLive(tobj));
  EXPECT_GT(PeekRefcnt(tobj), 1000);
  // `object` is static and immutable, with a version from start-up.
  EXPECT_TRUE(sys_.object_type()->IsImmutable());
  EXPECT_EQ(sys_.object_type()->PeekVersion(), kObjectTypeVersionTag);
  EXPECT_EQ(sys_.object_type()->object->ob_ref_local.Peek(), kImmortalRefcntLocal);
}

TEST_F(TypeTest, VersionAssignedLazilyUnderTypeLock) {
  Type* a = Make("A", {{"x"}});
  Type* b = Make("B", {{"x"}});
  EXPECT_EQ(a->PeekVersion(), 0u) << "no version until a lookup needs one";
  AddressCounter lock_points(sys_.type_lock().address());
  InstallSchedHook(&lock_points);
  TypeLookup la = LookupMemberAndVersion(T(1), a, "x");
  int first = lock_points.hits;
  TypeLookup again = LookupMemberAndVersion(T(1), a, "x");
  int second = lock_points.hits - first;
  InstallSchedHook(nullptr);
  EXPECT_GE(first, 2) << "lock and unlock of TYPE_LOCK";
  EXPECT_EQ(second, 0) << "a type with a version is answered without TYPE_LOCK";
  EXPECT_EQ(sys_.type_lock().PeekBits(), 0);
  EXPECT_EQ(CriticalSectionDepth(T(1)), 0);
  ASSERT_NE(la.member, nullptr);
  EXPECT_EQ(la.member, &a->members[0]);
  EXPECT_EQ(la.version, kTypeBaseVersionTag);
  EXPECT_EQ(again.version, la.version);
  EXPECT_EQ(a->PeekVersion(), kTypeBaseVersionTag);
  EXPECT_EQ(a->PeekVersionsUsed(), 1);
  // Tags are per interpreter and increase.
  TypeLookup lb = LookupMemberAndVersion(T(2), b, "missing");
  EXPECT_EQ(lb.member, nullptr);
  EXPECT_EQ(lb.version, kTypeBaseVersionTag + 1);
  EXPECT_EQ(sys_.next_version_tag.Peek(), kTypeBaseVersionTag + 2);
}

TEST_F(TypeTest, BasesGetVersionsFirstAndModifiedResetsSubclasses) {
  Type* a = Make("A", {{"x"}});
  Type* b = Make("B", {{"y"}}, a);
  Type* c = Make("C", {{"z"}}, b);
  TypeLookup lc = LookupMemberAndVersion(T(0), c, "x");
  ASSERT_NE(lc.member, nullptr);
  EXPECT_NE(a->PeekVersion(), 0u);
  EXPECT_NE(b->PeekVersion(), 0u);
  EXPECT_NE(c->PeekVersion(), 0u);
  EXPECT_LT(a->PeekVersion(), b->PeekVersion());
  EXPECT_LT(b->PeekVersion(), c->PeekVersion());
  // Modifying B invalidates B and its subclass C, not its base A.
  uint32_t va = a->PeekVersion();
  EXPECT_TRUE(TypeModified(T(1), b));
  EXPECT_EQ(b->PeekVersion(), 0u);
  EXPECT_EQ(c->PeekVersion(), 0u);
  EXPECT_EQ(a->PeekVersion(), va);
  // A new version comes only with the next lookup, and it is a fresh one.
  uint32_t next = sys_.next_version_tag.Peek();
  TypeLookup lc2 = LookupMemberAndVersion(T(0), c, "z");
  EXPECT_EQ(b->PeekVersion(), next);
  EXPECT_EQ(c->PeekVersion(), next + 1);
  EXPECT_EQ(lc2.version, next + 1);
  EXPECT_NE(lc2.version, lc.version);
  EXPECT_EQ(c->PeekVersionsUsed(), 2);
  // Modifying a type without a version takes no lock and changes nothing.
  EXPECT_TRUE(TypeModified(T(1), Make("D", {{"w"}})));
  // Static types cannot be modified.
  EXPECT_FALSE(TypeModified(T(1), sys_.object_type()));
  EXPECT_EQ(sys_.object_type()->PeekVersion(), kObjectTypeVersionTag);
}

TEST_F(TypeTest, AtMostMaxVersionsPerClass) {
  Type* a = Make("A", {{"x"}});
  for (int i = 0; i < kMaxVersionsPerClass; ++i) {
    TypeLookup l = LookupMemberAndVersion(T(0), a, "x");
    ASSERT_NE(l.version, 0u) << "version " << i;
    ASSERT_TRUE(TypeModified(T(0), a));
  }
  EXPECT_EQ(a->PeekVersionsUsed(), kMaxVersionsPerClass);
  TypeLookup l = LookupMemberAndVersion(T(0), a, "x");
  EXPECT_EQ(l.version, 0u) << "out of versions: the type stays unspecializable";
  EXPECT_NE(l.member, nullptr) << "lookups still work";
  EXPECT_EQ(a->PeekVersion(), 0u);
  // Another type is unaffected.
  EXPECT_NE(LookupMemberAndVersion(T(0), Make("B", {{"x"}}), "x").version, 0u);
}

TEST_F(TypeTest, ExhaustedVersionCounterGivesNoVersion) {
  Type* a = Make("A", {{"x"}});
  sys_.next_version_tag.Poke(0);  // the interpreter-wide counter wrapped
  EXPECT_EQ(LookupMemberAndVersion(T(0), a, "x").version, 0u);
  EXPECT_EQ(a->PeekVersionsUsed(), 0);
  sys_.next_version_tag.Poke(UINT32_MAX);
  EXPECT_EQ(LookupMemberAndVersion(T(0), a, "x").version, UINT32_MAX);
  EXPECT_EQ(sys_.next_version_tag.Peek(), 0u);
  EXPECT_TRUE(TypeModified(T(0), a));
  EXPECT_EQ(LookupMemberAndVersion(T(0), a, "x").version, 0u);
}

TEST_F(TypeTest, CompatibleForAssignmentFollowsSameSlotsAdded) {
  Type* t0 = Make("T0", {{"a"}, {"b"}});
  Type* t1 = Make("T1", {{"a"}, {"b", MemberType::kObject}});  // kinds are not compared
  Type* t2 = Make("T2", {{"b"}, {"a"}});                        // same names, other order
  Type* t4 = Make("T4", {{"a"}, {"c"}});                        // same size, another name
  Type* t3 = Make("T3", {{"a"}, {"b"}, {"c"}});                  // one more slot
  Type* e0 = Make("E0", {});
  Type* e1 = Make("E1", {});
  Type* s0 = Make("S0", {}, t0);       // adds nothing to T0's layout
  Type* u0 = Make("U0", {{"c"}}, t0);  // class U0(T0): __slots__ = ('c',)
  Type* u1 = Make("U1", {{"c"}}, t1);
  Type* v0 = Make("V0", {{"c"}}, t0);
  Type* obj = sys_.object_type();

  EXPECT_TRUE(CompatibleForAssignment(t0, t0));
  EXPECT_TRUE(CompatibleForAssignment(t0, t1));
  EXPECT_TRUE(CompatibleForAssignment(t1, t0));
  // CPython sorts __slots__ (type_new_copy_slots: ht_slots is sorted), so the
  // order of the declaration does not matter; a different name does.
  EXPECT_TRUE(CompatibleForAssignment(t0, t2));
  EXPECT_EQ(FindMember(t2, "a")->index, FindMember(t0, "a")->index);
  EXPECT_FALSE(CompatibleForAssignment(t0, t4));
  EXPECT_FALSE(CompatibleForAssignment(t0, t3));
  EXPECT_FALSE(CompatibleForAssignment(t3, t0));
  EXPECT_TRUE(CompatibleForAssignment(e0, e1));
  EXPECT_FALSE(CompatibleForAssignment(e0, t0));
  // A subclass that adds no slots is its base, layout-wise.
  EXPECT_TRUE(CompatibleForAssignment(t0, s0));
  EXPECT_TRUE(CompatibleForAssignment(s0, t1));
  // Same added slots, but on different bases: rejected even though the
  // names and sizes agree (same_slots_added needs the same tp_base).
  EXPECT_FALSE(CompatibleForAssignment(u0, u1));
  EXPECT_TRUE(CompatibleForAssignment(u0, v0));
  EXPECT_FALSE(CompatibleForAssignment(u0, t0));
  // `object` vs a heap type: GC flags differ.
  EXPECT_FALSE(CompatibleForAssignment(obj, e0));
  EXPECT_TRUE(SameSlotsAdded(t0, t1));
  EXPECT_TRUE(SameSlotsAdded(t0, t2));
  EXPECT_FALSE(SameSlotsAdded(t0, t4));
}

// Executors reuse a Runtime across inputs: after Runtime::Reset the type
// system is reset too and starts over (fresh `object`, counter, no types).
TEST(TypeSystemResetTest, StartsOverAfterRuntimeReset) {
  Runtime rt(1);
  ThreadStart(rt.thread(0));
  TypeSystem sys(rt, *FindVariant("lockfree_slots"));
  Type* a = sys.NewHeapType(rt.thread(0), "A", {{"x"}});
  ASSERT_EQ(LookupMemberAndVersion(rt.thread(0), a, "x").version, kTypeBaseVersionTag);
  ThreadExit(rt.thread(0));
  rt.Reset();
  sys.Reset();
  EXPECT_EQ(sys.types().size(), 1u);
  EXPECT_EQ(sys.object_type()->name, "object");
  EXPECT_EQ(sys.next_version_tag.Peek(), kTypeBaseVersionTag);
  EXPECT_EQ(sys.variant().name, "lockfree_slots") << "configuration survives";
  ThreadStart(rt.thread(0));
  Type* b = sys.NewHeapType(rt.thread(0), "B", {{"x"}});
  EXPECT_EQ(LookupMemberAndVersion(rt.thread(0), b, "x").version, kTypeBaseVersionTag);
  Object* o = NewInstance(rt.thread(0), b);
  EXPECT_EQ(o->ob_type.Peek(), b);
  Decref(rt.thread(0), o);
  ThreadExit(rt.thread(0));
}

// Real threads: concurrent lookups and modifications keep the version
// machinery consistent (TYPE_LOCK excludes writers; TSan checks the plain
// accesses to next_version_tag and the tag).
TEST(TypeThreadsTest, ConcurrentLookupsAndModifications) {
  constexpr int kThreads = 4;
  constexpr int kIters = 300;
  Runtime rt(kThreads);
  for (int i = 0; i < kThreads; ++i) ThreadStart(rt.thread(i));
  TypeSystem sys(rt);
  Type* a = sys.NewHeapType(rt.thread(0), "A", {{"x"}});
  Type* b = sys.NewHeapType(rt.thread(0), "B", {{"y"}}, a);
  std::atomic<int> zero_versions{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ThreadState& ts = rt.thread(t);
      for (int i = 0; i < kIters; ++i) {
        if ((i + t) % 3 == 0) {
          TypeModified(ts, (i & 1) != 0 ? a : b);
        } else {
          TypeLookup l = LookupMemberAndVersion(ts, b, "x");
          if (l.member == nullptr) std::abort();
          if (l.version == 0) zero_versions.fetch_add(1);
        }
        SafePoint(ts);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sys.type_lock().PeekBits(), 0);
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(CriticalSectionDepth(rt.thread(i)), 0);
  // Every tag handed out came from the counter exactly once.
  uint32_t handed_out = sys.next_version_tag.Peek() - kTypeBaseVersionTag;
  EXPECT_EQ(handed_out, static_cast<uint32_t>(a->PeekVersionsUsed() + b->PeekVersionsUsed()));
  EXPECT_LE(b->PeekVersionsUsed(), kMaxVersionsPerClass);
  // Invariant: a subclass never has a version while its base has none.
  if (b->PeekVersion() != 0) {
    EXPECT_NE(a->PeekVersion(), 0u);
  }
  // A lookup may see 0 only once A or B ran out of versions.
  if (a->PeekVersionsUsed() < kMaxVersionsPerClass && b->PeekVersionsUsed() < kMaxVersionsPerClass) {
    EXPECT_EQ(zero_versions.load(), 0);
  }
  for (int i = 0; i < kThreads; ++i) ThreadExit(rt.thread(i));
}

}  // namespace
}  // namespace ftf::core
