// class_assign.h - `obj.__class__ = T` and type modification.
// What CPython does here: docs/cpython-model.md §13.
//
// Models object_set_class / object_set_class_world_stopped /
// compatible_for_assignment and PyType_Modified / type_modified_unlocked
// (Objects/typeobject.c).
//
// __class__ assignment (FT, since gh-120198 / PR #120672):
//   stop the world (types_stop_world); oldto = Py_TYPE(self) (plain load);
//   then, world stopped: re-read Py_TYPE(self); TypeError unless both types
//   are mutable (no ModuleType in the model) and compatible_for_assignment
//   (same layout-defining base, or same tp_base + same_slots_added);
//   Py_INCREF(newto) for a heap type; Py_SET_TYPE (a plain store);
//   start the world; Py_DECREF(oldto) for a heap type.
// With the variant's class_swap_stops_world off (mutant_class_swap_no_stw)
// the same steps run while the other threads keep running, so the plain
// store races with the plain loads of ob_type in the type-version guards.
//
// Optionally (SetClassOptions::skip_stw_if_unique) the stop is skipped when
// the object is uniquely referenced by the caller, as gh-145566 (commit
// 1d091a336e60, March 2026, "Skip stop-the-world when reassigning __class__
// on newly created objects") does: `unique = _PyObject_IsUniquelyReferenced
// (self)` (FT: owned by the current thread, local == 1, shared == 0, relaxed
// loads); `if (!unique) types_stop_world()`. Off by default: the exact
// condition is not confirmed against CPython main (docs/cpython-model.md §13).
//
// PyType_Modified: relaxed load of tp_version_tag, return if 0; otherwise
// under TYPE_LOCK (a critical section) invalidate every subclass first, then
// set the version to 0. The next lookup or specialization assigns a fresh
// one (type.h), each counting against kMaxVersionsPerClass.
//
// Type flags changed after creation, each under TYPE_LOCK and with the world
// stopped (Objects/typeobject.c, CPython main):
//   _PyType_SetFlagsRecursive (abc.register(T) on collections.abc.Sequence):
//     BEGIN_TYPE_LOCK; _PyType_Modified_Unlocked if the bits change;
//     type_lock_prevent_release; types_stop_world; set_flags_recursive
//     (T and its subclasses); types_start_world; type_lock_allow_release;
//     END_TYPE_LOCK. TYPE_LOCK stays held while the requester waits.
//   type_set_abstractmethods (T.__abstractmethods__ = ...): BEGIN_TYPE_LOCK;
//     _PyType_Modified_Unlocked; types_stop_world; type_add_flags /
//     type_clear_flags; types_start_world; END_TYPE_LOCK. No pin: if the
//     requester waits for the stop-the-world mutex, its detach releases
//     TYPE_LOCK, and (gh-158195) it gets it back when the world restarts.
//
// Thread-safety: any attached logical thread. SetClass stops the world, so
// it must not be called while the caller holds critical sections that other
// threads need to reach their safe points (as in CPython).

#ifndef FTF_CORE_CLASS_ASSIGN_H_
#define FTF_CORE_CLASS_ASSIGN_H_

#include <cstdint>

#include "core/object.h"
#include "core/type.h"

namespace ftf::core {

struct ThreadState;

enum class SetClassStatus : uint8_t {
  kOk,
  // TypeError: __class__ assignment only supported for mutable types or ModuleType subclasses
  kTypeErrorImmutable,
  // TypeError: __class__ assignment: 'N' object layout differs from 'O'
  kTypeErrorLayout,
};
const char* SetClassStatusName(SetClassStatus s);

struct SetClassResult {
  SetClassStatus status = SetClassStatus::kOk;
  Type* old_type = nullptr;  // Py_TYPE(self) as read after the stop (nullptr read as `object`)
  Type* new_type = nullptr;
  bool stopped_world = false;
  bool ok() const { return status == SetClassStatus::kOk; }
};

struct SetClassOptions {
  bool skip_stw_if_unique = false;  // gh-145566 (see the banner)
};

// obj.__class__ = newto. The caller holds a reference to obj.
SetClassResult SetClass(ThreadState& ts, Object* obj, Type* newto, const SetClassOptions& options = {});

// _PyObject_IsUniquelyReferenced (FT): owned by ts, local == 1, shared == 0.
bool IsUniquelyReferenced(const ThreadState& ts, const Object* o);

// PyType_Modified(t). Returns false, doing nothing, for an immutable type
// (type_setattro refuses to modify those with a TypeError).
bool TypeModified(ThreadState& ts, Type* t);

// _PyType_SetFlagsRecursive(t, mask, flags) (see the banner).
void TypeSetFlagsRecursive(ThreadState& ts, Type* t, uint64_t mask, uint64_t flags);

// The flag part of type_set_abstractmethods(t, value): IS_ABSTRACT set iff
// `abstract` (see the banner). Returns false, doing nothing, for an immutable
// type (type_setattro refuses with a TypeError).
bool TypeSetAbstract(ThreadState& ts, Type* t, bool abstract);

}  // namespace ftf::core

#endif  // FTF_CORE_CLASS_ASSIGN_H_
