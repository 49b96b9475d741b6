// brc.h - the biased-reference-counting merge queue.
// What CPython does here: docs/cpython-model.md §3.
//
// Models Python/brc.c and Include/internal/pycore_brc.h as of the May 2025
// tree: a non-owner whose decrement would take an object's shared count
// below zero marks it QUEUED and pushes it, with the reference it is
// releasing, onto the owner's queue (_Py_brc_queue_object); the owner merges
// the queued objects at its next safe point (_Py_brc_merge_refcounts) and
// before it exits (_Py_brc_remove_thread).
//
// CPython hashes thread states into 257 buckets by tid, each with a PyMutex.
// The model gives every ThreadState its own `brc_mutex` (one thread per
// bucket, which is what CPython gets with a handful of threads) and records
// the bucket membership in `brc_registered`, guarded by that mutex. The mutex
// is taken with PyMutex_Lock semantics (kDetach), as brc.c does.
//
// Not modelled: the OOM fallback (stop the world and merge), and the 2026
// addition that merges a detached owner's queue on its behalf
// (_PyThreadState_TrySuspendDetached).
//
// Thread-safety: `brc_queue` and `brc_registered` only under the owner's
// `brc_mutex`; `brc_local` only by the owner.
// Memory ordering: the mutex orders queue pushes before the owner's merge;
// ob_tid is read with a seq_cst load (_Py_atomic_load_uintptr).

#ifndef FTF_CORE_BRC_H_
#define FTF_CORE_BRC_H_

namespace ftf::core {

struct Object;
struct ThreadState;

// Models _Py_brc_queue_object. Steals the caller's reference to `o`, whose
// shared field the caller just set to QUEUED. If ob_tid is 0 the owner merged
// concurrently: Decref (now the shared path). If the owner has exited, merge
// here with -1 and free at 0. Otherwise push onto the owner's queue and set
// kEvalExplicitMerge in its eval breaker.
void QueueObject(ThreadState& ts, Object* o);

// Models _Py_brc_merge_refcounts: move the queue out under the lock, then
// merge each object with extra = -1 and free those reaching 0, outside the
// lock. The caller (the safe point) clears kEvalExplicitMerge first.
void BrcMergeRefcounts(ThreadState& ts);

// Models _Py_brc_init_thread: (re)enter the table. Runtime::Reset registers
// every thread, so only a thread that exited and starts again needs it.
void BrcInitThread(ThreadState& ts);

// Models _Py_brc_remove_thread: merge until the queue is empty under the
// lock, then leave the table; later queuers merge the objects themselves.
void BrcRemoveThread(ThreadState& ts);

}  // namespace ftf::core

#endif  // FTF_CORE_BRC_H_
