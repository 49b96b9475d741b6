// type.h - heap types with __slots__, their version tags, and TYPE_LOCK.
// What CPython does here: docs/cpython-model.md §10.
//
// Models the parts of PyTypeObject / PyHeapTypeObject (Include/cpython/
// object.h, Objects/typeobject.c) that the slot paths read:
//
// * a heap type created by `class T(Base): __slots__ = (...)`: tp_base,
//   tp_basicsize, the ordered slot names it adds (ht_slots) and the member
//   descriptors type_new gives them (PyMemberDef, Include/descrobject.h,
//   all of kind Py_T_OBJECT_EX unless asked otherwise), tp_mro, tp_flags,
//   tp_subclasses;
// * the version tag (tp_version_tag, tp_versions_used), assigned lazily by
//   assign_version_tag under TYPE_LOCK and reset to 0 by PyType_Modified
//   (class_assign.h); at most kMaxVersionsPerClass versions per type;
// * the per-interpreter type state (interp->types): TYPE_LOCK, always taken
//   as a critical section (BEGIN_TYPE_LOCK), and next_version_tag;
// * the static `object` type every heap type derives from;
// * _PyType_LookupRefAndVersion, the descriptor lookup that specialization
//   and the generic attribute paths use.
//
// A type object is itself an object: `Type::object` is its refcounted header.
// Heap types use deferred reference counting in the FT build
// (_PyObject_SetDeferredRefcount, Objects/object.c): ob_ref_shared is
// biased by _Py_REF_DEFERRED so ordinary increfs and decrefs (e.g. those of
// __class__ assignment) never free it. Instances do not touch their type's
// refcount fields: CPython counts those references in per-thread arrays
// indexed by the type's unique id (_Py_INCREF_TYPE), which the model omits.
//
// Offsets: an instance is the 32-byte header followed by its slots, so the
// member at slot index i has offset sizeof(Object) + 8 * i, exactly what a
// PyMemberDef offset is for a __slots__ member. Inline caches store that
// offset and the specialized instructions address the slot as
// `(char*)owner + offset`, as Python/bytecodes.c does.
//
// Not modelled: the global method cache (_PyType_LookupRefAndVersion's
// lock-free seqlock path is approximated: a lookup is a "hit" whenever the
// type has a non-zero version, otherwise it takes TYPE_LOCK and assigns one);
// member descriptors as objects (a MemberDef is plain data owned by its type);
// the contents of instance dicts and weakref lists (a type's __dict__ /
// __weakref__ only shape its layout flags and offsets: CPython 3.13 manages
// both before the object, so they never change tp_basicsize); detaching
// inline values on __class__ assignment; type watchers; ModuleType.
//
// Thread-safety: everything in a Type except the two version Cells is
// written only while it is built (before any logical thread runs) and then
// read-only. tp_version_tag is written only under TYPE_LOCK (relaxed
// stores) and read by guards with relaxed loads; tp_versions_used is
// incremented atomically under TYPE_LOCK; next_version_tag is read and
// written plainly under TYPE_LOCK (a plain `++` in CPython).
// Memory ordering: relaxed for the version tag (FT_ATOMIC_*_UINT_RELAXED);
// TYPE_LOCK orders the writers.

#ifndef FTF_CORE_TYPE_H_
#define FTF_CORE_TYPE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/atomics.h"
#include "core/critical_section.h"
#include "core/deferred.h"
#include "core/mutex.h"
#include "core/object.h"
#include "core/variant.h"

