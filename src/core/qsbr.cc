// qsbr.cc - quiescent-state-based reclamation and delayed frees (see qsbr.h).

#include "core/qsbr.h"

#include "core/brc.h"
#include "core/heap.h"
#include "core/object.h"
#include "core/observer.h"
#include "core/refcount.h"
#include "core/runtime.h"

namespace ftf::core {
namespace {

// Models qsbr_poll_scan: the minimum sequence of the online threads, and
// rd_seq moved forward to it (a failed CAS means someone else moved it).
uint64_t PollScan(ThreadState& ts) {
  Runtime& rt = *ts.rt;
  // Pairs with the seq_cst store of attach: a thread that attached before the
  // scan cannot be read as offline.
  FenceSeqCst();
  uint64_t min_seq = rt.qsbr.wr_seq.LoadSeqCst();
  if (!rt.faults.qsbr_poll_ignores_threads) {
    // shared->array and shared->size are read without the mutex: only a
    // grow with the world stopped replaces them, and the scanning thread is
    // attached (docs/cpython-model.md §23). In a run that cannot grow the
    // array they are constant: no scheduling point (QsbrShared::growable).
    QsbrShared& q = rt.qsbr;
    const QsbrPad* array = q.growable ? q.array.LoadPlain() : q.array.Peek();
    const int32_t size = q.growable ? q.size.LoadPlain() : q.size.Peek();
    for (int32_t i = 0; i < size; ++i) {
      uint64_t seq = array[i].seq.LoadSeqCst();
      if (seq != kQsbrOffline && QsbrLt(seq, min_seq)) min_seq = seq;
    }
  }
  uint64_t rd_seq = rt.qsbr.rd_seq.LoadSeqCst();
  if (QsbrLt(rd_seq, min_seq)) {
    uint64_t expected = rd_seq;
    (void)rt.qsbr.rd_seq.CompareExchangeSeqCst(expected, min_seq);
    rd_seq = min_seq;
  }
  return rd_seq;
}

// Models free_work_item without the GC callback.
void FreeWorkItem(ThreadState& ts, const DelayedItem& item) {
  if (item.kind == DelayedItem::kDecref) {
    Decref(ts, static_cast<Object*>(item.ptr));
  } else {
    FreeRaw(ts, item.ptr);
  }
}

// Models free_delayed.
void FreeDelayedItem(ThreadState& ts, DelayedItem::Kind kind, void* ptr, size_t size) {
  Runtime& rt = *ts.rt;
  // With the world stopped no other thread can hold the pointer.
  if (rt.faults.qsbr_free_immediately || rt.stw.world_stopped.LoadRelaxed() != 0) {
    FreeWorkItem(ts, DelayedItem{kind, ptr, 0});
    return;
  }
  uint64_t goal = QsbrDeferredAdvance(ts, size);
  ts.delayed.push_back(DelayedItem{kind, ptr, goal});
  if (Observer* obs = rt.observer) obs->OnDelayed(ts, ptr, kind == DelayedItem::kDecref, goal);
  // A full chunk is processed on the spot, as a safety valve.
  if ((ts.delayed.size() - ts.delayed_rd) % kWorkItemsPerChunk == 0) ProcessDelayed(ts);
}

// Models process_queue: items in order until the first unreached goal.
// `rd` indexes the first unprocessed item; the pair (queue, rd) stays
// consistent if a freed item re-enters (a Decref can free more delayed memory).
void ProcessQueue(ThreadState& ts, std::vector<DelayedItem>& queue, size_t& rd) {
  while (rd < queue.size()) {
    DelayedItem item = queue[rd];
    if (!QsbrPoll(ts, item.goal)) break;
    ++rd;
    FreeWorkItem(ts, item);
  }
  if (rd == queue.size()) {
    queue.clear();
    rd = 0;
  } else if (rd >= kWorkItemsPerChunk) {
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(rd));
    rd = 0;
  }
}

}  // namespace

void QsbrAttach(ThreadState& ts) {
  uint64_t seq = ts.rt->qsbr.wr_seq.LoadAcquire();  // _Py_qsbr_shared_current
  ts.qsbr->seq.StoreSeqCst(seq);                    // needs seq_cst: pairs with the scan's fence
}

void QsbrDetach(ThreadState& ts) { ts.qsbr->seq.StoreRelease(kQsbrOffline); }

void QsbrQuiescentState(ThreadState& ts) {
  uint64_t seq = ts.rt->qsbr.wr_seq.LoadAcquire();
  ts.qsbr->seq.StoreRelease(seq);
}

uint64_t QsbrAdvance(Runtime& rt) { return rt.qsbr.wr_seq.FetchAddSeqCst(kQsbrIncr) + kQsbrIncr; }

