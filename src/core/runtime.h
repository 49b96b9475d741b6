// runtime.h - the modelled interpreter: everything shared by its logical threads.
//
// Models the free-threading parts of PyInterpreterState / _PyRuntimeState:
// the thread list, stop-the-world state (stw.h), the QSBR shared sequence
// (qsbr.h), the object heap (heap.h), and counters that CPython keeps per
// interpreter. One Runtime is one fuzz input's world; Reset() makes it new
// again between inputs without reallocating (executors reuse it).
//
// Thread-safety: the thread list, the heaps and the configuration members
// (faults, observer, plain_free_list_link, QSBR knobs) are fixed while
// logical threads run; the shared state lives in Cells (stw, qsbr,
// next_object_id) or behind the model's Mutexes. Construction, Reset and
// destruction only while no logical thread runs.
// Memory ordering: see the owning headers (stw.h, qsbr.h, heap.h).

#ifndef FTF_CORE_RUNTIME_H_
#define FTF_CORE_RUNTIME_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "core/atomics.h"
#include "core/heap.h"
#include "core/mutex.h"
#include "core/object.h"
#include "core/observer.h"
#include "core/qsbr.h"
#include "core/thread_state.h"

namespace ftf::core {

// Stop-the-world state (models _stoptheworld_state, pycore_interp.h).
// Owned by stw.cc.
struct StwState {
  Mutex mutex;                         // stw->mutex: one requester at a time
  Mutex head_lock;                     // HEAD_LOCK(runtime), taken with _Py_LOCK_DONT_DETACH
  Cell<uint8_t> requested{0};          // stw->requested
  Cell<uint8_t> world_stopped{0};      // stw->world_stopped
  Cell<int32_t> thread_countdown{0};   // stw->thread_countdown
  ThreadState* requester = nullptr;    // stw->requester
};

// Test-only fault switches: each turns off one rule of the model, at the
// place the rule lives, so the auditor's tests can prove they catch the bug
// (every switch names the CPython fix it undoes). All off by default; set
// only while no logical thread runs.
struct Faults {
  // MergeZeroLocalRefcount loads ob_ref_shared relaxed, not acquire (undoes gh-117657).
  bool merge_without_acquire = false;
  // MergeZeroLocalRefcount / ExplicitMergeRefcount clear ob_tid (and local)
  // after the CAS to MERGED instead of before (undoes gh-119999 / gh-121794).
  bool merge_tid_after_cas = false;
  // TryIncRefShared accepts shared == 0 (INV-RC-2, the owner's no-CAS free).
  bool tryincref_shared_allows_zero = false;
  // TryIncRefShared accepts exactly MERGED (a dead object).
  bool tryincref_shared_allows_merged = false;
  // TryIncrefCompare skips the re-load of *src after the shared increment.
  bool tryincref_compare_skips_recheck = false;
  // DecRefSharedIsDead subtracts at count 0 instead of queueing to the owner.
  bool nonowner_decref_subtracts_at_zero = false;
  // NewRefWithLock does not set MAYBE_WEAKREF (undoes gh-124642).
  bool newref_with_lock_no_weakref = false;
  // FreeDelayed / XDecRefDelayed act at once, without waiting for QSBR.
  bool qsbr_free_immediately = false;
  // The QSBR poll scan ignores the threads' sequences (min = wr_seq).
  bool qsbr_poll_ignores_threads = false;
  // _Py_qbsr_goal_reached compares the goal with wr_seq instead of rd_seq
  // (Variant::qsbr_goal_reached_reads_wr_seq; the runner copies it here).
  bool qsbr_goal_reached_reads_wr_seq = false;
  // dictresize frees the old keys through QSBR only when the resizing thread
  // does not own the dict (a test of ob_tid instead of IS_DICT_SHARED), so
  // the owner frees the keys of a SHARED dict at once
  // (Variant::dict_resize_tests_owner; the runner copies it here).
  bool dict_resize_tests_owner = false;
  // _PyObject_SetDeferredRefcount sets the DEFERRED bit without the
  // _Py_REF_DEFERRED bias (Variant::deferred_refcount_bias false; the runner
  // copies it here): a deferred object is freed when its counted references
  // are gone, while tagged stack references still point to it.
  bool deferred_without_bias = false;
  // _PyObject_SetDeferredRefcount's store of ob_ref_shared is relaxed, not
  // plain (Variant::deferred_store_relaxed; the runner copies it here).
  bool deferred_store_relaxed = false;
  // _Py_qsbr_reserve grows the QSBR thread array under shared->mutex alone,
  // without stopping the world (Variant::qsbr_grow_without_stop; the runner
  // copies it here): pollers and attaching threads may still use the old
  // array, which is freed at once.
  bool qsbr_grow_without_stop = false;
};

class Runtime {
 public:
  explicit Runtime(int num_threads);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int num_threads() const { return static_cast<int>(threads_.size()); }
  ThreadState& thread(int i) { return *threads_[static_cast<size_t>(i)]; }
  const ThreadState& thread(int i) const { return *threads_[static_cast<size_t>(i)]; }

