// mutex.cc - slow paths of PyMutex (models Python/lock.c).

#include "core/mutex.h"

#include <cstdio>
#include <cstdlib>

#include "core/parking_lot.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {

// Models _PyMutex_LockTimed with timeout -1 (CPython main): barge if
// unlocked (even with parked waiters); while no waiter is parked, spin up to
// MAX_SPIN_COUNT times, re-reading the byte (CPython yields the CPU, then
// reloads: gh-135871); then set kHasParked and park until unparked. A waiter
// the unlocker handed the mutex to owns it on wake-up; any other retries.
void Mutex::LockSlow(ThreadState* ts, LockFlags flags, Loc loc) {
  if (ts == nullptr) {
    std::fprintf(stderr, "ftfuzz: internal error: PyMutex slow path without a thread state\n");
    std::abort();
  }
  const int max_spin = ts->rt != nullptr ? ts->rt->mutex_max_spin : kMaxSpinCount;
  MutexEntry entry;  // time_to_be_fair is the input's to decide (mutex.h)
  int spin_count = 0;
  uint8_t v = bits_.LoadRelaxed(loc);
  for (;;) {
    if ((v & kLocked) == 0) {
      if (bits_.CompareExchangeSeqCst(v, static_cast<uint8_t>(v | kLocked), loc)) return;
      continue;
    }
    if ((v & kHasParked) == 0 && spin_count < max_spin) {
      // _Py_yield(): a scheduling point, then look again.
      ++spin_count;
      v = bits_.LoadRelaxed(loc);
      continue;
    }
    uint8_t newv = v;
    if ((v & kHasParked) == 0) {
      newv = static_cast<uint8_t>(v | kHasParked);
      if (!bits_.CompareExchangeSeqCst(v, newv, loc)) continue;
    }
    // Blocking detaches (suspends critical sections, goes offline for QSBR)
    // if the thread is attached, unless the caller asked for
    // _Py_LOCK_DONT_DETACH (models the detach in _PyParkingLot_Park).
    const bool detach = flags == LockFlags::kDetach && ts->Status() == ThreadStatus::kAttached;
    if (detach) Detach(*ts);
    const bool parked = GlobalParkingLot().Park(*ts, this, bits_, newv, "PyMutex_Lock", loc, &entry);
    // Re-attaching may wait for a stop-the-world to end: a handed-off mutex
    // stays owned by this thread meanwhile (gh-133130).
    if (detach) Attach(*ts);
    if (parked && entry.handed_off) return;  // we own the lock now
    v = bits_.LoadRelaxed(loc);
  }
}

// Models _PyMutex_TryUnlock + mutex_unpark: with parked waiters, wake the
// oldest; if it has waited longer than TIME_TO_BE_FAIR_NS (the input's
// choice) the byte stays LOCKED and the mutex is the waiter's, otherwise the
// byte becomes 0 and the woken thread competes with new arrivals. kHasParked
// stays set while more waiters remain.
void Mutex::UnlockSlow(Loc loc) {
  uint8_t v = bits_.LoadSeqCst(loc);
  for (;;) {
    if ((v & kLocked) == 0) {
      std::fprintf(stderr, "ftfuzz: model fatal error: unlocking mutex that is not locked (%s:%d)\n", loc.file,
                   loc.line);
      std::abort();
    }
    if ((v & kHasParked) != 0) {
      GlobalParkingLot().Unpark(this, [this](bool found, bool more, void* park_arg) {
        uint8_t nv = 0;
        if (found) {
          auto* entry = static_cast<MutexEntry*>(park_arg);
          const bool should_be_fair = InputChooses("PyMutex hand-off (waited > TIME_TO_BE_FAIR_NS)");
          if (entry != nullptr) entry->handed_off = should_be_fair;
          if (should_be_fair) nv |= kLocked;
          if (more) nv |= kHasParked;
        }
        bits_.StoreSeqCstNoPoint(nv);
      });
      return;
    }
    if (bits_.CompareExchangeSeqCst(v, 0, loc)) return;
  }
}

}  // namespace ftf::core
