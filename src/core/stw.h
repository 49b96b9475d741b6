// stw.h - stop-the-world and the thread life cycle around it.
// What CPython does here: docs/cpython-model.md §9.
//
// Models Python/pystate.c (_PyEval_StopTheWorld / _PyEval_StartTheWorld,
// park_detached_threads, decrement_stoptheworld_countdown, detach_thread,
// _PyThreadState_Attach/Detach/Suspend, tstate_wait_attach) and the FT parts
// of _Py_HandlePending (Python/ceval_gil.c).
//
// States of a thread (ThreadState::status):
//   ATTACHED  running interpreter code; may hold critical sections.
//   DETACHED  blocked or outside the interpreter; sections suspended, QSBR offline.
//   SUSPENDED parked for a stop-the-world; may not attach until the world restarts.
//
// INV-STW-1: while `world_stopped` is set, every thread other than the
//            requester is SUSPENDED (or exited/not started).
// INV-STW-2: a thread becomes SUSPENDED only by the requester's CAS from
//            DETACHED, or by itself at a safe point when asked (kEvalPleaseStop).
// INV-STW-3: the countdown counts the other live threads not yet SUSPENDED.
//
// Thread-safety: status is CASed by the thread and by the requester;
// countdown and the please-stop bits are changed under HEAD_LOCK
// (StwState::head_lock, a DONT_DETACH mutex) as in CPython.

#ifndef FTF_CORE_STW_H_
#define FTF_CORE_STW_H_

#include "core/atomics.h"

namespace ftf::core {

struct ThreadState;

// Models _PyEval_StopTheWorld: on return every other live thread is
// SUSPENDED at a safe point or while detached. The caller stays attached and
// keeps its own critical sections, unless it had to wait for the
// stop-the-world mutex: then they are released while it waits and given back
// (the top one re-acquired) only when StartTheWorld returns (gh-158195).
void StopTheWorld(ThreadState& requester, Loc loc = Loc::Here());
// Models _PyEval_StartTheWorld.
void StartTheWorld(ThreadState& requester, Loc loc = Loc::Here());

// Models _PyThreadState_Suspend: detach into SUSPENDED if a stop is
// requested (and count down), otherwise into DETACHED.
void Suspend(ThreadState& ts, Loc loc = Loc::Here());

// A safe point between operations (models the eval-breaker check,
// _Py_HandlePending, plus QSBR_QUIESCENT_STATE of _CHECK_PERIODIC):
// honour a stop-the-world request, merge queued refcounts, report a quiescent
// state and process delayed frees whose goal is reached.
void SafePoint(ThreadState& ts, Loc loc = Loc::Here());

// Thread birth and death (models new_threadstate + _PyThreadState_Bind +
// attach, and PyThreadState_Clear/_PyThreadState_DeleteCurrent).
// ThreadStart is for a thread that exists before the program's operations
// run (its QSBR entry and BRC registration are the Runtime's set-up);
// ThreadExit unregisters the QSBR entry in runs that can grow the array.
void ThreadStart(ThreadState& ts, Loc loc = Loc::Here());
void ThreadExit(ThreadState& ts, Loc loc = Loc::Here());

// A thread created by another during the run (docs/cpython-model.md §23).
// The parent's half (models new_threadstate): reserve a QSBR entry (which
// may stop the world to grow the array), add the child to the thread list
// under HEAD_LOCK (SUSPENDED if a stop-the-world is requested, else
// DETACHED) and register the entry. `child` must be NotStarted, with no
// QSBR entry and not in the BRC table. (qsbr_threads.cc)
void ThreadCreate(ThreadState& parent, ThreadState& child, Loc loc = Loc::Here());
// The child's half, on its own thread once the parent is done (models
// bind_tstate's _Py_brc_init_thread, then _PyThreadState_Attach, which
// waits while the thread is SUSPENDED).
void ThreadBindAndAttach(ThreadState& ts);

}  // namespace ftf::core

#endif  // FTF_CORE_STW_H_
