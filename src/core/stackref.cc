// stackref.cc - tagged stack references (see stackref.h).

#include "core/stackref.h"

#include "core/deferred.h"
#include "core/refcount.h"

namespace ftf::core {

StackRef StackRefFromNew(ThreadState& ts, Object* o) {
  if (IsDeferred(o)) return StackRefTagged(o);
  return StackRefFromSteal(NewRef(ts, o));
}

// PyStackRef_XCLOSE: a tagged reference (deferred object, or NULL) owns no
// count, so closing it does nothing; the collector alone frees the object.
void StackRefClose(ThreadState& ts, StackRef r) {
  if (StackRefIsDeferred(r)) return;
  Decref(ts, StackRefBorrow(r));
}

Object* StackRefAsPyObjectSteal(ThreadState& ts, StackRef r) {
  if (StackRefIsNull(r)) return nullptr;
  Object* o = StackRefBorrow(r);
  return StackRefIsDeferred(r) ? NewRef(ts, o) : o;
}

StackRef StackRefDup(ThreadState& ts, StackRef r) {
  if (!StackRefIsDeferred(r)) Incref(ts, StackRefBorrow(r));
  return r;
}

// _Py_TryIncrefCompareStackRef (pycore_stackref.h, main). Safe in CPython
// because a deferred object is freed only by the collector, which stops the
// world: not between this thread's load of `op` and its next safe point.
bool TryIncrefCompareStackRef(ThreadState& ts, const Cell<Object*>& src, Object* op, StackRef* out) {
  if (IsDeferred(op)) {
    *out = StackRefTagged(op);
    return true;
  }
  if (TryIncrefCompare(ts, src, op)) {
    *out = StackRefFromSteal(op);
    return true;
  }
  return false;
}

}  // namespace ftf::core
