// refcount.cc - biased reference counting (see refcount.h).

#include "core/refcount.h"

#include "core/brc.h"
#include "core/observer.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

// Reports a transition to the installed observer, if any. Called right after
// the access it describes, with no scheduling point in between.
inline void Note(ThreadState& ts, Object* o, RefOp op, int64_t before, int64_t after) {
  if (Observer* obs = ts.rt->observer) obs->OnRefChange(ts, o, op, before, after);
}

inline const Faults& F(const ThreadState& ts) { return ts.rt->faults; }

}  // namespace

bool IsImmortal(const Object* o) { return o->ob_ref_local.LoadRelaxed() == kImmortalRefcntLocal; }

bool IsOwnedByCurrentThread(const ThreadState& ts, const Object* o) { return o->ob_tid.LoadRelaxed() == ts.tid; }

// Py_INCREF (FT): the immortality test is "local + 1 wraps to 0".
void Incref(ThreadState& ts, Object* o) {
  uint32_t local = o->ob_ref_local.LoadRelaxed();
  uint32_t new_local = local + 1;
  if (new_local == 0) return;  // immortal
  if (IsOwnedByCurrentThread(ts, o)) {
    o->ob_ref_local.StoreRelaxed(new_local);
    Note(ts, o, RefOp::kIncrefLocal, local, new_local);
  } else {
    intptr_t old = o->ob_ref_shared.FetchAddSeqCst(kRefSharedOne);
    Note(ts, o, RefOp::kIncrefShared, old, old + kRefSharedOne);
  }
}

// Py_DECREF (FT).
void Decref(ThreadState& ts, Object* o) {
  uint32_t local = o->ob_ref_local.LoadRelaxed();
  if (local == kImmortalRefcntLocal) return;
  if (IsOwnedByCurrentThread(ts, o)) {
    uint32_t new_local = local - 1;
    o->ob_ref_local.StoreRelaxed(new_local);
    Note(ts, o, RefOp::kDecrefLocal, local, new_local);
    if (new_local == 0) MergeZeroLocalRefcount(ts, o);
  } else {
    DecRefShared(ts, o);
  }
}

// _Py_DecRefSharedIsDead.
bool DecRefSharedIsDead(ThreadState& ts, Object* o) {
  bool should_queue;
  intptr_t new_shared;
  intptr_t shared = o->ob_ref_shared.LoadRelaxed();
  do {
    // Count 0, not queued, not merged: the owner's local count still holds
    // references, so hand ours to the owner instead of going negative.
    should_queue = (shared == kRefSharedInit || shared == kRefMaybeWeakref) &&
                   !F(ts).nonowner_decref_subtracts_at_zero;
    // Otherwise subtract; the count may go negative only while QUEUED.
    new_shared = should_queue ? kRefQueued : shared - kRefSharedOne;
  } while (!o->ob_ref_shared.CompareExchangeSeqCst(shared, new_shared));
  Note(ts, o, should_queue ? RefOp::kQueue : RefOp::kDecrefShared, shared, new_shared);
  if (should_queue) {
    QueueObject(ts, o);
    return false;
  }
  return new_shared == kRefMerged;
}

void DecRefShared(ThreadState& ts, Object* o) {
  if (DecRefSharedIsDead(ts, o)) Dealloc(ts, o);
}

// _Py_MergeZeroLocalRefcount.
void MergeZeroLocalRefcount(ThreadState& ts, Object* o) {
  // Acquire pairs with the non-owners' seq_cst decrements, so their accesses
  // to the object happen before our free (gh-117657 made this acquire).
  intptr_t shared = F(ts).merge_without_acquire ? o->ob_ref_shared.LoadRelaxed() : o->ob_ref_shared.LoadAcquire();
  if (shared == 0) {
    // Fast path: nobody else holds or may take a reference (INV-RC-2).
    Note(ts, o, RefOp::kMergeZeroLocalFree, 0, 0);
    Dealloc(ts, o);
    return;
  }
  // gh-121794 / gh-119999: give up ownership before publishing MERGED, so a
  // thread that sees MERGED and frees the block cannot race with this store.
  if (!F(ts).merge_tid_after_cas) o->ob_tid.StoreRelaxed(0);
  intptr_t new_shared;
  do {
    new_shared = (shared & ~kRefSharedFlagMask) | kRefMerged;
  } while (!o->ob_ref_shared.CompareExchangeSeqCst(shared, new_shared));
  Note(ts, o, RefOp::kMergeZeroLocal, shared, new_shared);
  if (F(ts).merge_tid_after_cas) o->ob_tid.StoreRelaxed(0);  // the pre-fix order
  if (new_shared == kRefMerged) Dealloc(ts, o);
}

