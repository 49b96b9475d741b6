// parking_lot.cc - models Python/parking_lot.c (see parking_lot.h).

#include "core/parking_lot.h"

#include <algorithm>

namespace ftf::core {

bool ParkingLot::Park(ThreadState& ts, const void* key, const Cell<uint8_t>& byte, uint8_t expected,
                      const char* what, Loc loc, void* park_arg) {
  Waiter w{&ts, key, park_arg, {}};
  Bucket& b = BucketFor(key);
  {
    std::lock_guard<std::mutex> g(b.mu);
    // Validate under the bucket lock, as _PyParkingLot_Park does.
    if (byte.Peek() != expected) return false;
    b.waiters.push_back(&w);
  }
  WaitSpec spec{what, key, [](const void* ctx) { return static_cast<const Waiter*>(ctx)->woken.Peek() != 0; }, &w,
                loc};
  WaitUntil(spec);
  // Synchronise with the unparker (its writes under the bucket lock happen
  // before our wake-up), as the real parking lot's semaphore does.
  std::lock_guard<std::mutex> g(b.mu);
  return true;
}

void ParkingLot::Unpark(const void* key, const std::function<void(bool, bool, void*)>& on_unpark) {
  Bucket& b = BucketFor(key);
  std::lock_guard<std::mutex> g(b.mu);
  auto it = std::find_if(b.waiters.begin(), b.waiters.end(), [key](const Waiter* w) { return w->key == key; });
  if (it == b.waiters.end()) {
    on_unpark(false, false, nullptr);
    return;
  }
  Waiter* w = *it;
  b.waiters.erase(it);
  // Per address, not per bucket (see the banner).
  const bool more =
      std::any_of(b.waiters.begin(), b.waiters.end(), [key](const Waiter* o) { return o->key == key; });
  on_unpark(true, more, w->park_arg);
  w->woken.Poke(1);
}

void ParkingLot::Unpark(const void* key, const std::function<void(bool, bool)>& on_unpark) {
  Unpark(key, [&on_unpark](bool found, bool more, void*) { on_unpark(found, more); });
}

void ParkingLot::UnparkAll(const void* key) {
  Bucket& b = BucketFor(key);
  std::lock_guard<std::mutex> g(b.mu);
  for (auto it = b.waiters.begin(); it != b.waiters.end();) {
    if ((*it)->key == key) {
      (*it)->woken.Poke(1);
      it = b.waiters.erase(it);
    } else {
      ++it;
    }
  }
}

int ParkingLot::WaitersOn(const void* key) const {
  const Bucket& b = BucketFor(key);
  std::lock_guard<std::mutex> g(b.mu);
  return static_cast<int>(std::count_if(b.waiters.begin(), b.waiters.end(), [key](const Waiter* w) { return w->key == key; }));
}

ParkingLot& GlobalParkingLot() {
  static ParkingLot* lot = new ParkingLot();  // never destroyed: fibers may outlive static destructors
  return *lot;
}

void ParkingLot::Reset() {
  for (Bucket& b : buckets_) {
    std::lock_guard<std::mutex> g(b.mu);
    b.waiters.clear();
  }
}

}  // namespace ftf::core
