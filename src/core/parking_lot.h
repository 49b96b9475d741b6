// parking_lot.h - where blocked logical threads wait.
// What CPython does here: docs/cpython-model.md §7 and §21.
//
// Models Python/parking_lot.c: a table of kNumBuckets (257) buckets, the
// bucket of an address being `address % 257` (as CPython's `buckets[
// (uintptr_t)addr % NUM_BUCKETS]`), each bucket a FIFO of waiters guarded by
// its own lock (CPython: a _PyRawMutex per bucket; here a std::mutex per
// bucket, which ThreadSanitizer intercepts, so parking creates happens-before
// edges only between threads that use the same bucket, as in CPython).
// _PyParkingLot_Park validates that the watched byte still has the expected
// value before queueing (so a wake-up between the waiter's CAS and its park
// is not lost), and _PyParkingLot_Unpark dequeues the oldest waiter on the
// address and hands the caller's callback that waiter's `park_arg` (the
// PyMutex waiter's mutex_entry) and whether waiters remain. No scheduling
// point ever happens while a bucket lock is held: the wait itself is
// core::WaitUntil, outside it.
//
// One deviation, for determinism: CPython judges "more waiters" per bucket
// (another address hashed to the same bucket makes it a false positive,
// which only costs the next unlock a useless trip through Unpark); the model
// counts the waiters on the same address. Which addresses share a bucket
// depends on where the allocator put them, which differs between processes;
// answering per bucket would make a run's steps depend on it.
//
// Thread-safety: all methods are safe from any logical thread.

#ifndef FTF_CORE_PARKING_LOT_H_
#define FTF_CORE_PARKING_LOT_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "core/atomics.h"

namespace ftf::core {

struct ThreadState;

class ParkingLot {
 public:
  // NUM_BUCKETS (Python/parking_lot.c): a prime, so addresses aligned to a
  // power of two spread over every bucket.
  static constexpr size_t kNumBuckets = 257;

  // Parks the calling thread on `key` if `*byte == expected` (checked under
  // the bucket lock); returns false at once if not. Otherwise blocks until an
  // Unpark picks this waiter, and returns true. `park_arg` is handed to the
  // unparker's callback (models _PyParkingLot_Park's `park_arg`). `what`
  // names the wait in reports.
  bool Park(ThreadState& ts, const void* key, const Cell<uint8_t>& byte, uint8_t expected, const char* what,
            Loc loc, void* park_arg = nullptr);

  // Wakes the oldest waiter on `key`, if any. `on_unpark(found, more_waiters,
  // park_arg)` runs under the bucket lock before the waiter resumes (models
  // the callback of _PyParkingLot_Unpark; park_arg is nullptr when none was
  // found); it must not reach a scheduling point.
  void Unpark(const void* key, const std::function<void(bool found, bool more_waiters, void* park_arg)>& on_unpark);
  void Unpark(const void* key, const std::function<void(bool found, bool more_waiters)>& on_unpark);

  // Wakes every waiter on `key` (models _PyParkingLot_UnparkAll).
  void UnparkAll(const void* key);

  // Number of threads parked on `key` (for auditors and deadlock reports).
  int WaitersOn(const void* key) const;

  // The bucket `key` hashes to (tests).
  static size_t BucketOf(const void* key) { return reinterpret_cast<uintptr_t>(key) % kNumBuckets; }

  // Forgets every waiter (an abandoned run, e.g. after a DEADLOCK finding).
  void Reset();

 private:
  struct Waiter {
    ThreadState* ts;
    const void* key;
    void* park_arg;
    Cell<uint8_t> woken;
  };
  struct Bucket {
    mutable std::mutex mu;
    std::deque<Waiter*> waiters;  // every address of the bucket, in arrival order
  };
  Bucket& BucketFor(const void* key) { return buckets_[BucketOf(key)]; }
  const Bucket& BucketFor(const void* key) const { return buckets_[BucketOf(key)]; }

  std::array<Bucket, kNumBuckets> buckets_;
};

// The process-wide parking lot (CPython's is process-wide too).
ParkingLot& GlobalParkingLot();

}  // namespace ftf::core

#endif  // FTF_CORE_PARKING_LOT_H_