namespace ftf::core {

class Runtime;
struct ThreadState;
class TypeSystem;

// PyMemberDef.type for object members (Include/descrobject.h).
enum class MemberType : uint8_t {
  kObjectEx,  // Py_T_OBJECT_EX: NULL means "absent": get and delete raise AttributeError
  kObject,    // _Py_T_OBJECT (legacy T_OBJECT): NULL reads as None; delete never complains
};

// PyMemberDef.flags.
inline constexpr uint32_t kMemberReadOnly = 1u << 0;   // Py_READONLY
inline constexpr uint32_t kMemberAuditRead = 1u << 1;  // Py_AUDIT_READ

// tp_flags (only the bits the model reads).
inline constexpr uint64_t kTpFlagsHeapType = 1ull << 9;        // Py_TPFLAGS_HEAPTYPE
inline constexpr uint64_t kTpFlagsReady = 1ull << 12;          // Py_TPFLAGS_READY
inline constexpr uint64_t kTpFlagsImmutableType = 1ull << 8;   // Py_TPFLAGS_IMMUTABLETYPE
inline constexpr uint64_t kTpFlagsHaveGc = 1ull << 14;         // Py_TPFLAGS_HAVE_GC (every heap type)
inline constexpr uint64_t kTpFlagsInlineValues = 1ull << 2;     // Py_TPFLAGS_INLINE_VALUES
inline constexpr uint64_t kTpFlagsManagedWeakref = 1ull << 3;   // Py_TPFLAGS_MANAGED_WEAKREF
inline constexpr uint64_t kTpFlagsManagedDict = 1ull << 4;      // Py_TPFLAGS_MANAGED_DICT
inline constexpr uint64_t kTpFlagsPreheader = kTpFlagsManagedWeakref | kTpFlagsManagedDict;  // Py_TPFLAGS_PREHEADER

// tp_dictoffset / tp_weaklistoffset of a type whose __dict__ / __weakref__
// pointer is managed (stored before the object): -1 (type_new_descriptors)
// and MANAGED_WEAKREF_OFFSET of the FT build (Include/internal/pycore_object.h).
inline constexpr int64_t kManagedDictOffset = -1;
inline constexpr int64_t kManagedWeakrefOffset = -2 * static_cast<int64_t>(sizeof(void*));

inline constexpr uint64_t kTpFlagsSequence = 1ull << 5;        // Py_TPFLAGS_SEQUENCE (abc.register)
inline constexpr uint64_t kTpFlagsIsAbstract = 1ull << 20;     // Py_TPFLAGS_IS_ABSTRACT (__abstractmethods__)

// MAX_VERSIONS_PER_CLASS (Objects/typeobject.c).
inline constexpr uint16_t kMaxVersionsPerClass = 1000;
// _Py_TYPE_BASE_VERSION_TAG (pycore_typeobject.h): heap types count from here;
// smaller tags belong to static builtin types.
inline constexpr uint32_t kTypeBaseVersionTag = 2u << 16;
// The version tag of the static `object` type in the model (any value below
// kTypeBaseVersionTag: static builtin types get theirs at start-up).
inline constexpr uint32_t kObjectTypeVersionTag = 1;

struct Type;

// One member descriptor (PyMemberDescrObject + its PyMemberDef).
struct MemberDef {
  std::string name;
  MemberType type = MemberType::kObjectEx;
  uint32_t flags = 0;
  uint32_t index = 0;   // slot index in instances
  size_t offset = 0;    // byte offset from the object's start (PyMemberDef.offset)
  Type* d_type = nullptr;  // the type that defines it (PyDescrObject.d_type)
};

// Byte offset of slot `index` (what a __slots__ PyMemberDef.offset holds).
constexpr size_t SlotOffset(uint32_t index) { return sizeof(Object) + index * sizeof(Cell<Object*>); }
// The slot at byte `offset` of `o`: `(PyObject **)((char *)o + offset)`.
// Deliberately unchecked, like CPython: a stale offset reads whatever is there.
inline Cell<Object*>& SlotAt(Object* o, size_t offset) {
  return *reinterpret_cast<Cell<Object*>*>(reinterpret_cast<char*>(o) + offset);
}

// What a new heap type's __slots__ add besides named slots: '__dict__' and
// '__weakref__' (type_new_visit_slots). A type that already has one from its
// base cannot add it again (CPython: "we already got one").
struct LayoutExtras {
  bool add_dict = false;
  bool add_weakref = false;
};

// How one slot of a new heap type is declared.
struct SlotDecl {
  std::string name;
  MemberType type = MemberType::kObjectEx;
  uint32_t flags = 0;
};

struct Type {
  Type() = default;
  Type(const Type&) = delete;
  Type& operator=(const Type&) = delete;

