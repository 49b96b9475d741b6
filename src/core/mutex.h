// mutex.h - PyMutex and the parking lot it parks in.
// What CPython does here: docs/cpython-model.md §7.
//
// Models Include/cpython/lock.h, Include/internal/pycore_lock.h, Python/lock.c
// and Python/parking_lot.c. One byte, two bits:
//
//   bit0 kLocked    (_Py_LOCKED)
//   bit1 kHasParked (_Py_HAS_PARKED)
//
//   00 free, 01 locked, 10 free with parked waiters, 11 locked with waiters.
//
// INV-MUTEX-1: LockFast succeeds only from exactly 00 (it fails on 10).
// INV-MUTEX-2: kHasParked is set iff the parking lot holds a waiter for this
//              mutex (modulo the window between a waiter's CAS and its park,
//              which Park validates as CPython's _PyParkingLot_Park does).
//
// A thread that must wait first spins (MAX_SPIN_COUNT retries, each a
// scheduling point, while no waiter is parked yet), then parks through
// core::WaitUntil, so in fiber mode it becomes non-runnable and in
// real-thread mode it yields. With kDetach (the PyMutex_Lock default) the
// thread detaches while parked: its critical sections are suspended and it
// is offline for QSBR (see thread_state.h).
//
// Fairness hand-off (mutex_unpark): an unlock that wakes a waiter which has
// waited longer than TIME_TO_BE_FAIR_NS (1 ms) leaves the byte LOCKED and
// hands the mutex to that waiter, which owns it when it wakes, whatever it
// does before it runs again (e.g. wait for a stop-the-world to end: the
// gh-133130 situation). The model has no clock: whether the woken waiter
// has waited long enough is a yes/no event of the input (InputChooses,
// sched_hook.h), asked only when an unlock wakes a parked waiter.
//
// Thread-safety: all methods are safe from any logical thread.
// Memory ordering: lock/unlock are seq_cst CASes (acquire/release suffice; CPython uses seq_cst).

#ifndef FTF_CORE_MUTEX_H_
#define FTF_CORE_MUTEX_H_

#include <cstdint>

#include "core/atomics.h"

namespace ftf::core {

struct ThreadState;

inline constexpr uint8_t kLocked = 1;
inline constexpr uint8_t kHasParked = 2;

// MAX_SPIN_COUNT (Python/lock.c) of the free-threaded build on a machine
// with more than one CPU (with one CPU CPython does not spin). The model
// runs its logical threads as on a multi-core machine; Runtime::
// mutex_max_spin can lower it (tests).
inline constexpr int kMaxSpinCount = 40;

// struct mutex_entry (Python/lock.c): what a parked PyMutex waiter hands the
// unlocking thread through the parking lot.
struct MutexEntry {
  bool handed_off = false;  // written by the unlocking thread (mutex_unpark)
};

enum class LockFlags : uint8_t {
  kDontDetach = 0,  // _Py_LOCK_DONT_DETACH
  kDetach = 1,      // _PY_LOCK_DETACH (PyMutex_Lock's default)
};

class Mutex {
 public:
  Mutex() = default;
  explicit Mutex(NoInit tag) : bits_(tag) {}

  // Models PyMutex_LockFast: one CAS from exactly 0 to kLocked.
  bool LockFast(Loc loc = Loc::Here()) {
    uint8_t expected = 0;
    return bits_.CompareExchangeSeqCst(expected, kLocked, loc);
  }

  // Models _PyMutex_LockTimed(m, 0, 0): take the mutex if it is unlocked,
  // even with parked waiters (unlike LockFast); never blocks.
  bool TryLock(Loc loc = Loc::Here()) {
    uint8_t v = bits_.LoadRelaxed(loc);
    while ((v & kLocked) == 0) {
      if (bits_.CompareExchangeSeqCst(v, static_cast<uint8_t>(v | kLocked), loc)) return true;
    }
    return false;
  }

  // Models PyMutex_Lock / _PyMutex_LockTimed with no timeout. `ts` must not
  // be nullptr once the mutex is contended.
  void Lock(ThreadState* ts, LockFlags flags = LockFlags::kDetach, Loc loc = Loc::Here()) {
    uint8_t expected = 0;
    if (bits_.CompareExchangeSeqCst(expected, kLocked, loc)) return;
    LockSlow(ts, flags, loc);
  }

  // Models PyMutex_Unlock / _PyMutex_TryUnlock (fatal if not locked); with
  // parked waiters, mutex_unpark (hand-off or not: see the banner).
  void Unlock(Loc loc = Loc::Here()) {
    uint8_t expected = kLocked;
    if (bits_.CompareExchangeSeqCst(expected, 0, loc)) return;
    UnlockSlow(loc);
  }

  // Models PyMutex_IsLocked (a relaxed load of the locked bit).
  bool IsLocked(Loc loc = Loc::Here()) const { return (bits_.LoadRelaxed(loc) & kLocked) != 0; }

  // For auditors, reports and wait predicates: no scheduling point.
  uint8_t PeekBits() const { return bits_.Peek(); }
  // Fault injection and tests only.
  void PokeBits(uint8_t v) { bits_.Poke(v); }
  // A relaxed store with no scheduling point (initialising fresh memory).
  void InitBits(uint8_t v) { bits_.Init(v); }
  const void* address() const { return bits_.address(); }

 private:
  void LockSlow(ThreadState* ts, LockFlags flags, Loc loc);
  void UnlockSlow(Loc loc);

  Cell<uint8_t> bits_;
};

// Detach/Attach hooks used while parked (implemented in thread_state.cc).
void Detach(ThreadState& ts);
void Attach(ThreadState& ts);

}  // namespace ftf::core

#endif  // FTF_CORE_MUTEX_H_
