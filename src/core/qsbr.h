// qsbr.h - quiescent-state-based reclamation and delayed frees.
// What CPython does here: docs/cpython-model.md §6.
//
// Models Python/qsbr.c, Include/internal/pycore_qsbr.h (InternalDocs/qsbr.md)
// and the delayed-free queues of Objects/obmalloc.c (_PyMem_FreeDelayed,
// _PyObject_XDecRefDelayed, _PyMem_ProcessDelayed, _PyMem_AbandonDelayed).
//
// wr_seq is odd, starts at 1 and advances by 2 (QSBR_INITIAL, QSBR_INCR).
// Each thread publishes the wr_seq it last observed in ts.qsbr_seq; 0 means
// offline (detached), and detaching is a quiescent state. Memory retired with
// goal G may be freed once every online thread has observed a sequence >= G;
// rd_seq caches the minimum found by the last scan.
// INV-QSBR-1: an item is freed only after QsbrPoll(goal) returned true, i.e.
//             every thread online at the scan had qsbr_seq >= goal.
// INV-QSBR-2: a thread's own delayed items are processed in goal order; the
//             first unreached goal stops processing (process_queue).
//
// Advance policy (the mid-2025 one, GH-133136 `should_advance_qsbr_for_free`,
// thresholds configurable in QsbrShared): a retired item's goal is normally
// QsbrSharedNext (wr_seq + 2, no write); every `deferred_limit`-th item, or
// once more than `free_mem_limit` bytes are pending, the thread really
// advances wr_seq (QsbrAdvance), uses that as the goal, and asks itself to
// process its queue (kEvalProcessDelayed in its eval breaker, modelling
// `should_process`). Set deferred_limit to 1 to advance on every retirement.
// As in CPython, every 254 queued items (one chunk) the queue is processed
// on the spot.
//
// When the threshold is reached is the input's choice. A fuzz program retires
// a handful of blocks (dict keys) while CPython counts every deferred free of
// the process, list arrays and object pages included, so with the counters
// alone nothing retired would ever be freed within a run. Instead, at each
// operation boundary of a thread with pending items (where CPython's
// _CHECK_PERIODIC checks the eval breaker) the schedule decides whether the
// threshold has just been reached: QsbrReachThreshold advances wr_seq if the
// newest item's goal is still ahead of it (what the retirement crossing the
// threshold does) and sets should_process; the eval-breaker check that
// follows reports the quiescent state and runs _PyMem_ProcessDelayed.
//
// Thread-safety: QsbrShared's sequences are Cells; ts.delayed and the
// counters are owner-only; QsbrShared::queue (items abandoned by exited
// threads) is guarded by QsbrShared::queue_mutex.
// Memory ordering: attach = seq_cst store; quiescent state = acquire load of
// wr_seq + release store; detach = release store of 0; the poll scan starts
// with a seq_cst fence and reads with seq_cst loads, so a reader's accesses
// before its quiescent state happen before the free that follows the poll.

#ifndef FTF_CORE_QSBR_H_
#define FTF_CORE_QSBR_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/atomics.h"
#include "core/mutex.h"
#include "core/thread_state.h"

namespace ftf::core {

class Runtime;
struct Object;

inline constexpr uint64_t kQsbrOffline = 0;  // QSBR_OFFLINE
inline constexpr uint64_t kQsbrInitial = 1;  // QSBR_INITIAL
inline constexpr uint64_t kQsbrIncr = 2;     // QSBR_INCR
inline constexpr size_t kWorkItemsPerChunk = 254;  // WORK_ITEMS_PER_CHUNK

// Wrap-safe comparisons (QSBR_LT / QSBR_LEQ).
constexpr bool QsbrLt(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) < 0; }
constexpr bool QsbrLeq(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) <= 0; }

inline constexpr int32_t kQsbrMinArraySize = 8;  // MIN_ARRAY_SIZE

// One entry of the QSBR thread array (models struct _qsbr_pad /
// _qsbr_thread_state). `seq` is what the poll scan reads; the other fields
// are guarded by QsbrShared::mutex (and written by the grower only with the
// world stopped).
struct QsbrPad {
  Cell<uint64_t> seq{kQsbrOffline};
  ThreadState* tstate = nullptr;  // the registered thread, or nullptr
  bool allocated = false;         // reserved (possibly not registered yet)
  int32_t freelist_next = -1;     // next free entry's index, -1 = none
};

// Models struct _qsbr_shared plus the interpreter's mem_free_queue.
struct QsbrShared {
  QsbrShared() = default;
  ~QsbrShared() { delete[] array.Peek(); }
  QsbrShared(const QsbrShared&) = delete;
  QsbrShared& operator=(const QsbrShared&) = delete;

  Cell<uint64_t> wr_seq{kQsbrInitial};
  Cell<uint64_t> rd_seq{kQsbrInitial};

  // The per-thread array (docs/cpython-model.md §23): `array` and `size` are
  // read by the poll scan without a lock and replaced by grow_thread_array
  // with the world stopped; the free list and the entries' tstate/allocated
  // fields are guarded by `mutex` (shared->mutex).
  Mutex mutex;
  Cell<QsbrPad*> array{nullptr};
  Cell<int32_t> size{0};
  int32_t freelist = -1;  // guarded by mutex
  // Whether this run can change the array (set while no logical thread
  // runs: the program starts a thread). In a run that cannot, the array and
  // its size are constant from the first operation on, so the scan reads
  // them with no scheduling point (they can neither race nor differ) and
  // exiting threads keep their entries (nobody reserves one after them);
  // such programs schedule exactly as before thread starts existed.
  bool growable = false;

