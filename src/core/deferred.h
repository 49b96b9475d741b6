// deferred.h - deferred reference counting: the flag, the bias, and the
// garbage collector's side of it. What CPython does here:
// docs/cpython-model.md §19.
//
// Models, from CPython main's free-threaded build:
//   * _PyObject_SetDeferredRefcount (Objects/object.c): the owner of a new
//     object, whose ob_ref_shared is still 0, sets _PyGC_BITS_DEFERRED and
//     stores _Py_REF_SHARED(_Py_REF_DEFERRED, 0) into ob_ref_shared. The
//     bias (PY_SSIZE_T_MAX / 8 counts) keeps ordinary reference counting
//     from ever reaching zero: only the garbage collector frees the object;
//   * _PyObject_HasDeferredRefcount (Include/internal/pycore_object_deferred.h,
//     _PyObject_HAS_GC_BITS: a relaxed load of ob_gc_bits);
//   * the collector's accounting of such objects (Python/gc_free_threading.c):
//     update_refs counts Py_REFCNT(op) - _Py_REF_DEFERRED as the object's
//     references; the thread stacks' deferred (tagged) references, which hold
//     no count, are visited as references of their own (gc_visit_stackref);
//     disable_deferred_refcounting, for an unreachable object, clears the
//     bit, subtracts the bias and merges the counts (merge_refcount).
//
// Functions, modules, code objects and heap types are deferred in CPython; in
// the model heap types (type.h) and the program's `fresh_fn` values are.
// Stack references to them are in stackref.h.
//
// Thread-safety: SetDeferredRefcount only on an object the caller owns and
// has not published; GcRefcount / GcFreeDeferred only with every other
// thread stopped or gone (the collector runs in a stop-the-world pause).
// Memory ordering: IsDeferred is the relaxed load of CPython; the rest are
// plain accesses, as in CPython (set-up before publication, or the world is
// stopped).

#ifndef FTF_CORE_DEFERRED_H_
#define FTF_CORE_DEFERRED_H_

#include <cstdint>

#include "core/object.h"

namespace ftf::core {

struct ThreadState;
struct Type;

// _Py_REF_DEFERRED (Include/internal/pycore_object.h): PY_SSIZE_T_MAX / 8.
inline constexpr intptr_t kRefDeferred = INTPTR_MAX / 8;

// _PyObject_HasDeferredRefcount: relaxed load of ob_gc_bits (a scheduling
// point, as every shared access of the core).
bool IsDeferred(const Object* o);
// The same, read with Peek (auditors, reports, tests; no scheduling point).
inline bool PeekIsDeferred(const Object* o) { return (o->ob_gc_bits.Peek() & kGcBitsDeferred) != 0; }

// _PyObject_SetDeferredRefcount. Fatal unless `o` is owned by ts with
// ob_ref_shared == 0. Reported to the observer as RefOp::kSetDeferred.
void SetDeferredRefcount(ThreadState& ts, Object* o);

// A new function object (func_new / _PyFunction_FromConstructor in
// Objects/funcobject.c: allocate, then _PyObject_SetDeferredRefcount), owned
// by ts, with `type` (the model gives functions no slots). `type` must not
// be null for objects the ledger audits: a deferred object with no type is
// a heap type's own object to it (audit/ledger.h). With
// Faults::deferred_without_bias (mutant_deferred_no_bias) the constructor
// sets the DEFERRED bit alone.
Object* NewFunctionObject(ThreadState& ts, Type* type);

// --- the collector's side (Python/gc_free_threading.c) ----------------------

// update_refs' count of an object: Py_REFCNT(op), minus _Py_REF_DEFERRED for
// a deferred one. Peek only. Deferred stack references are not in it: the
// collector adds them from the thread stacks (the runner's registers holding
// a tagged reference, audit::Holder::deferred).
int64_t GcRefcount(const Object* o);

// disable_deferred_refcounting: clears _PyGC_BITS_DEFERRED, subtracts the
// bias and merges (merge_refcount: ob_tid = 0, ob_ref_local = 0,
// ob_ref_shared = (count << 2) | MERGED). Reported as RefOp::kClearDeferred.
// No-op on an object that is not deferred.
void GcDisableDeferredRefcount(ThreadState& ts, Object* o);

// Frees an unreachable deferred object as the collector does: disables its
// deferred refcount, takes the collector's own reference (scan_heap_visitor's
// merge_refcount(op, 1)) and drops it, which deallocates. The caller must
// know that no reference and no deferred stack reference remains
// (GcRefcount(o) == 0 and no register holds it). Returns false, doing
// nothing, when GcRefcount(o) != 0.
bool GcFreeDeferred(ThreadState& ts, Object* o);

}  // namespace ftf::core

#endif  // FTF_CORE_DEFERRED_H_