  // The thread whose ThreadState::tid is `tid`, or nullptr (models the BRC
  // table lookup, find_thread_state). tids are fixed: (index + 1) * kTidStride.
  ThreadState* FindThreadByTid(uintptr_t tid);
  static constexpr uintptr_t kTidStride = 0x1000;

  // Thread i's object heap (heap.h).
  Heap& heap(int i) { return *heaps_[static_cast<size_t>(i)]; }

  // The None-like immortal singleton (statically allocated, 0 slots, id 1).
  Object* none() const { return none_; }

  // Back to the state right after construction, for the next fuzz input,
  // without reallocating threads: every ThreadState is re-initialised (rt,
  // index, tid and heap kept), heaps and raw blocks are freed, QSBR and
  // stop-the-world state, the object-id counter and the None header are
  // reset, static objects made after construction are freed. Objects of the
  // previous input are gone: no pointer to them may survive. Only while no
  // logical thread runs (and no SchedHook is needed: no scheduling points).
  void Reset();

  StwState stw;
  QsbrShared qsbr;
  Faults faults;
  Observer* observer = nullptr;      // installed auditor, or nullptr (observer.h)
  // How a freed block's free-list link is written into its first word
  // (ob_tid): plainly, as mimalloc does (default), or with a relaxed atomic
  // store. With the plain store TSan reports every stale lock-free reader
  // whose _Py_IsOwnedByCurrentThread check loads ob_tid of a block that was
  // freed concurrently: a race CPython has too and treats as benign (see
  // heap.h). Configuration: set while no logical thread runs; kept by Reset.
  bool plain_free_list_link = true;
  // How many times a contended PyMutex_Lock retries before it parks
  // (MAX_SPIN_COUNT, mutex.h). Configuration: kept by Reset.
  int mutex_max_spin = kMaxSpinCount;
  // Whether a stop-the-world requester that blocks on the stop-the-world
  // mutex re-acquires its suspended critical sections when it re-attaches,
  // as CPython did before gh-158195 (stw.h; mutant_stw_resumes_sections).
  // Configuration (the runner copies the variant's choice): kept by Reset.
  bool stw_requester_resumes_sections = false;
  Cell<uint64_t> next_object_id{1};  // per-Runtime object ids (BlockHeader::object_id)
  // gcstate->collecting: set while a collection runs (gc.h); a second
  // gc.collect() meanwhile returns at once.
  Cell<int32_t> gc_collecting{0};

  // Static blocks (NewStaticObject) are recorded here; set-up time only.
  void AddStaticBlock(void* block) { static_blocks_.push_back(block); }

 private:
  std::vector<std::unique_ptr<ThreadState>> threads_;
  std::vector<std::unique_ptr<Heap>> heaps_;
  std::vector<void*> static_blocks_;  // malloc'd blocks of static objects
  size_t permanent_static_blocks_ = 0;  // those made by the constructor (kept by Reset)
  uint64_t first_dynamic_id_ = 1;       // next_object_id right after construction
  Object* none_ = nullptr;
};

}  // namespace ftf::core

#endif  // FTF_CORE_RUNTIME_H_