  // Advance policy knobs (configuration; set while no logical thread runs).
  uint32_t deferred_limit = 10;          // QSBR_DEFERRED_LIMIT
  size_t free_mem_limit = size_t{1} << 20;  // QSBR_FREE_MEM_LIMIT (1 MiB)

  // Items abandoned by exited threads (models interp->mem_free_queue).
  Mutex queue_mutex;
  std::vector<DelayedItem> queue;  // guarded by queue_mutex
  size_t queue_rd = 0;             // guarded by queue_mutex
  Cell<int32_t> queue_has_work{0};
};

// Models _Py_qsbr_attach: seq = wr_seq (acquire load, seq_cst store).
void QsbrAttach(ThreadState& ts);
// Models _Py_qsbr_detach: seq = 0 (release). Detaching is quiescent.
void QsbrDetach(ThreadState& ts);
// Models _Py_qsbr_quiescent_state: seq = wr_seq (acquire load, release store).
void QsbrQuiescentState(ThreadState& ts);
// Models _Py_qsbr_advance: wr_seq += 2 (seq_cst); returns the new value as a goal.
uint64_t QsbrAdvance(Runtime& rt);
// Models _Py_qsbr_shared_next: wr_seq + 2 without writing it.
uint64_t QsbrSharedNext(Runtime& rt);
// The goal for a newly retired item of `size` bytes under the policy above
// (models should_advance_qsbr_for_free + advance/shared_next).
uint64_t QsbrDeferredAdvance(ThreadState& ts, size_t size);
// Models _Py_qbsr_goal_reached: goal <= rd_seq, no scan.
bool QsbrGoalReached(Runtime& rt, uint64_t goal);
// Models _Py_qsbr_poll: goal reached, else scan the online threads' sequences
// (after a seq_cst fence), CAS rd_seq forward to the minimum, and compare again.
bool QsbrPoll(ThreadState& ts, uint64_t goal);

// Whether the thread has delayed items not processed yet. Owner only; reads
// no shared memory, so asking is not a scheduling point.
bool QsbrHasPending(const ThreadState& ts);
// The deferral threshold is reached now (see the policy above): wr_seq
// advances if the newest pending goal is ahead of it, and should_process is
// set (with kEvalProcessDelayed). The caller then runs the eval-breaker check
// (SafePoint, stw.h), which processes the queue.
void QsbrReachThreshold(ThreadState& ts);

// Models _PyMem_FreeDelayed: free raw block `p` (from AllocRaw) once every
// thread has passed a quiescent state. Frees at once if the world is stopped.
void FreeDelayed(ThreadState& ts, void* p);
// Models _PyObject_XDecRefDelayed: Decref `o` (if not NULL) after the same wait.
void XDecRefDelayed(ThreadState& ts, Object* o);
// Models _PyMem_ProcessDelayed: frees/decrefs this thread's items whose goal
// is reached, in order, then tries the abandoned-items queue without blocking.
void ProcessDelayed(ThreadState& ts);
// Models _PyMem_AbandonDelayed: move this thread's pending items to the
// shared queue, where the other threads' ProcessDelayed finishes them.
void AbandonDelayed(ThreadState& ts);

// --- the thread array (qsbr_threads.cc; docs/cpython-model.md §23) -------

// Lays the array out afresh with one entry per thread whose `registered[i]`
// is set, in index order, size exactly their count (so the next reserve
// grows it), and points each such thread's `qsbr` at its entry; every other
// thread has none. Set-up only (no logical thread runs): no scheduling point.
void QsbrLayOutArray(Runtime& rt, const std::vector<bool>& registered);
// Models _Py_qsbr_reserve, run by the thread creating another (`parent`,
// attached): under shared->mutex take a free entry; with none, stop the
// world, grow the array (grow_thread_array: double, copy, re-point every
// registered thread's `qsbr`, free the old array) and start it again.
// Returns the entry's index (the array may move before it is registered).
int32_t QsbrReserve(ThreadState& parent);
// Models _Py_qsbr_register: under shared->mutex, entry `index` becomes
// `child`'s (child->qsbr points at it).
void QsbrRegister(ThreadState& parent, ThreadState& child, int32_t index);
// Models _Py_qsbr_unregister (the end of tstate_delete_common): under
// shared->mutex, re-read the thread's entry (the array may have moved while
// it waited) and push it onto the free list. The thread is detached (its
// seq is 0) and no longer in the thread list, so it takes the mutex without
// detaching. Only in growable runs (see QsbrShared::growable).
void QsbrUnregister(ThreadState& ts);

// Thread exit, memory part (models the FT steps of PyThreadState_Clear):
// BrcRemoveThread (drain the merge queue until empty, leave the BRC table),
// then AbandonDelayed. Called while still attached.
void ThreadExitMemory(ThreadState& ts);

}  // namespace ftf::core

#endif  // FTF_CORE_QSBR_H_
