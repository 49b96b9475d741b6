// refcount.h - biased reference counting: incref/decref, merges, try-incref.
// What CPython does here: docs/cpython-model.md §2, §4.
//
// Models the free-threaded refcount operations of Include/refcount.h
// (Py_INCREF, Py_DECREF, _Py_IsImmortal, _Py_IsOwnedByCurrentThread),
// Objects/object.c (_Py_DecRefShared / _Py_DecRefSharedIsDead,
// _Py_MergeZeroLocalRefcount, _Py_ExplicitMergeRefcount) and
// Include/internal/pycore_object.h (_Py_TryIncrefFast, _Py_TryIncRefShared,
// _Py_TryIncref, _Py_TryIncrefCompare, _Py_XGetRef, _Py_TryXGetRef,
// _Py_NewRefWithLock, _Py_XNewRefWithLock, _PyObject_SetMaybeWeakref).
// Names are CPython's without the _Py prefix, so both can be read side by side.
//
// The owner (ob_tid == ts.tid) counts in ob_ref_local with a relaxed load and
// a relaxed store; everyone else uses seq_cst RMWs on ob_ref_shared.
// INV-RC-1: a non-owner decref never takes the count below zero from INIT or
//           MAYBE_WEAKREF: it sets QUEUED and hands its reference to the
//           owner's merge queue (brc.h) instead.
// INV-RC-2: no new reference is created through ob_ref_shared while it is
//           exactly 0 (the owner may free with no CAS) or exactly MERGED
//           (dead); TryIncRefShared refuses both values.
// INV-RC-3: an object is deallocated exactly once: by the owner's fast path
//           (shared == 0), by whoever's CAS produced exactly MERGED, or by
//           whoever's explicit merge returned 0. That can be any thread.
//
// Every function takes the logical thread explicitly (no thread-local storage).
// Faults (runtime.h) switch individual rules off for the auditor's tests.
//
// Thread-safety: all functions may be called from any logical thread on an
// object the caller holds a reference to, except the try-increfs, whose whole
// point is to be called on a pointer loaded without a reference.
// Memory ordering: as CPython: relaxed for the owner's local count and the
// initial loads of CAS loops, seq_cst for RMWs and for the re-load of *src,
// acquire for the shared load in MergeZeroLocalRefcount (gh-117657).

#ifndef FTF_CORE_REFCOUNT_H_
#define FTF_CORE_REFCOUNT_H_

#include <cstdint>

#include "core/atomics.h"
#include "core/object.h"

namespace ftf::core {

struct ThreadState;

// _Py_IsImmortal: relaxed load of ob_ref_local == UINT32_MAX.
bool IsImmortal(const Object* o);
// _Py_IsOwnedByCurrentThread: relaxed load of ob_tid == ts.tid.
bool IsOwnedByCurrentThread(const ThreadState& ts, const Object* o);

// Py_INCREF / Py_XINCREF / Py_NewRef.
void Incref(ThreadState& ts, Object* o);
inline void XIncref(ThreadState& ts, Object* o) {
  if (o != nullptr) Incref(ts, o);
}
inline Object* NewRef(ThreadState& ts, Object* o) {
  Incref(ts, o);
  return o;
}

// Py_DECREF / Py_XDECREF: may deallocate `o` (and, through its slots, more).
void Decref(ThreadState& ts, Object* o);
inline void XDecref(ThreadState& ts, Object* o) {
  if (o != nullptr) Decref(ts, o);
}

// _Py_DecRefSharedIsDead: the non-owner decrement. Returns true when the
// caller must deallocate (the result was exactly MERGED, count 0). At count
// 0 with flags INIT or MAYBE_WEAKREF it sets QUEUED instead and hands the
// reference to the owner (QueueObject, brc.h); returns false then.
bool DecRefSharedIsDead(ThreadState& ts, Object* o);
// _Py_DecRefShared: DecRefSharedIsDead + Dealloc.
void DecRefShared(ThreadState& ts, Object* o);

// _Py_MergeZeroLocalRefcount: the owner's local count just reached 0.
// shared == 0 => free at once, no CAS; else tid = 0, CAS flags to MERGED,
// free if the merged count is 0.
void MergeZeroLocalRefcount(ThreadState& ts, Object* o);

// _Py_ExplicitMergeRefcount: local = 0 and tid = 0 first (gh-119999), then
// CAS shared to ((count + local + extra) << 2) | MERGED. Returns the new
// count; the caller deallocates when it is 0.
intptr_t ExplicitMergeRefcount(ThreadState& ts, Object* o, intptr_t extra);

// _Py_TryIncrefFast: immortal => true with no write; owner => local + 1;
// otherwise false, never touching ob_ref_shared.
bool TryIncrefFast(ThreadState& ts, Object* o);
// _Py_TryIncRefShared: CAS shared + 4 unless it is exactly 0 or exactly MERGED.
bool TryIncRefShared(ThreadState& ts, Object* o);
// _Py_TryIncref: TryIncrefFast || TryIncRefShared.
bool TryIncref(ThreadState& ts, Object* o);

// _Py_TryIncrefCompare: a new reference to `op` if `src` still holds it.
// The fast path does not re-check `src`. A failed compare after a successful
// shared increment does a Decref, which may free `op` (and run its slots'
// deallocations) on this thread.
bool TryIncrefCompare(ThreadState& ts, const Cell<Object*>& src, Object* op);
// _Py_XGetRef: loops until `src` is NULL or a reference to its value is taken.
Object* XGetRef(ThreadState& ts, const Cell<Object*>& src);
// _Py_TryXGetRef: one attempt; NULL if `src` is NULL or the attempt failed.
Object* TryXGetRef(ThreadState& ts, const Cell<Object*>& src);

// _Py_NewRefWithLock / _Py_XNewRefWithLock: only while holding a lock that
// keeps `op` alive. TryIncrefFast, else CAS shared + 4, also setting
// MAYBE_WEAKREF when no flag was set (gh-124642), so that later lock-free
// TryIncRefShared calls succeed even when the shared count is back at 0.
Object* NewRefWithLock(ThreadState& ts, Object* op);
inline Object* XNewRefWithLock(ThreadState& ts, Object* op) {
  return op == nullptr ? nullptr : NewRefWithLock(ts, op);
}

// _PyObject_SetMaybeWeakref: CAS in MAYBE_WEAKREF if no flag is set; no-op
// for immortal objects and when any flag is already set.
void SetMaybeWeakref(ThreadState& ts, Object* op);

}  // namespace ftf::core

#endif  // FTF_CORE_REFCOUNT_H_
