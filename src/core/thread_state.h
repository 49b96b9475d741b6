// thread_state.h - one logical thread of the modelled interpreter.
//
// Models the free-threading parts of PyThreadState / _PyThreadStateImpl
// (Include/internal/pycore_tstate.h): the attach status, the eval breaker,
// the critical-section stack top, the QSBR record, the biased-refcount merge
// queue and the per-thread heap. The core never uses thread-local storage: every
// operation takes its ThreadState explicitly, because logical threads may be
// fibers that share one OS thread.
//
// Thread-safety: fields marked "owner" are touched only by the logical thread
// itself; the others are Cells, read by other threads (stop-the-world reads
// `status`, BRC pushes onto `brc_queue` under `brc_mutex`, QSBR polls the
// sequence in the thread's slot of the QSBR array, `qsbr->seq`).

#ifndef FTF_CORE_THREAD_STATE_H_
#define FTF_CORE_THREAD_STATE_H_

#include <cstdint>
#include <vector>

#include "core/atomics.h"
#include "core/mutex.h"

namespace ftf::core {

class Heap;
class Runtime;
struct Object;
struct QsbrPad;

// Models _Py_THREAD_DETACHED / ATTACHED / SUSPENDED (pycore_pystate.h), plus
// the states before start and after exit.
enum class ThreadStatus : uint8_t { kDetached = 0, kAttached = 1, kSuspended = 2, kNotStarted = 3, kExited = 4 };

// Eval-breaker bits (models _PY_EVAL_PLEASE_STOP_BIT, _PY_EVAL_EXPLICIT_MERGE_BIT
// and the QSBR "should_process" request).
inline constexpr uint32_t kEvalPleaseStop = 1u << 0;
inline constexpr uint32_t kEvalExplicitMerge = 1u << 1;
inline constexpr uint32_t kEvalProcessDelayed = 1u << 2;

// One QSBR delayed item (models the entries of _PyMem_FreeDelayed's chunks):
// either a raw block to free or an object to decref, with the goal it waits for.
struct DelayedItem {
  enum Kind : uint8_t { kFreeBlock, kDecref } kind;
  void* ptr;
  uint64_t goal;
};

struct ThreadState {
  Runtime* rt = nullptr;
  int index = 0;        // logical thread number, 0-based; also the index in Runtime::threads()
  uintptr_t tid = 0;    // the value stored in ob_tid; non-zero and unique among live threads

  Cell<uint8_t> status{static_cast<uint8_t>(ThreadStatus::kNotStarted)};
  Cell<uint32_t> eval_breaker{0};

  // Critical sections (critical_section.h): tagged pointer to the top
  // section, models tstate->critical_section.
  Cell<uintptr_t> critical_section{0};

  // QSBR (qsbr.h): the thread's slot in the QSBR array (models
  // tstate->qsbr; its `seq` is _qsbr_thread_state.seq, 0 = offline) and the
  // thread's private delayed-free queue (owner only). The pointer is read by
  // its thread without synchronization, as in CPython: it is written by
  // _Py_qsbr_register before the thread runs and by grow_thread_array only
  // while the world is stopped (docs/cpython-model.md §23). nullptr while
  // the thread has no slot (not created yet, or exited and unregistered).
  QsbrPad* qsbr = nullptr;
  std::vector<DelayedItem> delayed;
  size_t delayed_rd = 0;              // first unprocessed item of `delayed` (a chunk's rd_idx)
  uint32_t qsbr_deferred_count = 0;   // _qsbr_thread_state.deferred_count (owner only)
  size_t qsbr_deferred_memory = 0;    // _qsbr_thread_state.deferred_memory (owner only)
  bool qsbr_should_process = false;   // _qsbr_thread_state.should_process (owner only;
                                      // mirrored by kEvalProcessDelayed in eval_breaker)

  // Biased reference counting (brc.h): models objects_to_merge, guarded by
  // brc_mutex (the bucket mutex of _brc_thread_state), pushed by other threads.
  Mutex brc_mutex;
  std::vector<Object*> brc_queue;
  // Whether the thread is in the BRC table (guarded by brc_mutex): cleared by
  // BrcRemoveThread at exit, after which queuers merge its objects themselves.
  Cell<uint8_t> brc_registered{1};
  std::vector<Object*> brc_local;     // local_objects_to_merge (owner only)

  // Object memory (heap.h): this thread's heap, owned by the Runtime.
  Heap* heap = nullptr;

  // Stop-the-world (stw.h): set while this thread is parked for a STW.
  Cell<uint8_t> stw_parked{0};
  // Owner only (stw.cc, gh-158195): while the thread waits for the
  // stop-the-world mutex as a requester, re-attaching does not resume its
  // critical sections; `stw_saved_cs` holds its suspended section stack
  // (tagged top) from then until StartTheWorld restores it.
  bool stw_defer_cs_resume = false;
  uintptr_t stw_saved_cs = 0;

  ThreadStatus Status() const { return static_cast<ThreadStatus>(status.Peek()); }
};

}  // namespace ftf::core

#endif  // FTF_CORE_THREAD_STATE_H_
