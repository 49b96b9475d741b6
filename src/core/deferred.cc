// deferred.cc - deferred reference counting (see deferred.h).

#include "core/deferred.h"

#include <cstdio>
#include <cstdlib>

#include "core/observer.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

inline void Note(ThreadState& ts, Object* o, RefOp op, int64_t before, int64_t after) {
  if (Observer* obs = ts.rt->observer) obs->OnRefChange(ts, o, op, before, after);
}

// _PyObject_SetDeferredRefcount (Objects/object.c, main). `bias` false is
// the mutant: the bias is what keeps Py_DECREF from ever freeing the object;
// without it the object is freed like any other when its counted references
// are gone, tagged stack references notwithstanding.
void SetDeferred(ThreadState& ts, Object* o, bool bias) {
  if (o->ob_tid.Peek() != ts.tid || o->ob_ref_shared.Peek() != 0) {
    std::fprintf(stderr, "ftfuzz: model fatal error: SetDeferredRefcount: object not owned by the caller or "
                         "already shared\n");
    std::abort();
  }
  o->ob_gc_bits.FetchOrSeqCst(kGcBitsDeferred);  // _PyObject_SET_GC_BITS
  const intptr_t shared = bias ? RefShared(kRefDeferred, 0) : 0;
  // CPython's store is plain (`op->ob_ref_shared = ...`), although a stale
  // lock-free reader of the block's previous object may be loading
  // ob_ref_shared right now (_Py_TryIncRefShared): the race gh-129665 fixed
  // in new_reference, left here (findings/20261207-set-deferred-refcount-
  // plain-store.md). locked_deferred_fixed stores it relaxed.
  if (ts.rt->faults.deferred_store_relaxed) {
    o->ob_ref_shared.StoreRelaxed(shared);
  } else {
    o->ob_ref_shared.StorePlain(shared);
  }
  Note(ts, o, RefOp::kSetDeferred, 0, shared);
}

}  // namespace

bool IsDeferred(const Object* o) { return (o->ob_gc_bits.LoadRelaxed() & kGcBitsDeferred) != 0; }

void SetDeferredRefcount(ThreadState& ts, Object* o) { SetDeferred(ts, o, /*bias=*/true); }

Object* NewFunctionObject(ThreadState& ts, Type* type) {
  Object* o = NewObject(ts, 0, type);
  SetDeferred(ts, o, /*bias=*/!ts.rt->faults.deferred_without_bias);
  return o;
}

int64_t GcRefcount(const Object* o) {
  const int64_t refcnt = PeekRefcnt(o);
  return PeekIsDeferred(o) ? refcnt - kRefDeferred : refcnt;
}

// disable_deferred_refcounting + merge_refcount(op, 0) (gc_free_threading.c).
// The world is stopped: plain accesses, as CPython's.
void GcDisableDeferredRefcount(ThreadState& ts, Object* o) {
  const uint8_t bits = o->ob_gc_bits.LoadPlain();
  if ((bits & kGcBitsDeferred) == 0) return;
  o->ob_gc_bits.StorePlain(static_cast<uint8_t>(bits & ~kGcBitsDeferred));
  const intptr_t before = o->ob_ref_shared.LoadPlain();
  const intptr_t unbiased = before - RefShared(kRefDeferred, 0);
  const intptr_t refcnt = RefSharedCount(unbiased) + static_cast<intptr_t>(o->ob_ref_local.LoadPlain());
  o->ob_tid.StorePlain(0);
  o->ob_ref_local.StorePlain(0);
  const intptr_t after = RefShared(refcnt, kRefMerged);
  o->ob_ref_shared.StorePlain(after);
  Note(ts, o, RefOp::kClearDeferred, before, after);
}

bool GcFreeDeferred(ThreadState& ts, Object* o) {
  if (GcRefcount(o) != 0) return false;
  GcDisableDeferredRefcount(ts, o);
  // The collector's own reference to an unreachable object, dropped once it
  // is cleared: the drop finds the count at 0 and MERGED and deallocates.
  Incref(ts, o);
  Decref(ts, o);
  return true;
}

}  // namespace ftf::core