uint64_t QsbrSharedNext(Runtime& rt) { return rt.qsbr.wr_seq.LoadAcquire() + kQsbrIncr; }

namespace {

// Models `qsbr->should_process = true` plus the eval-breaker request.
void RequestProcessing(ThreadState& ts) {
  if (ts.qsbr_should_process) return;
  ts.qsbr_should_process = true;
  ts.eval_breaker.FetchOrSeqCst(kEvalProcessDelayed);
}

}  // namespace

uint64_t QsbrDeferredAdvance(ThreadState& ts, size_t size) {
  QsbrShared& q = ts.rt->qsbr;
  ++ts.qsbr_deferred_count;
  ts.qsbr_deferred_memory += size;
  if (ts.qsbr_deferred_count >= q.deferred_limit || ts.qsbr_deferred_memory > q.free_mem_limit) {
    ts.qsbr_deferred_count = 0;
    ts.qsbr_deferred_memory = 0;
    RequestProcessing(ts);
    return QsbrAdvance(*ts.rt);
  }
  return QsbrSharedNext(*ts.rt);
}

bool QsbrHasPending(const ThreadState& ts) { return ts.delayed_rd < ts.delayed.size(); }

void QsbrReachThreshold(ThreadState& ts) {
  if (!QsbrHasPending(ts)) return;
  // Goals are never behind wr_seq + 2, and the newest is the largest: once
  // wr_seq has reached it, every pending goal is covered by a write already.
  const uint64_t newest = ts.delayed.back().goal;
  if (QsbrLt(ts.rt->qsbr.wr_seq.LoadAcquire(), newest)) {
    ts.qsbr_deferred_count = 0;
    ts.qsbr_deferred_memory = 0;
    QsbrAdvance(*ts.rt);
  }
  RequestProcessing(ts);
}

bool QsbrGoalReached(Runtime& rt, uint64_t goal) {
  // The mutant compares with what was written, not with what every reader
  // has observed: a goal counts as reached as soon as wr_seq passed it.
  if (rt.faults.qsbr_goal_reached_reads_wr_seq) return QsbrLeq(goal, rt.qsbr.wr_seq.LoadSeqCst());
  return QsbrLeq(goal, rt.qsbr.rd_seq.LoadSeqCst());
}

bool QsbrPoll(ThreadState& ts, uint64_t goal) {
  if (QsbrGoalReached(*ts.rt, goal)) return true;
  return QsbrLeq(goal, PollScan(ts));
}

void FreeDelayed(ThreadState& ts, void* p) {
  if (p == nullptr) return;
  FreeDelayedItem(ts, DelayedItem::kFreeBlock, p, Heap::RawSize(p));
}

void XDecRefDelayed(ThreadState& ts, Object* o) {
  if (o == nullptr) return;
  // Objects count for no bytes in the memory threshold (their block is not
  // what is being freed).
  FreeDelayedItem(ts, DelayedItem::kDecref, o, 0);
}

void ProcessDelayed(ThreadState& ts) {
  if (ts.qsbr_should_process) {  // models `qsbr->should_process = false`
    ts.qsbr_should_process = false;
    ts.eval_breaker.FetchAndSeqCst(~kEvalProcessDelayed);
  }
  ProcessQueue(ts, ts.delayed, ts.delayed_rd);

  // Models process_interp_queue: the abandoned items, only if the lock is
  // free right now (_PyMutex_LockTimed with timeout 0: Mutex::TryLock).
  QsbrShared& q = ts.rt->qsbr;
  if (q.queue_has_work.LoadRelaxed() == 0) return;
  if (!q.queue_mutex.TryLock()) return;
  ProcessQueue(ts, q.queue, q.queue_rd);
  q.queue_has_work.StoreRelaxed(q.queue.empty() ? 0 : 1);
  q.queue_mutex.Unlock();
}

void AbandonDelayed(ThreadState& ts) {
  if (ts.delayed_rd == ts.delayed.size()) {
    ts.delayed.clear();
    ts.delayed_rd = 0;
    return;
  }
  QsbrShared& q = ts.rt->qsbr;
  q.queue_mutex.Lock(&ts);
  q.queue.insert(q.queue.end(), ts.delayed.begin() + static_cast<std::ptrdiff_t>(ts.delayed_rd), ts.delayed.end());
  q.queue_has_work.StoreRelaxed(1);
  q.queue_mutex.Unlock();
  ts.delayed.clear();
  ts.delayed_rd = 0;
}

void ThreadExitMemory(ThreadState& ts) {
  BrcRemoveThread(ts);
  AbandonDelayed(ts);
}

}  // namespace ftf::core
