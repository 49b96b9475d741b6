// type.cc - heap types, version tags, TYPE_LOCK and the descriptor lookup
// (see type.h). Follows Objects/typeobject.c: type_new (slot layout),
// assign_version_tag / set_version_unlocked, _PyType_LookupRefAndVersion,
// compatible_with_tp_base / same_slots_added / compatible_for_assignment.

#include "core/type.h"

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <utility>

#include "core/critical_section.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

[[noreturn]] void Fatal(const char* what, const std::string& detail) {
  std::fprintf(stderr, "ftfuzz: model fatal error: %s: %s\n", what, detail.c_str());
  std::abort();
}

// compatible_with_tp_base: `child` adds nothing to its base's layout (same
// basic size, dict and weaklist offsets, same GC-ness; the model has no item
// size, and one deallocator for every heap type).
bool CompatibleWithTpBase(const Type* child) {
  const Type* parent = child->base;
  if (parent == nullptr) return false;
  const bool same_size = child->basicsize == parent->basicsize || !child->sys->variant().tp_base_walk_compares_size;
  return same_size && child->dictoffset == parent->dictoffset &&
         child->weaklistoffset == parent->weaklistoffset &&
         (child->flags & kTpFlagsHaveGc) == (parent->flags & kTpFlagsHaveGc);
}

}  // namespace

// --- TypeSystem -------------------------------------------------------------

TypeSystem::TypeSystem(Runtime& rt, const Variant& variant) : rt_(&rt), variant_(&variant) { MakeObjectType(); }

TypeSystem::~TypeSystem() = default;

Object* TypeSystem::none() const { return rt_->none(); }

// The static `object` type: immutable, no slots, a version tag from start-up
// (static builtin types get theirs from the runtime-global counter).
void TypeSystem::MakeObjectType() {
  auto t = std::make_unique<Type>();
  t->sys = this;
  t->name = "object";
  t->flags = kTpFlagsReady | kTpFlagsImmutableType;
  t->basicsize = static_cast<uint32_t>(sizeof(Object));
  t->nslots = 0;
  t->mro.push_back(t.get());
  t->tp_version_tag.Init(kObjectTypeVersionTag);
  t->tp_versions_used.Init(1);
  t->object = NewStaticObject(*rt_, 0);
  object_type_ = t.get();
  types_.push_back(std::move(t));
}

void TypeSystem::Reset() {
  types_.clear();
  object_type_ = nullptr;
  next_version_tag.Init(kTypeBaseVersionTag);
  type_lock_.~Mutex();
  new (&type_lock_) Mutex();
  MakeObjectType();
}

