// parking_lot.h - where blocked logical threads wait.
// What CPython does here: docs/cpython-model.md §7.
//
// Models Python/parking_lot.c: _PyParkingLot_Park validates that the watched
// byte still has the expected value before queueing (so a wake-up between the
// waiter's CAS and its park is not lost), and _PyParkingLot_Unpark dequeues one
// waiter and lets the caller decide, knowing whether more remain, what the
// byte becomes. CPython guards each bucket with a _PyRawMutex; the model uses
// one std::mutex (intercepted by TSan, so parking creates the same
// happens-before a real parking lot does). No scheduling point ever happens
// while that mutex is held: the wait itself is core::WaitUntil, outside it.
//
// Thread-safety: all methods are safe from any logical thread.

#ifndef FTF_CORE_PARKING_LOT_H_
#define FTF_CORE_PARKING_LOT_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "core/atomics.h"

namespace ftf::core {

struct ThreadState;

class ParkingLot {
 public:
  // Parks the calling thread on `key` if `*byte == expected` (checked under the
  // lot lock); returns false at once if not. Otherwise blocks until an Unpark
  // picks this waiter, and returns true. `what` names the wait in reports.
  bool Park(ThreadState& ts, const void* key, const Cell<uint8_t>& byte, uint8_t expected, const char* what,
            Loc loc);

  // Wakes the oldest waiter on `key`, if any. `on_unpark(found, more_waiters)`
  // runs under the lot lock before the waiter resumes (models the callback of
  // _PyParkingLot_Unpark); it must not reach a scheduling point.
  void Unpark(const void* key, const std::function<void(bool found, bool more_waiters)>& on_unpark);

  // Wakes every waiter on `key` (models _PyParkingLot_UnparkAll).
  void UnparkAll(const void* key);

  // Number of threads parked on `key` (for auditors and deadlock reports).
  int WaitersOn(const void* key) const;

  // Forgets every waiter (an abandoned run, e.g. after a DEADLOCK finding).
  void Reset();

 private:
  struct Waiter {
    ThreadState* ts;
    Cell<uint8_t> woken;
  };
  mutable std::mutex mu_;
  std::unordered_map<const void*, std::deque<Waiter*>> queues_;
};

// The process-wide parking lot (CPython's is process-wide too).
ParkingLot& GlobalParkingLot();

}  // namespace ftf::core

#endif  // FTF_CORE_PARKING_LOT_H_
