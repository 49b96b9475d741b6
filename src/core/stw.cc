// stw.cc - stop-the-world, attach/detach and safe points (see stw.h).

#include "core/stw.h"

#include "core/brc.h"
#include "core/critical_section.h"
#include "core/parking_lot.h"
#include "core/qsbr.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

// A wait predicate (WaitSpec::ready) is evaluated by the executor at its
// decisions while a thread waits: the scheduler looking, not the program
// acting. libFuzzer's coverage instrumentation (edges, compares) is kept out
// of it: it says nothing about the program and costs time at every decision.
#if defined(__clang__)
#define FTF_WAIT_PREDICATE __attribute__((no_sanitize("coverage")))
#else
#define FTF_WAIT_PREDICATE
#endif

constexpr uint8_t S(ThreadStatus s) { return static_cast<uint8_t>(s); }

bool IsLive(const ThreadState& t) {
  ThreadStatus s = t.Status();
  return s != ThreadStatus::kNotStarted && s != ThreadStatus::kExited;
}

// Models detach_thread.
void DetachThread(ThreadState& ts, ThreadStatus detached_state, Loc loc) {
  if (ts.critical_section.Peek() != 0) CriticalSectionSuspendAll(ts, loc);
  QsbrDetach(ts);
  ts.status.StoreSeqCst(S(detached_state), loc);
}

// Models tstate_try_attach: CAS DETACHED -> ATTACHED.
bool TryAttach(ThreadState& ts, Loc loc) {
  uint8_t expected = S(ThreadStatus::kDetached);
  return ts.status.CompareExchangeSeqCst(expected, S(ThreadStatus::kAttached), loc);
}

// Models tstate_wait_attach: park while SUSPENDED, until the world restarts.
void WaitAttach(ThreadState& ts, Loc loc) {
  do {
    uint8_t state = ts.status.LoadRelaxed(loc);
    if (state == S(ThreadStatus::kSuspended)) {
      GlobalParkingLot().Park(ts, ts.status.address(), ts.status, state, "stop-the-world (suspended)", loc);
    }
  } while (!TryAttach(ts, loc));
}

// Models decrement_stoptheworld_countdown (caller holds HEAD_LOCK).
void DecrementCountdown(StwState& stw, Loc loc) {
  stw.thread_countdown.StoreRelaxed(stw.thread_countdown.LoadRelaxed(loc) - 1, loc);
}

// Models park_detached_threads (caller holds HEAD_LOCK): CAS every DETACHED
// thread to SUSPENDED, ask every ATTACHED one to stop. True when all stopped.
bool ParkDetachedThreads(Runtime& rt, ThreadState& requester, Loc loc) {
  StwState& stw = rt.stw;
  for (int i = 0; i < rt.num_threads(); ++i) {
    ThreadState& t = rt.thread(i);
    if (&t == &requester || !IsLive(t)) continue;
    uint8_t state = t.status.LoadRelaxed(loc);
    // A failed CAS means the thread just attached (CAS reloads `state`):
    // then it must be asked to stop, or nobody would wake the requester.
    // (CPython re-polls every 1 ms; the model's wait has no timeout.)
    while (state == S(ThreadStatus::kDetached)) {
      if (t.status.CompareExchangeSeqCst(state, S(ThreadStatus::kSuspended), loc)) {
        DecrementCountdown(stw, loc);
        state = S(ThreadStatus::kSuspended);
      }
    }
    if (state == S(ThreadStatus::kAttached)) {
      if ((t.eval_breaker.LoadRelaxed(loc) & kEvalPleaseStop) == 0) t.eval_breaker.FetchOrSeqCst(kEvalPleaseStop, loc);
    }
  }
  return stw.thread_countdown.LoadRelaxed(loc) == 0;
}

