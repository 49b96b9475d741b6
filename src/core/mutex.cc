// mutex.cc - slow paths of PyMutex (models Python/lock.c).

#include "core/mutex.h"

#include <cstdio>
#include <cstdlib>

#include "core/parking_lot.h"
#include "core/thread_state.h"

namespace ftf::core {

// Models _PyMutex_LockTimed with timeout -1: barge if unlocked (even with
// parked waiters), otherwise set kHasParked and park until unparked, then retry.
void Mutex::LockSlow(ThreadState* ts, LockFlags flags, Loc loc) {
  if (ts == nullptr) {
    std::fprintf(stderr, "ftfuzz: internal error: PyMutex slow path without a thread state\n");
    std::abort();
  }
  for (;;) {
    uint8_t v = bits_.LoadRelaxed(loc);
    if ((v & kLocked) == 0) {
      if (bits_.CompareExchangeSeqCst(v, static_cast<uint8_t>(v | kLocked), loc)) return;
      continue;
    }
    if ((v & kHasParked) == 0) {
      uint8_t nv = static_cast<uint8_t>(v | kHasParked);
      if (!bits_.CompareExchangeSeqCst(v, nv, loc)) continue;
      v = nv;
    }
    // Blocking detaches (suspends critical sections, goes offline for QSBR)
    // if the thread is attached, unless the caller asked for
    // _Py_LOCK_DONT_DETACH (models the detach in _PyParkingLot_Park).
    const bool detach = flags == LockFlags::kDetach && ts->Status() == ThreadStatus::kAttached;
    if (detach) Detach(*ts);
    GlobalParkingLot().Park(*ts, this, bits_, v, "PyMutex_Lock", loc);
    if (detach) Attach(*ts);
  }
}

// Models _PyMutex_TryUnlock + mutex_unpark without hand-off: the byte becomes
// kHasParked if more waiters remain, else 0, and one waiter wakes to compete.
void Mutex::UnlockSlow(Loc loc) {
  for (;;) {
    uint8_t v = bits_.LoadRelaxed(loc);
    if ((v & kLocked) == 0) {
      std::fprintf(stderr, "ftfuzz: model fatal error: unlocking mutex that is not locked (%s:%d)\n", loc.file,
                   loc.line);
      std::abort();
    }
    if ((v & kHasParked) != 0) {
      GlobalParkingLot().Unpark(this, [this](bool found, bool more) {
        (void)found;
        bits_.StoreSeqCstNoPoint(more ? kHasParked : 0);
      });
      return;
    }
    if (bits_.CompareExchangeSeqCst(v, 0, loc)) return;
  }
}

}  // namespace ftf::core