// Models type_new for `class name(base): __slots__ = (...)`: the base's slots
// come first, then one member per declared name, in order (type_new_descriptors).
Type* TypeSystem::NewHeapType(ThreadState& ts, std::string name, const std::vector<SlotDecl>& slots_in, Type* base,
                              const LayoutExtras& extras) {
  if (base == nullptr) base = object_type_;
  auto t = std::make_unique<Type>();
  t->sys = this;
  t->name = std::move(name);
  t->base = base;
  t->flags = kTpFlagsHeapType | kTpFlagsReady | kTpFlagsHaveGc;
  const uint32_t first = base->nslots;
  if (first + slots_in.size() > kMaxSlots) Fatal("too many slots", t->name);
  t->nslots = first + static_cast<uint32_t>(slots_in.size());
  t->basicsize = static_cast<uint32_t>(SlotOffset(t->nslots));
  // __dict__ / __weakref__ (type_new_slots, type_new_descriptors,
  // inherit_special, type_ready_managed_dict): inherited with the
  // Py_TPFLAGS_PREHEADER bits and the offsets; added only if the base has
  // none; managed, so tp_basicsize stays header + slots.
  if ((extras.add_dict && base->dictoffset != 0) || (extras.add_weakref && base->weaklistoffset != 0)) {
    Fatal("__dict__ or __weakref__ slot disallowed: we already got one", t->name);
  }
  t->flags |= base->flags & kTpFlagsPreheader;
  t->dictoffset = base->dictoffset;
  t->weaklistoffset = base->weaklistoffset;
  if (extras.add_weakref) {
    t->flags |= kTpFlagsManagedWeakref;
    t->weaklistoffset = kManagedWeakrefOffset;
  }
  if (extras.add_dict) {
    t->flags |= kTpFlagsManagedDict;
    t->dictoffset = kManagedDictOffset;
  }
  if ((t->flags & kTpFlagsManagedDict) != 0 && t->basicsize == sizeof(Object)) t->flags |= kTpFlagsInlineValues;
  t->members.reserve(slots_in.size());  // MemberDef addresses must stay stable
  for (size_t i = 0; i < slots_in.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (slots_in[j].name == slots_in[i].name) Fatal("duplicate __slots__ name", t->name + "." + slots_in[i].name);
  // type_new_copy_slots sorts the names (ht_slots is a sorted tuple) and
  // type_new_descriptors lays the members out in that order: `__slots__ =
  // ('b', 'a')` and `('a', 'b')` make the same layout, and same_slots_added
  // (compatible_for_assignment) compares the sorted tuples.
  std::vector<SlotDecl> slots = slots_in;
  std::stable_sort(slots.begin(), slots.end(), [](const SlotDecl& x, const SlotDecl& y) { return x.name < y.name; });
  for (size_t i = 0; i < slots.size(); ++i) {
    const uint32_t index = first + static_cast<uint32_t>(i);
    t->slot_names.push_back(slots[i].name);
    t->members.push_back(MemberDef{slots[i].name, slots[i].type, slots[i].flags, index, SlotOffset(index), t.get()});
  }
  t->mro.push_back(t.get());
  for (Type* m : base->mro) t->mro.push_back(m);
  base->subclasses.push_back(t.get());
  // A heap type is an object allocated by the creating thread, then given
  // deferred reference counting (type_new_alloc).
  t->object = NewObject(ts, 0);
  SetDeferredRefcount(ts, t->object);
  types_.push_back(std::move(t));
  return types_.back().get();
}

// --- instances, locks, versions ---------------------------------------------

Object* NewInstance(ThreadState& ts, Type* t) { return GcTrackNewInstance(NewObject(ts, t->nslots, t), t); }

void TypeLockBegin(ThreadState& ts, TypeSystem& sys, CriticalSection* cs) {
  CriticalSectionBegin(ts, cs, &sys.type_lock());
}

void TypeLockEnd(ThreadState& ts, CriticalSection* cs) { CriticalSectionEnd(ts, cs); }

void TypeLockPreventRelease(ThreadState& ts, TypeSystem& sys) {
  if (!TopSectionHolds(ts, &sys.type_lock())) Fatal("type_lock_prevent_release", "TYPE_LOCK is not held by the top section");
  CriticalSectionPin(ts, &sys.type_lock());
}

void TypeLockAllowRelease(ThreadState& ts, TypeSystem& sys) { CriticalSectionUnpin(ts, &sys.type_lock()); }

void SetVersionUnlocked(Type* t, uint32_t version) {
  if (version != 0) t->tp_versions_used.FetchAddSeqCst(1);
  t->tp_version_tag.StoreRelaxed(version);
}

bool AssignVersionTag(ThreadState& ts, Type* t) {
  // ASSERT_TYPE_LOCK_HELD: a model invariant, checked without a scheduling point.
  if (!TopSectionHolds(ts, &t->sys->type_lock())) Fatal("assign_version_tag without TYPE_LOCK", t->name);
  // Plain reads: every writer of these fields holds TYPE_LOCK.
  if (t->tp_version_tag.LoadPlain() != 0) return true;
  if (!t->IsReady()) return false;
  if (t->tp_versions_used.LoadPlain() >= kMaxVersionsPerClass) return false;
  // Bases first, so a type never has a version while a base has none.
  if (t->base != nullptr && !AssignVersionTag(ts, t->base)) return false;
  if (t->IsImmutable()) {
    // Static types: versions come from the runtime-global counter at start-up
    // and never change in the model.
    return t->tp_version_tag.LoadPlain() != 0;
  }
  Cell<uint32_t>& next = t->sys->next_version_tag;
  uint32_t tag = next.LoadPlain();
  if (tag == 0) return false;  // out of version numbers (the counter wrapped)
  next.StorePlain(tag + 1);
  SetVersionUnlocked(t, tag);
  return true;
}

bool IsSubtype(const Type* a, const Type* b) {
  for (const Type* m : a->mro)
    if (m == b) return true;
  return false;
}

const MemberDef* FindMember(const Type* t, std::string_view name) {
  for (const Type* m : t->mro)
    for (const MemberDef& d : m->members)
      if (d.name == name) return &d;
  return nullptr;
}

TypeLookup LookupMemberAndVersion(ThreadState& ts, Type* t, std::string_view name) {
  // Stand-in for the lock-free type-cache hit: the FT lookup acquire-loads the
  // type's version and trusts an entry stamped with it.
  uint32_t version = t->tp_version_tag.LoadAcquire();
  if (version != 0) return TypeLookup{FindMember(t, name), version};
  // Miss: under TYPE_LOCK, assign a version before walking the MRO (the walk
  // may block and release the lock), then look up.
  CriticalSection cs;
  TypeLockBegin(ts, *t->sys, &cs);
  bool has_version = AssignVersionTag(ts, t);
  version = has_version ? t->tp_version_tag.LoadPlain() : 0;
  const MemberDef* member = FindMember(t, name);
  TypeLockEnd(ts, &cs);
  return TypeLookup{member, version};
}

// --- layout compatibility ---------------------------------------------------

bool SameSlotsAdded(const Type* a, const Type* b) {
  const Type* base = a->base;
  if (base == nullptr || base != b->base) return false;
  // A __dict__ or __weakref__ pointer right after the base counts in the
  // size (never with managed ones, whose offsets are negative).
  int64_t size = base->basicsize;
  if (a->dictoffset == size && b->dictoffset == size) size += sizeof(Cell<Object*>);
  if (a->weaklistoffset == size && b->weaklistoffset == size) size += sizeof(Cell<Object*>);
  if (!a->IsHeapType() || !b->IsHeapType()) return false;
  // The sorted __slots__ tuples must compare equal.
  if (a->slot_names != b->slot_names) return false;
  size += static_cast<int64_t>(a->slot_names.size() * sizeof(Cell<Object*>));
  return size == a->basicsize && size == b->basicsize;
}

bool CompatibleForAssignment(const Type* oldto, const Type* newto) {
  // Same tp_free: one deallocator for all model types; it is a GC one for
  // every heap type, so HAVE_GC must match.
  if ((oldto->flags & kTpFlagsHaveGc) != (newto->flags & kTpFlagsHaveGc)) return false;
  // Find the highest supertype each is layout-compatible with.
  const Type* newbase = newto;
  const Type* oldbase = oldto;
  while (CompatibleWithTpBase(newbase)) newbase = newbase->base;
  while (CompatibleWithTpBase(oldbase)) oldbase = oldbase->base;
  if (newbase != oldbase && (newbase->base != oldbase->base || !SameSlotsAdded(newbase, oldbase))) return false;
  // Checked on the types themselves: inline values, then the preheader.
  if ((oldto->flags & kTpFlagsInlineValues) != (newto->flags & kTpFlagsInlineValues)) return false;
  return (oldto->flags & kTpFlagsPreheader) == (newto->flags & kTpFlagsPreheader);
}

}  // namespace ftf::core
