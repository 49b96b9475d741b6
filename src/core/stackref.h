// stackref.h - tagged stack references (_PyStackRef) of the free-threaded
// build, and _Py_TryIncrefCompareStackRef. What CPython does here:
// docs/cpython-model.md §19.
//
// Models Include/internal/pycore_stackref.h of CPython main (Py_GIL_DISABLED):
// a _PyStackRef is a pointer whose low bit Py_TAG_DEFERRED says that the
// reference holds NO count. Such references are made for deferred objects
// (deferred.h), which only the garbage collector frees, and it sees them by
// scanning the thread stacks. An untagged reference owns one count.
//   PyStackRef_NULL                 bits == Py_TAG_DEFERRED
//   PyStackRef_FromPyObjectSteal    untagged; takes over the caller's count
//   PyStackRef_FromPyObjectNew      deferred: tagged, no incref; else Py_NewRef
//   PyStackRef_CLOSE / _XCLOSE      Py_DECREF unless tagged
//   PyStackRef_AsPyObjectSteal      a counted PyObject*: Py_NewRef if tagged
//   PyStackRef_DUP                  Py_INCREF unless tagged
//   _Py_TryIncrefCompareStackRef    deferred: tagged, with NO re-check of the
//                                   source; else _Py_TryIncrefCompare
// The model's registers (src/runner) are a thread's stack: they hold
// StackRefs, so a specialized LOAD_GLOBAL of a deferred global leaves a
// tagged reference there, and storing it anywhere converts it as CPython's
// STORE_* bytecodes do (AsPyObjectSteal).
//
// Thread-safety: a StackRef is a value owned by one logical thread.
// Memory ordering: that of the refcount operations used (refcount.h); the
// deferred check is the relaxed ob_gc_bits load of IsDeferred.

#ifndef FTF_CORE_STACKREF_H_
#define FTF_CORE_STACKREF_H_

#include <cstdint>

#include "core/atomics.h"
#include "core/object.h"

namespace ftf::core {

struct ThreadState;

inline constexpr uintptr_t kTagDeferred = 1;  // Py_TAG_DEFERRED (= Py_TAG_REFCNT)
inline constexpr uintptr_t kTagBits = 3;      // Py_TAG_BITS

struct StackRef {
  uintptr_t bits = kTagDeferred;  // PyStackRef_NULL
  bool operator==(const StackRef&) const = default;
};

inline constexpr StackRef kStackRefNull{};

inline bool StackRefIsNull(StackRef r) { return r.bits == kTagDeferred; }
// PyStackRef_IsDeferred: the reference holds no count (never true for NULL
// in the model's use: callers test IsNull first).
inline bool StackRefIsDeferred(StackRef r) { return (r.bits & kTagBits) == kTagDeferred; }
// PyStackRef_AsPyObjectBorrow: the object, or nullptr for NULL.
inline Object* StackRefBorrow(StackRef r) { return reinterpret_cast<Object*>(r.bits & ~kTagBits); }
// PyStackRef_FromPyObjectSteal; nullptr gives NULL.
inline StackRef StackRefFromSteal(Object* o) {
  return o == nullptr ? kStackRefNull : StackRef{reinterpret_cast<uintptr_t>(o)};
}
// PyStackRef_FromPyObjectBorrow: tagged, no count (only for objects kept
// alive otherwise: deferred or immortal ones).
inline StackRef StackRefTagged(Object* o) { return StackRef{reinterpret_cast<uintptr_t>(o) | kTagDeferred}; }

// PyStackRef_FromPyObjectNew.
StackRef StackRefFromNew(ThreadState& ts, Object* o);
// PyStackRef_XCLOSE: drops the count an untagged reference owns.
void StackRefClose(ThreadState& ts, StackRef r);
// PyStackRef_AsPyObjectSteal: consumes `r`, returns a counted reference
// (nullptr for NULL).
Object* StackRefAsPyObjectSteal(ThreadState& ts, StackRef r);
// PyStackRef_DUP (NULL stays NULL).
StackRef StackRefDup(ThreadState& ts, StackRef r);

// _Py_TryIncrefCompareStackRef: *out = a reference to `op` if the attempt
// succeeds. A deferred `op` always succeeds with a tagged reference, `src`
// is not read again; otherwise TryIncrefCompare (refcount.h) and an untagged
// reference.
bool TryIncrefCompareStackRef(ThreadState& ts, const Cell<Object*>& src, Object* op, StackRef* out);

}  // namespace ftf::core

#endif  // FTF_CORE_STACKREF_H_