  Object* object = nullptr;        // the type object's header (deferred refcount, or immortal for static types)
  TypeSystem* sys = nullptr;       // the interpreter this type belongs to
  std::string name;                // tp_name
  Type* base = nullptr;            // tp_base; nullptr only for `object`
  uint64_t flags = 0;              // tp_flags
  uint32_t basicsize = 0;          // tp_basicsize: header + 8 * nslots
  uint32_t nslots = 0;             // slots of an instance (the base's first, then this type's)
  int64_t dictoffset = 0;          // tp_dictoffset: 0 = no __dict__, kManagedDictOffset = managed
  int64_t weaklistoffset = 0;      // tp_weaklistoffset: 0 = no __weakref__, kManagedWeakrefOffset = managed
  std::vector<std::string> slot_names;  // ht_slots: the names this type adds, in order
  std::vector<MemberDef> members;       // the member descriptors this type defines (its tp_dict)
  std::vector<Type*> mro;               // tp_mro: this type first, `object` last
  std::vector<Type*> subclasses;        // tp_subclasses (set-up only)

  Cell<uint32_t> tp_version_tag{0};    // 0 = no valid version
  // The tp_flags bits that change after creation (kTpFlagsSequence,
  // kTpFlagsIsAbstract: type_set_flags_with_mask / type_add_flags). CPython
  // keeps them in tp_flags; apart here so `flags` stays set-up data. Written
  // with plain stores only while the world is stopped (class_assign.h).
  Cell<uint64_t> tp_flags_changed{0};
  Cell<uint16_t> tp_versions_used{0};

  bool IsHeapType() const { return (flags & kTpFlagsHeapType) != 0; }
  bool IsImmutable() const { return (flags & kTpFlagsImmutableType) != 0; }
  bool IsReady() const { return (flags & kTpFlagsReady) != 0; }

  // For tests and reports: no scheduling point.
  uint32_t PeekVersion() const { return tp_version_tag.Peek(); }
  uint16_t PeekVersionsUsed() const { return tp_versions_used.Peek(); }
};

// The per-interpreter type state (models interp->types and TYPE_LOCK) plus
// the types of one program. Until Runtime owns one (and the variant), an
// executor keeps one next to its Runtime and re-creates its types after each
// Runtime::Reset (Reset frees the blocks of the type objects).
//
// Thread-safety: built and Reset while no logical thread runs; afterwards
// only next_version_tag and the types' version Cells change (under type_lock).
class TypeSystem {
 public:
  explicit TypeSystem(Runtime& rt, const Variant& variant = LockedVariant());
  ~TypeSystem();
  TypeSystem(const TypeSystem&) = delete;
  TypeSystem& operator=(const TypeSystem&) = delete;

  Runtime& rt() const { return *rt_; }
  // The strategy choices of the contested slot paths (variant.h).
  const Variant& variant() const { return *variant_; }
  void set_variant(const Variant& v) { variant_ = &v; }

  // TYPE_LOCK (interp->types.mutex). Use through TypeLockBegin/End.
  Mutex& type_lock() { return type_lock_; }
  // interp->types.next_version_tag: plain accesses, under TYPE_LOCK only.
  Cell<uint32_t> next_version_tag{kTypeBaseVersionTag};

  // The static `object` type (immutable, always has a version).
  Type* object_type() const { return object_type_; }
  // None (the Runtime's immortal singleton).
  Object* none() const;