// The requester's wait (models PyEvent_WaitTimed on stop_event in 1 ms
// slices): ready when the countdown reached zero, or when a thread became
// DETACHED and must be parked by the requester.
struct StwWait {
  Runtime* rt;
  const ThreadState* requester;
};
FTF_WAIT_PREDICATE bool StwWaitReady(const void* ctx) {
  const auto* w = static_cast<const StwWait*>(ctx);
  if (w->rt->stw.thread_countdown.Peek() == 0) return true;
  for (int i = 0; i < w->rt->num_threads(); ++i) {
    const ThreadState& t = w->rt->thread(i);
    if (&t == w->requester) continue;
    if (t.Status() == ThreadStatus::kDetached) return true;
    // Attached but not (yet) asked to stop: the requester must ask.
    if (t.Status() == ThreadStatus::kAttached && (t.eval_breaker.Peek() & kEvalPleaseStop) == 0) return true;
  }
  return false;
}

}  // namespace

void Detach(ThreadState& ts) { DetachThread(ts, ThreadStatus::kDetached, Loc::Here()); }

// Models _PyThreadState_Attach.
void Attach(ThreadState& ts) {
  Loc loc = Loc::Here();
  if (!TryAttach(ts, loc)) WaitAttach(ts, loc);
  QsbrAttach(ts);
  // A requester waiting for the stop-the-world mutex does not resume its
  // sections (gh-158195; see StopTheWorld).
  if (ts.critical_section.Peek() != 0 && !ts.stw_defer_cs_resume) CriticalSectionResume(ts, loc);
}

void Suspend(ThreadState& ts, Loc loc) {
  StwState& stw = ts.rt->stw;
  stw.head_lock.Lock(&ts, LockFlags::kDontDetach, loc);
  bool requested = stw.requested.LoadRelaxed(loc) != 0;
  stw.head_lock.Unlock(loc);
  if (!requested) {
    DetachThread(ts, ThreadStatus::kDetached, loc);
    return;
  }
  DetachThread(ts, ThreadStatus::kSuspended, loc);
  stw.head_lock.Lock(&ts, LockFlags::kDontDetach, loc);
  DecrementCountdown(stw, loc);
  stw.head_lock.Unlock(loc);
}

void StopTheWorld(ThreadState& requester, Loc loc) {
  Runtime& rt = *requester.rt;
  StwState& stw = rt.stw;
  // gh-158195: a requester that must wait for stw->mutex detaches (which
  // suspends its critical sections) but does not re-acquire them when it
  // re-attaches: it may own the mutex by then (a hand-off), and a thread
  // queued behind it for the same mutex may hold one of them pinned
  // (type_lock_prevent_release), which would deadlock. The suspended stack
  // is set aside (so a section begun and ended during the stop does not
  // resume it) and restored when the world restarts. Without the fix
  // (Runtime::stw_requester_resumes_sections) re-attaching resumes them.
  requester.stw_defer_cs_resume = !rt.stw_requester_resumes_sections;
  stw.mutex.Lock(&requester, LockFlags::kDetach, loc);
  requester.stw_defer_cs_resume = false;
  const uintptr_t cs = requester.critical_section.Peek();
  if (cs != 0 && (cs & kCsInactive) != 0 && !rt.stw_requester_resumes_sections) {
    requester.stw_saved_cs = cs;
    requester.critical_section.Init(0);  // private to the thread: no scheduling point
  }
  stw.head_lock.Lock(&requester, LockFlags::kDontDetach, loc);
  stw.requested.StoreRelaxed(1, loc);
  stw.requester = &requester;
  int32_t count = 0;
  for (int i = 0; i < rt.num_threads(); ++i) {
    ThreadState& t = rt.thread(i);
    if (&t != &requester && IsLive(t)) ++count;
  }
  stw.thread_countdown.StoreRelaxed(count, loc);
  if (count != 0) {
    for (;;) {
      bool all = ParkDetachedThreads(rt, requester, loc);
      stw.head_lock.Unlock(loc);
      if (all) break;
      // Waits without detaching (gh-118332): the requester keeps its locks.
      StwWait w{&rt, &requester};
      WaitUntil(WaitSpec{"stop-the-world (requester)", &stw, &StwWaitReady, &w, loc});
      stw.head_lock.Lock(&requester, LockFlags::kDontDetach, loc);
    }
  } else {
    stw.head_lock.Unlock(loc);
  }
  stw.world_stopped.StoreRelaxed(1, loc);
}

