// observer.h - what the core tells an auditor about object memory and refcounts.
//
// Not a CPython structure: this is the model's instrumentation point, in the
// spirit of CPython's PyRefTracer (Include/cpython/object.h), which reports
// object creation and destruction, extended with every refcount transition
// of biased reference counting. The auditor (src/audit/) implements it and
// keeps a shadow of each object's true refcount.
//
// An Observer is installed on a Runtime (Runtime::observer, nullptr by
// default). With none installed every call site costs one load and a branch.
//
// Delivery: each event is delivered by the logical thread that performed the
// operation, immediately after the access it describes and with no scheduling
// point in between. So in fiber mode the object is in exactly the state the
// event describes when the observer runs (in particular it has not yet been
// freed by another thread). An observer must not touch Cells except with
// Peek(), and must not block.
//
// Thread-safety: with real threads (unit tests) callbacks run concurrently on
// several OS threads; an observer used there must synchronise itself.

#ifndef FTF_CORE_OBSERVER_H_
#define FTF_CORE_OBSERVER_H_

#include <cstddef>
#include <cstdint>

namespace ftf::core {

struct Object;
struct ThreadState;
struct Type;

// One refcount transition. `before`/`after` are the raw values of the field
// named in the comment (local: ob_ref_local; shared: the encoded
// ob_ref_shared), as the operation read and wrote them. For a failed
// operation after == before.
enum class RefOp : uint8_t {
  kIncrefLocal,          // Py_INCREF, owner path                       local
  kIncrefShared,         // Py_INCREF, non-owner fetch-add              shared
  kDecrefLocal,          // Py_DECREF, owner path                       local
  kDecrefShared,         // _Py_DecRefShared subtracting one            shared
  kQueue,                // _Py_DecRefShared at count 0: set QUEUED     shared
  kMergeZeroLocalFree,   // _Py_MergeZeroLocalRefcount fast path (shared == 0, freed at once)  shared
  kMergeZeroLocal,       // _Py_MergeZeroLocalRefcount CAS to MERGED    shared
  kExplicitMerge,        // _Py_ExplicitMergeRefcount                   shared (after includes local + extra)
  kTryIncrefFastOk,      // _Py_TryIncrefFast success                   local (immortal: after == before)
  kTryIncrefFastFail,    // _Py_TryIncrefFast failure (not owner)       local
  kTryIncrefSharedOk,    // _Py_TryIncRefShared success                 shared
  kTryIncrefSharedFail,  // _Py_TryIncRefShared refused 0 or MERGED     shared
  kCompareMismatch,      // _Py_TryIncrefCompare re-load saw another pointer (a Decref follows)  shared (unchanged)
  kNewRefWithLock,       // _Py_NewRefWithLock shared CAS              shared
  kSetMaybeWeakref,      // _PyObject_SetMaybeWeakref                   shared
  kSetImmortal,          // _Py_SetImmortalUntracked                    local
  kSetDeferred,          // _PyObject_SetDeferredRefcount (before 0, after the biased value)  shared
  kClearDeferred,        // the collector's disable_deferred_refcounting + merge  shared (after MERGED)
};

inline const char* RefOpName(RefOp op) {
  switch (op) {
    case RefOp::kIncrefLocal: return "incref-local";
    case RefOp::kIncrefShared: return "incref-shared";
    case RefOp::kDecrefLocal: return "decref-local";
    case RefOp::kDecrefShared: return "decref-shared";
    case RefOp::kQueue: return "queue";
    case RefOp::kMergeZeroLocalFree: return "merge-zero-local-free";
    case RefOp::kMergeZeroLocal: return "merge-zero-local";
    case RefOp::kExplicitMerge: return "explicit-merge";
    case RefOp::kTryIncrefFastOk: return "try-incref-fast-ok";
    case RefOp::kTryIncrefFastFail: return "try-incref-fast-fail";
    case RefOp::kTryIncrefSharedOk: return "try-incref-shared-ok";
    case RefOp::kTryIncrefSharedFail: return "try-incref-shared-fail";
    case RefOp::kCompareMismatch: return "compare-mismatch";
    case RefOp::kNewRefWithLock: return "new-ref-with-lock";
    case RefOp::kSetMaybeWeakref: return "set-maybe-weakref";
    case RefOp::kSetImmortal: return "set-immortal";
    case RefOp::kSetDeferred: return "set-deferred";
    case RefOp::kClearDeferred: return "clear-deferred";
  }
  return "?";
}

// True when the op's before/after describe ob_ref_local, false for ob_ref_shared.
constexpr bool RefOpIsLocal(RefOp op) {
  return op == RefOp::kIncrefLocal || op == RefOp::kDecrefLocal || op == RefOp::kTryIncrefFastOk ||
         op == RefOp::kTryIncrefFastFail || op == RefOp::kSetImmortal;
}

class Observer {
 public:
  virtual ~Observer() = default;
  // A new object was initialised in `o` (id, refcounts and slots are set).
  virtual void OnAlloc(ThreadState& ts, Object* o) {}
  // The block of `o` was just taken from a free list for a new object of the
  // same size: the previous object, `previous_id`, is gone for good (ABA).
  // Called before OnAlloc of the new object.
  virtual void OnReuse(ThreadState& ts, Object* o, uint64_t previous_id) {}
  // Dealloc(ts, o) starts: the refcount reached zero (before slots are cleared).
  virtual void OnDealloc(ThreadState& ts, Object* o) {}
  // The block of `o` goes back to its heap (after slots were cleared; the
  // header still has the object's id).
  virtual void OnFreeBlock(ThreadState& ts, Object* o) {}
  // A refcount transition of `o` (see RefOp for which field before/after describe).
  virtual void OnRefChange(ThreadState& ts, Object* o, RefOp op, int64_t before, int64_t after) {}
  // A non-owner handed `o` to its owner's merge queue (`owner_index` >= 0), or
  // merged it itself because the owner had exited (`owner_index` == -1).
  virtual void OnBrcQueued(ThreadState& ts, Object* o, int owner_index) {}
  // Raw (PyMem-like) memory: allocation, and the real free (immediate or after QSBR).
  virtual void OnRawAlloc(ThreadState& ts, void* p, size_t size) {}
  virtual void OnRawFree(ThreadState& ts, void* p) {}
  // A QSBR-delayed free or decref was queued with `goal`.
  virtual void OnDelayed(ThreadState& ts, void* p, bool is_decref, uint64_t goal) {}
  // `o`'s type was just changed from `oldto` to `newto` (__class__
  // assignment, Py_SET_TYPE with the world stopped).
  virtual void OnTypeChanged(ThreadState& ts, Object* o, const Type* oldto, const Type* newto) {}
  // The cyclic collector is about to clear `o` (tp_clear) and drop its
  // reference: it found `o` unreachable (core/gc.h, delete_garbage).
  virtual void OnGcClear(ThreadState& ts, Object* o) {}
  // The modelled C code would crash here (`what`: why, e.g. it dereferences
  // NULL): a CRASH finding. An observer that reports findings throws out of
  // this call to end the run; if it returns, the model aborts (it cannot go
  // on from a state CPython would not survive).
  virtual void OnModelCrash(ThreadState& ts, const char* what, const char* file, int line) {}
};

}  // namespace ftf::core

#endif  // FTF_CORE_OBSERVER_H_
