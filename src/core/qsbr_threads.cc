// qsbr_threads.cc - the QSBR thread array and threads created during a run
// (see qsbr.h and stw.h; docs/cpython-model.md §23).
//
// Models Python/qsbr.c (_Py_qsbr_reserve, grow_thread_array,
// initialize_new_array, qsbr_allocate, _Py_qsbr_register,
// _Py_qsbr_unregister) and the parent's and child's halves of starting a
// thread in Python/pystate.c (new_threadstate with init_threadstate's
// start-suspended rule; bind_tstate's _Py_brc_init_thread).

#include "core/brc.h"
#include "core/qsbr.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

constexpr uint8_t S(ThreadStatus s) { return static_cast<uint8_t>(s); }

// Models initialize_new_array: re-point every registered thread at its
// entry and push the unallocated entries onto the free list (in index
// order, so the highest free index is handed out first, as in CPython).
// Caller holds the mutex (or no logical thread runs) and the world is
// stopped: the threads' `qsbr` pointers are written without synchronization.
void InitializeNewArray(QsbrShared& q, QsbrPad* array, int32_t size) {
  q.freelist = -1;
  for (int32_t i = 0; i < size; ++i) {
    QsbrPad& pad = array[i];
    if (pad.tstate != nullptr) pad.tstate->qsbr = &pad;
    if (!pad.allocated) {
      pad.freelist_next = q.freelist;
      q.freelist = i;
    }
  }
}

// Models qsbr_allocate: pop the free list (caller holds the mutex).
int32_t Allocate(QsbrShared& q, QsbrPad* array) {
  const int32_t i = q.freelist;
  if (i < 0) return -1;
  q.freelist = array[i].freelist_next;
  array[i].freelist_next = -1;
  array[i].allocated = true;
  return i;
}

// Models grow_thread_array (caller holds the mutex; the world is stopped,
// unless the variant's fault removes the stop): a new array of twice the
// size, the old entries copied (a memcpy in CPython: the sequences too),
// the new one published, the old one freed at once.
void GrowThreadArray(QsbrShared& q) {
  QsbrPad* old = q.array.LoadPlain();
  const int32_t old_size = q.size.LoadPlain();
  int32_t new_size = old_size * 2;
  if (new_size < kQsbrMinArraySize) new_size = kQsbrMinArraySize;
  auto* array = new QsbrPad[static_cast<size_t>(new_size)];
  for (int32_t i = 0; i < old_size; ++i) {
    array[i].seq.Init(old[i].seq.LoadRelaxed());
    array[i].tstate = old[i].tstate;
    array[i].allocated = old[i].allocated;
  }
  q.array.StorePlain(array);
  q.size.StorePlain(new_size);
  InitializeNewArray(q, array, new_size);
  delete[] old;
}

}  // namespace

void QsbrLayOutArray(Runtime& rt, const std::vector<bool>& registered) {
  QsbrShared& q = rt.qsbr;
  int32_t count = 0;
  for (int i = 0; i < rt.num_threads(); ++i) count += registered[static_cast<size_t>(i)] ? 1 : 0;
  delete[] q.array.Peek();
  auto* array = new QsbrPad[static_cast<size_t>(count)];
  int32_t next = 0;
  for (int i = 0; i < rt.num_threads(); ++i) {
    ThreadState& ts = rt.thread(i);
    ts.qsbr = nullptr;
    if (!registered[static_cast<size_t>(i)]) continue;
    array[next].tstate = &ts;
    array[next].allocated = true;
    ++next;
  }
  q.array.Init(array);
  q.size.Init(count);
  InitializeNewArray(q, array, count);
}

int32_t QsbrReserve(ThreadState& parent) {
  Runtime& rt = *parent.rt;
  QsbrShared& q = rt.qsbr;
  q.mutex.Lock(&parent);  // PyMutex_Lock(&shared->mutex)
  int32_t index = Allocate(q, q.array.LoadPlain());
  if (index < 0) {
    // No free entry: pause every thread, grow, and re-point their entries.
    const bool stop = !rt.faults.qsbr_grow_without_stop;
    if (stop) StopTheWorld(parent);
    GrowThreadArray(q);
    index = Allocate(q, q.array.LoadPlain());
    if (stop) StartTheWorld(parent);
  }
  q.mutex.Unlock();
  return index;
}

void QsbrRegister(ThreadState& parent, ThreadState& child, int32_t index) {
  QsbrShared& q = parent.rt->qsbr;
  q.mutex.Lock(&parent);
  QsbrPad& pad = q.array.LoadPlain()[index];
  pad.tstate = &child;
  child.qsbr = &pad;
  q.mutex.Unlock();
}

void QsbrUnregister(ThreadState& ts) {
  QsbrShared& q = ts.rt->qsbr;
  q.mutex.Lock(&ts, LockFlags::kDontDetach);
  // Re-read inside the mutex: a grow may have moved the entry meanwhile.
  QsbrPad* pad = ts.qsbr;
  QsbrPad* array = q.array.LoadPlain();
  ts.qsbr = nullptr;
  pad->tstate = nullptr;
  pad->allocated = false;
  pad->freelist_next = q.freelist;
  q.freelist = static_cast<int32_t>(pad - array);
  q.mutex.Unlock();
}

void ThreadCreate(ThreadState& parent, ThreadState& child, Loc loc) {
  const int32_t index = QsbrReserve(parent);
  StwState& stw = parent.rt->stw;
  stw.head_lock.Lock(&parent, LockFlags::kDontDetach, loc);
  // init_threadstate: a thread created while a stop-the-world is requested
  // starts SUSPENDED (the stop did not count it); add_threadstate puts it
  // in the list, where the next stop counts it.
  const bool stopping = stw.requested.LoadRelaxed(loc) != 0;
  child.status.StoreSeqCst(S(stopping ? ThreadStatus::kSuspended : ThreadStatus::kDetached), loc);
  stw.head_lock.Unlock(loc);
  QsbrRegister(parent, child, index);
}

void ThreadBindAndAttach(ThreadState& ts) {
  BrcInitThread(ts);  // bind_tstate: from the new thread itself
  Attach(ts);         // waits while SUSPENDED
}

}  // namespace ftf::core