  // Creates `class <name>(<base>): __slots__ = <slots>` (base nullptr =
  // object), plus '__dict__' / '__weakref__' as `extras` say, ready, no
  // version yet. The type object is allocated from ts's heap, owned by ts,
  // and given deferred reference counting. Set-up time: call before the type
  // is visible to other logical threads.
  Type* NewHeapType(ThreadState& ts, std::string name, const std::vector<SlotDecl>& slots, Type* base = nullptr,
                    const LayoutExtras& extras = {});

  // Back to a fresh state: all heap types dropped, next_version_tag back to
  // kTypeBaseVersionTag, `object` re-created. Call after Runtime::Reset, while
  // no logical thread runs.
  void Reset();

  const std::vector<std::unique_ptr<Type>>& types() const { return types_; }

 private:
  void MakeObjectType();

  Runtime* rt_;
  const Variant* variant_;
  Mutex type_lock_;
  Type* object_type_ = nullptr;
  std::vector<std::unique_ptr<Type>> types_;  // object_type_ first
};

// The type `t` stands for when an object's ob_type is nullptr (bare model
// objects made with NewObject(ts, n)): `object`.
inline Type* TypeOrObject(TypeSystem& sys, Type* t) { return t != nullptr ? t : sys.object_type(); }

// Creates an instance of `t` with all slots NULL (models PyType_GenericAlloc
// through tp_alloc), owned by ts.
Object* NewInstance(ThreadState& ts, Type* t);

// BEGIN_TYPE_LOCK / END_TYPE_LOCK: a critical section on TYPE_LOCK (may
// block, and so detach and suspend the thread's other sections).
void TypeLockBegin(ThreadState& ts, TypeSystem& sys, CriticalSection* cs);
void TypeLockEnd(ThreadState& ts, CriticalSection* cs);
// type_lock_prevent_release / type_lock_allow_release: keep TYPE_LOCK held
// (pinned) across a stop-the-world requested inside BEGIN_TYPE_LOCK
// (critical_section.h, CriticalSectionPin).
void TypeLockPreventRelease(ThreadState& ts, TypeSystem& sys);
void TypeLockAllowRelease(ThreadState& ts, TypeSystem& sys);

// Models assign_version_tag (Objects/typeobject.c). The caller holds
// TYPE_LOCK. True iff `t` has a non-zero version on return. Fails when the
// type is not ready, has used kMaxVersionsPerClass versions, a base cannot
// get one, or next_version_tag is exhausted (wrapped to 0).
bool AssignVersionTag(ThreadState& ts, Type* t);

// Models set_version_unlocked: relaxed store of the tag; a non-zero tag
// counts against tp_versions_used (atomic add). The caller holds TYPE_LOCK.
void SetVersionUnlocked(Type* t, uint32_t version);

// PyType_IsSubtype through tp_mro (immutable after creation: no access of
// the modelled program).
bool IsSubtype(const Type* a, const Type* b);

// find_name_in_mro restricted to member descriptors: the first member called
// `name` along t's MRO, or nullptr. Pure (type dicts never change here).
const MemberDef* FindMember(const Type* t, std::string_view name);

// Models _PyType_LookupRefAndVersion: the descriptor for `name` and the
// version tag the answer is valid for (0 when the type has none and cannot
// get one). See the banner for the type-cache approximation.
struct TypeLookup {
  const MemberDef* member = nullptr;
  uint32_t version = 0;
};
TypeLookup LookupMemberAndVersion(ThreadState& ts, Type* t, std::string_view name);

// Models compatible_for_assignment(oldto, newto, "__class__") with
// compatible_with_tp_base and same_slots_added, as CPython 3.13.5 and main
// (docs/cpython-model.md §22): the layout-defining
// bases of both types must be the same type, or share tp_base and add the
// same (sorted) slot names with sizes that add up; Py_TPFLAGS_INLINE_VALUES
// and the Py_TPFLAGS_PREHEADER bits must match. Pure.
bool CompatibleForAssignment(const Type* oldto, const Type* newto);
bool SameSlotsAdded(const Type* a, const Type* b);

}  // namespace ftf::core

#endif  // FTF_CORE_TYPE_H_
