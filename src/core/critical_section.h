// critical_section.h - per-thread stacks of critical sections.
// What CPython does here: docs/cpython-model.md §8.
//
// Models Include/internal/pycore_critical_section.h and
// Python/critical_section.c. A critical section is a small record on the
// logical thread's stack; `ThreadState::critical_section` is a tagged pointer
// to the top one:
//
//   bit0 kCsInactive    (_Py_CRITICAL_SECTION_INACTIVE): suspended, locks released
//   bit1 kCsTwoMutexes  (_Py_CRITICAL_SECTION_TWO_MUTEXES): top is a CriticalSection2
//
// INV-CS-1: two-mutex sections lock the lower address first.
// INV-CS-2: when a thread detaches (blocks, parks for stop-the-world) every
//           active section releases its mutexes and is tagged inactive; on
//           attach only the top-most one is re-acquired. Outer sections are
//           re-acquired when they become top-most again (Pop).
// INV-CS-3: locking a mutex already held by the top-most section is a no-op
//           (the section is not pushed). So is a contended section begun
//           while the world is stopped (gh-144513): it takes no lock.
//
// Not RAII on purpose: Begin/End perform model accesses (scheduling points),
// which must never run from a destructor during an abandoned run's unwinding.
//
// Thread-safety: a thread's stack is touched only by that thread; the mutexes
// are shared (mutex.h). Memory ordering: that of Mutex lock/unlock.

#ifndef FTF_CORE_CRITICAL_SECTION_H_
#define FTF_CORE_CRITICAL_SECTION_H_

#include <cstdint>

#include "core/mutex.h"

namespace ftf::core {

struct ThreadState;

inline constexpr uintptr_t kCsInactive = 1;
inline constexpr uintptr_t kCsTwoMutexes = 2;
inline constexpr uintptr_t kCsMask = 3;

struct alignas(8) CriticalSection {
  uintptr_t prev = 0;       // _cs_prev: tagged pointer to the previous top
  Mutex* mutex = nullptr;   // _cs_mutex: nullptr while not (yet) holding it
};

struct alignas(8) CriticalSection2 {
  CriticalSection base;
  Mutex* mutex2 = nullptr;  // _cs_mutex2
};

// Models _PyCriticalSection_BeginMutex / _PyCriticalSection_BeginSlow. May block
// (and so detach, suspending the thread's other sections).
void CriticalSectionBegin(ThreadState& ts, CriticalSection* c, Mutex* m, Loc loc = Loc::Here());
// Models _PyCriticalSection_End (+ _PyCriticalSection_Pop).
void CriticalSectionEnd(ThreadState& ts, CriticalSection* c, Loc loc = Loc::Here());

// Models _PyCriticalSection2_BeginMutex / _PyCriticalSection2_BeginSlow.
void CriticalSection2Begin(ThreadState& ts, CriticalSection2* c, Mutex* m1, Mutex* m2, Loc loc = Loc::Here());
// Models _PyCriticalSection2_End.
void CriticalSection2End(ThreadState& ts, CriticalSection2* c, Loc loc = Loc::Here());

// Non-blocking forms: push and return true if every mutex was taken with
// LockFast, otherwise leave nothing locked and return false.
bool CriticalSectionTryBegin(ThreadState& ts, CriticalSection* c, Mutex* m, Loc loc = Loc::Here());

// PyCriticalSection2_TryBegin as proposed in gh-152075 (docs/cpython-model.md §8): LockFast both
// in address order; if the second fails, unlock the first. With
// `keep_first_on_failure` (the mutant `mutant_trybegin_keeps_first_lock`) the
// first mutex stays locked when the second fails.
bool CriticalSection2TryBegin(ThreadState& ts, CriticalSection2* c, Mutex* m1, Mutex* m2,
                              bool keep_first_on_failure = false, Loc loc = Loc::Here());

// type_lock_prevent_release / type_lock_allow_release (Objects/typeobject.c):
// hide `m` from the top-most section (which must hold it) so that a detach
// while the caller stops the world does not release it, and give it back.
// One-mutex section: its mutex becomes nullptr; two-mutex section: `m` is
// taken out, the other mutex stays (and is still released on detach).
void CriticalSectionPin(ThreadState& ts, Mutex* m);
void CriticalSectionUnpin(ThreadState& ts, Mutex* m);

// Models _PyCriticalSection_SuspendAll (called by Detach).
void CriticalSectionSuspendAll(ThreadState& ts, Loc loc = Loc::Here());
// Models _PyCriticalSection_Resume (called by Attach): re-locks the top-most section.
void CriticalSectionResume(ThreadState& ts, Loc loc = Loc::Here());

// Model helpers: the top of the stack (untagged) and whether `m` is held by
// the top-most active section of `ts` (used by LOCK_OBJECT's no-reentrancy
// rule and by tests).
CriticalSection* TopCriticalSection(const ThreadState& ts);
bool TopSectionHolds(const ThreadState& ts, const Mutex* m);
// Number of sections on the stack (tests, reports).
int CriticalSectionDepth(const ThreadState& ts);

}  // namespace ftf::core

#endif  // FTF_CORE_CRITICAL_SECTION_H_