// _Py_ExplicitMergeRefcount.
intptr_t ExplicitMergeRefcount(ThreadState& ts, Object* o, intptr_t extra) {
  // CPython reads ob_ref_local plainly here: the caller is the owner, or the
  // owner has exited (ordered by the BRC bucket mutex).
  intptr_t local = o->ob_ref_local.LoadPlain();
  if (!F(ts).merge_tid_after_cas) {
    o->ob_ref_local.StoreRelaxed(0);
    o->ob_tid.StoreRelaxed(0);
  }
  intptr_t refcnt;
  intptr_t new_shared;
  intptr_t shared = o->ob_ref_shared.LoadRelaxed();
  do {
    refcnt = RefSharedCount(shared) + local + extra;
    new_shared = RefShared(refcnt, kRefMerged);
  } while (!o->ob_ref_shared.CompareExchangeSeqCst(shared, new_shared));
  Note(ts, o, RefOp::kExplicitMerge, shared, new_shared);
  if (F(ts).merge_tid_after_cas) {  // the order before gh-119999
    o->ob_ref_local.StoreRelaxed(0);
    o->ob_tid.StoreRelaxed(0);
  }
  return refcnt;
}

// _Py_TryIncrefFast.
bool TryIncrefFast(ThreadState& ts, Object* o) {
  uint32_t local = o->ob_ref_local.LoadRelaxed();
  uint32_t new_local = local + 1;
  if (new_local == 0) {  // immortal
    Note(ts, o, RefOp::kTryIncrefFastOk, local, local);
    return true;
  }
  if (IsOwnedByCurrentThread(ts, o)) {
    o->ob_ref_local.StoreRelaxed(new_local);
    Note(ts, o, RefOp::kTryIncrefFastOk, local, new_local);
    return true;
  }
  Note(ts, o, RefOp::kTryIncrefFastFail, local, local);
  return false;
}

// _Py_TryIncRefShared.
bool TryIncRefShared(ThreadState& ts, Object* o) {
  intptr_t shared = o->ob_ref_shared.LoadRelaxed();
  for (;;) {
    // 0: the owner may be freeing with no CAS. MERGED with count 0: dead.
    bool refuse = (shared == 0 && !F(ts).tryincref_shared_allows_zero) ||
                  (shared == kRefMerged && !F(ts).tryincref_shared_allows_merged);
    if (refuse) {
      Note(ts, o, RefOp::kTryIncrefSharedFail, shared, shared);
      return false;
    }
    if (o->ob_ref_shared.CompareExchangeSeqCst(shared, shared + kRefSharedOne)) {
      Note(ts, o, RefOp::kTryIncrefSharedOk, shared, shared + kRefSharedOne);
      return true;
    }
  }
}

bool TryIncref(ThreadState& ts, Object* o) { return TryIncrefFast(ts, o) || TryIncRefShared(ts, o); }

// _Py_TryIncrefCompare.
bool TryIncrefCompare(ThreadState& ts, const Cell<Object*>& src, Object* op) {
  // The owner's fast path needs no re-check: only the owner could free it
  // (non-owner decrefs queue to it), and it does not between its load and here.
  if (TryIncrefFast(ts, op)) return true;
  if (!TryIncRefShared(ts, op)) return false;
  if (F(ts).tryincref_compare_skips_recheck) return true;
  // The CAS proved the block held a live object of this size; the re-load
  // proves it is still the one `src` points to (ABA at the address is benign).
  if (src.LoadSeqCst() != op) {
    Note(ts, op, RefOp::kCompareMismatch, 0, 0);
    Decref(ts, op);  // may deallocate on this thread
    return false;
  }
  return true;
}

// _Py_XGetRef.
Object* XGetRef(ThreadState& ts, const Cell<Object*>& src) {
  for (;;) {
    Object* value = src.LoadSeqCst();
    if (value == nullptr) return nullptr;
    if (TryIncrefCompare(ts, src, value)) return value;
  }
}

// _Py_TryXGetRef.
Object* TryXGetRef(ThreadState& ts, const Cell<Object*>& src) {
  Object* value = src.LoadSeqCst();
  if (value == nullptr) return nullptr;
  return TryIncrefCompare(ts, src, value) ? value : nullptr;
}

// _Py_NewRefWithLock.
Object* NewRefWithLock(ThreadState& ts, Object* op) {
  if (TryIncrefFast(ts, op)) return op;
  for (;;) {
    intptr_t shared = op->ob_ref_shared.LoadRelaxed();
    intptr_t new_shared = shared + kRefSharedOne;
    if ((shared & kRefSharedFlagMask) == 0 && !F(ts).newref_with_lock_no_weakref) new_shared |= kRefMaybeWeakref;
    if (op->ob_ref_shared.CompareExchangeSeqCst(shared, new_shared)) {
      Note(ts, op, RefOp::kNewRefWithLock, shared, new_shared);
      return op;
    }
  }
}

// _PyObject_SetMaybeWeakref.
void SetMaybeWeakref(ThreadState& ts, Object* op) {
  if (IsImmortal(op)) return;
  for (;;) {
    intptr_t shared = op->ob_ref_shared.LoadRelaxed();
    if ((shared & kRefSharedFlagMask) != 0) return;  // MAYBE_WEAKREF, QUEUED or MERGED already
    if (op->ob_ref_shared.CompareExchangeSeqCst(shared, shared | kRefMaybeWeakref)) {
      Note(ts, op, RefOp::kSetMaybeWeakref, shared, shared | kRefMaybeWeakref);
      return;
    }
  }
}

}  // namespace ftf::core