void StartTheWorld(ThreadState& requester, Loc loc) {
  Runtime& rt = *requester.rt;
  StwState& stw = rt.stw;
  stw.head_lock.Lock(&requester, LockFlags::kDontDetach, loc);
  stw.requested.StoreRelaxed(0, loc);
  stw.world_stopped.StoreRelaxed(0, loc);
  for (int i = 0; i < rt.num_threads(); ++i) {
    ThreadState& t = rt.thread(i);
    if (&t == &requester) continue;
    if (t.status.LoadRelaxed(loc) == S(ThreadStatus::kSuspended)) {
      t.status.StoreSeqCst(S(ThreadStatus::kDetached), loc);
      GlobalParkingLot().UnparkAll(t.status.address());
    }
  }
  stw.requester = nullptr;
  stw.head_lock.Unlock(loc);
  stw.mutex.Unlock(loc);
  // gh-158195: the sections set aside in StopTheWorld are back, their top
  // re-acquired (which may block, now that the world runs again).
  if (requester.stw_saved_cs != 0) {
    requester.critical_section.Init(requester.stw_saved_cs);
    requester.stw_saved_cs = 0;
    CriticalSectionResume(requester, loc);
  }
}

void SafePoint(ThreadState& ts, Loc loc) {
  uint32_t bits = ts.eval_breaker.LoadRelaxed(loc);
  if ((bits & kEvalPleaseStop) != 0) {
    ts.eval_breaker.FetchAndSeqCst(~kEvalPleaseStop, loc);
    Suspend(ts, loc);
    // Attaching blocks until the stop-the-world is over.
    Attach(ts);
  }
  if ((bits & kEvalExplicitMerge) != 0) {
    ts.eval_breaker.FetchAndSeqCst(~kEvalExplicitMerge, loc);
    BrcMergeRefcounts(ts);
  }
  QsbrQuiescentState(ts);
  // Also processes work that exited threads handed to the interpreter queue.
  ProcessDelayed(ts);
}

// A thread created while a stop-the-world is requested starts SUSPENDED: it
// was not counted by the stop, and must not run before the restart (models
// the start-suspended rule of new_threadstate, Python/pystate.c).
void ThreadStart(ThreadState& ts, Loc loc) {
  StwState& stw = ts.rt->stw;
  stw.head_lock.Lock(&ts, LockFlags::kDontDetach, loc);
  bool stopping = stw.requested.LoadRelaxed(loc) != 0;
  ts.status.StoreSeqCst(S(stopping ? ThreadStatus::kSuspended : ThreadStatus::kDetached), loc);
  stw.head_lock.Unlock(loc);
  Attach(ts);
}

void ThreadExit(ThreadState& ts, Loc loc) {
  ThreadExitMemory(ts);
  DetachThread(ts, ThreadStatus::kDetached, loc);
  StwState& stw = ts.rt->stw;
  stw.head_lock.Lock(&ts, LockFlags::kDontDetach, loc);
  // A thread not parked by a pending stop is still counted by it: the stop
  // must not wait for us (models tstate_delete_common).
  uint8_t state = ts.status.LoadRelaxed(loc);
  if (stw.requested.LoadRelaxed(loc) != 0 && state != S(ThreadStatus::kSuspended)) DecrementCountdown(stw, loc);
  ts.status.StoreSeqCst(S(ThreadStatus::kExited), loc);
  stw.head_lock.Unlock(loc);
  // _Py_qsbr_unregister, last in tstate_delete_common. In a run that never
  // reserves an entry after the start nobody could reuse it, so it is kept
  // (QsbrShared::growable): such runs schedule as before.
  if (ts.rt->qsbr.growable) QsbrUnregister(ts);
}

}  // namespace ftf::core
