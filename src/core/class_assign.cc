// class_assign.cc - __class__ assignment and PyType_Modified (see class_assign.h).

#include "core/class_assign.h"

#include "core/critical_section.h"
#include "core/observer.h"
#include "core/runtime.h"
#include "core/refcount.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "core/variant.h"

namespace ftf::core {
namespace {

// object_set_class_world_stopped: the checks and the store.
SetClassStatus SetClassWorldStopped(ThreadState& ts, TypeSystem& sys, Object* obj, Type* newto) {
  Type* oldto = TypeOrObject(sys, obj->ob_type.LoadPlain());
  // Only HEAPTYPE -> HEAPTYPE in practice: both must be mutable.
  if (newto->IsImmutable() || oldto->IsImmutable()) return SetClassStatus::kTypeErrorImmutable;
  if (!CompatibleForAssignment(oldto, newto)) return SetClassStatus::kTypeErrorLayout;
  // (Inline values would be detached into a dict here: not modelled.)
  if (newto->IsHeapType()) Incref(ts, newto->object);
  obj->ob_type.StorePlain(newto);  // Py_SET_TYPE
  if (Observer* o = ts.rt->observer) o->OnTypeChanged(ts, obj, oldto, newto);
  return SetClassStatus::kOk;
}

// type_modified_unlocked: subclasses first, then this type's tag to 0.
void TypeModifiedUnlocked(Type* t) {
  if (t->tp_version_tag.LoadPlain() == 0) return;  // under TYPE_LOCK
  for (Type* sub : t->subclasses) TypeModifiedUnlocked(sub);
  // (Type watchers would run here: not modelled.)
  SetVersionUnlocked(t, 0);
}

// The bits of tp_flags the model changes after creation (type.h).
uint64_t FlagsOf(const Type* t) { return t->flags | t->tp_flags_changed.LoadPlain(); }

// type_set_flags_with_mask, with the world stopped (plain store).
void SetFlagsWithMask(Type* t, uint64_t mask, uint64_t flags) {
  uint64_t changed = t->tp_flags_changed.LoadPlain();
  t->tp_flags_changed.StorePlain((changed & ~mask) | (flags & mask));
}

// set_flags_recursive: T, then its subclasses, skipping immutable types and
// those already set.
void SetFlagsRecursive(Type* t, uint64_t mask, uint64_t flags) {
  if (t->IsImmutable() || (FlagsOf(t) & mask) == flags) return;
  SetFlagsWithMask(t, mask, flags);
  for (Type* sub : t->subclasses) SetFlagsRecursive(sub, mask, flags);
}

}  // namespace

const char* SetClassStatusName(SetClassStatus s) {
  switch (s) {
    case SetClassStatus::kOk: return "ok";
    case SetClassStatus::kTypeErrorImmutable: return "TypeError(immutable type)";
    case SetClassStatus::kTypeErrorLayout: return "TypeError(layout differs)";
  }
  return "?";
}

bool IsUniquelyReferenced(const ThreadState& ts, const Object* o) {
  return IsOwnedByCurrentThread(ts, o) && o->ob_ref_local.LoadRelaxed() == 1 && o->ob_ref_shared.LoadRelaxed() == 0;
}

SetClassResult SetClass(ThreadState& ts, Object* obj, Type* newto, const SetClassOptions& options) {
  TypeSystem& sys = *newto->sys;
  SetClassResult r;
  r.new_type = newto;
  bool stop = sys.variant().class_swap_stops_world;
  if (stop && options.skip_stw_if_unique && IsUniquelyReferenced(ts, obj)) stop = false;
  if (stop) StopTheWorld(ts);
  // Read with the world stopped: no other thread can change it now.
  Type* oldto = TypeOrObject(sys, obj->ob_type.LoadPlain());
  r.status = SetClassWorldStopped(ts, sys, obj, newto);
  if (stop) StartTheWorld(ts);
  r.old_type = oldto;
  r.stopped_world = stop;
  if (r.ok() && oldto->IsHeapType()) Decref(ts, oldto->object);
  return r;
}

bool TypeModified(ThreadState& ts, Type* t) {
  if (t->IsImmutable()) return false;
  // Quick check without the lock.
  if (t->tp_version_tag.LoadRelaxed() == 0) return true;
  CriticalSection cs;
  TypeLockBegin(ts, *t->sys, &cs);
  TypeModifiedUnlocked(t);
  TypeLockEnd(ts, &cs);
  return true;
}

}  // namespace ftf::core

namespace ftf::core {

void TypeSetFlagsRecursive(ThreadState& ts, Type* t, uint64_t mask, uint64_t flags) {
  TypeSystem& sys = *t->sys;
  if (sys.variant().type_lock_inside_stop) {
    // The mutant: the stop first, then TYPE_LOCK as a plain blocking lock
    // (a section begun while stopped takes no lock since gh-144513). A
    // TYPE_LOCK handed off to a thread this stop suspended while it was
    // parked on it stays locked until that thread runs: never (gh-133130).
    StopTheWorld(ts);
    sys.type_lock().Lock(&ts, LockFlags::kDetach);
    if (!t->IsImmutable() && (FlagsOf(t) & mask) != flags) TypeModifiedUnlocked(t);
    SetFlagsRecursive(t, mask, flags);
    sys.type_lock().Unlock();
    StartTheWorld(ts);
    return;
  }
  CriticalSection cs;
  TypeLockBegin(ts, sys, &cs);
  // Under TYPE_LOCK: tp_flags changes only with the world stopped, and this
  // thread is attached, so the read races with no writer.
  if (!t->IsImmutable() && (FlagsOf(t) & mask) != flags) TypeModifiedUnlocked(t);
  // Keep TYPE_LOCK held while waiting for the stop, so that no thread can
  // assign a version tag before the flags change.
  TypeLockPreventRelease(ts, sys);
  StopTheWorld(ts);
  SetFlagsRecursive(t, mask, flags);
  StartTheWorld(ts);
  TypeLockAllowRelease(ts, sys);
  TypeLockEnd(ts, &cs);
}

bool TypeSetAbstract(ThreadState& ts, Type* t, bool abstract) {
  if (t->IsImmutable()) return false;
  TypeSystem& sys = *t->sys;
  CriticalSection cs;
  TypeLockBegin(ts, sys, &cs);
  TypeModifiedUnlocked(t);
  StopTheWorld(ts);
  SetFlagsWithMask(t, kTpFlagsIsAbstract, abstract ? kTpFlagsIsAbstract : 0);
  StartTheWorld(ts);
  TypeLockEnd(ts, &cs);
  return true;
}

}  // namespace ftf::core
