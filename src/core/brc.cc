// brc.cc - the biased-reference-counting merge queue (see brc.h).

#include "core/brc.h"

#include <utility>

#include "core/object.h"
#include "core/observer.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

// Models merge_queued_objects: pop until empty; the queue held one
// reference to each object, hence extra = -1.
void MergeQueuedObjects(ThreadState& ts) {
  while (!ts.brc_local.empty()) {
    Object* o = ts.brc_local.back();
    ts.brc_local.pop_back();
    if (ExplicitMergeRefcount(ts, o, -1) == 0) Dealloc(ts, o);
  }
}

// Models _PyObjectStack_Merge(&local, &objects_to_merge) (caller holds brc_mutex).
void MoveQueueToLocal(ThreadState& ts) {
  ts.brc_local.insert(ts.brc_local.end(), ts.brc_queue.begin(), ts.brc_queue.end());
  ts.brc_queue.clear();
}

}  // namespace

void QueueObject(ThreadState& ts, Object* o) {
  Runtime& rt = *ts.rt;
  uintptr_t tid = o->ob_tid.LoadSeqCst();
  if (tid == 0) {
    // The owner merged concurrently; the shared path now applies.
    Decref(ts, o);
    return;
  }
  ThreadState* owner = rt.FindThreadByTid(tid);
  if (owner == nullptr) {
    // No thread ever had this id (CPython's lookup would find nothing in the
    // bucket either): treat as exited. Only reachable after a model bug.
    if (Observer* obs = rt.observer) obs->OnBrcQueued(ts, o, -1);
    if (ExplicitMergeRefcount(ts, o, -1) == 0) Dealloc(ts, o);
    return;
  }
  owner->brc_mutex.Lock(&ts);  // PyMutex_Lock(&bucket->mutex)
  if (owner->brc_registered.LoadPlain() == 0) {
    // The owner has exited: merge here, subtracting the stolen reference.
    if (Observer* obs = rt.observer) obs->OnBrcQueued(ts, o, -1);
    intptr_t refcount = ExplicitMergeRefcount(ts, o, -1);
    owner->brc_mutex.Unlock();
    if (refcount == 0) Dealloc(ts, o);
    return;
  }
  owner->brc_queue.push_back(o);
  if (Observer* obs = rt.observer) obs->OnBrcQueued(ts, o, owner->index);
  owner->eval_breaker.FetchOrSeqCst(kEvalExplicitMerge);  // _Py_set_eval_breaker_bit
  owner->brc_mutex.Unlock();
}

void BrcMergeRefcounts(ThreadState& ts) {
  // Move everything to the private stack: destructors must not run under the lock.
  ts.brc_mutex.Lock(&ts);
  MoveQueueToLocal(ts);
  ts.brc_mutex.Unlock();
  MergeQueuedObjects(ts);
}

void BrcInitThread(ThreadState& ts) {
  ts.brc_mutex.Lock(&ts);
  ts.brc_registered.StorePlain(1);
  ts.brc_mutex.Unlock();
}

void BrcRemoveThread(ThreadState& ts) {
  // Other threads may still be queueing our objects: drain until the queue
  // is empty under the lock, and leave the table in that same critical
  // section. After that, queuers merge our objects themselves.
  for (;;) {
    MergeQueuedObjects(ts);
    ts.brc_mutex.Lock(&ts);
    bool empty = ts.brc_queue.empty();
    if (empty) {
      ts.brc_registered.StorePlain(0);
    } else {
      MoveQueueToLocal(ts);
    }
    ts.brc_mutex.Unlock();
    if (empty) break;
  }
}

}  // namespace ftf::core
