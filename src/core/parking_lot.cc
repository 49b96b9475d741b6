// parking_lot.cc - models Python/parking_lot.c (see parking_lot.h).

#include "core/parking_lot.h"

namespace ftf::core {

bool ParkingLot::Park(ThreadState& ts, const void* key, const Cell<uint8_t>& byte, uint8_t expected,
                      const char* what, Loc loc) {
  Waiter w{&ts, {}};
  {
    std::lock_guard<std::mutex> g(mu_);
    // Validate under the lock, as _PyParkingLot_Park does with its bucket lock.
    if (byte.Peek() != expected) return false;
    queues_[key].push_back(&w);
  }
  WaitSpec spec{what, key, [](const void* ctx) { return static_cast<const Waiter*>(ctx)->woken.Peek() != 0; }, &w,
                loc};
  WaitUntil(spec);
  // Synchronise with the unparker (its writes under the lot lock happen before
  // our wake-up), as the real parking lot's semaphore does.
  std::lock_guard<std::mutex> g(mu_);
  return true;
}

void ParkingLot::Unpark(const void* key, const std::function<void(bool, bool)>& on_unpark) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = queues_.find(key);
  if (it == queues_.end() || it->second.empty()) {
    on_unpark(false, false);
    return;
  }
  Waiter* w = it->second.front();
  it->second.pop_front();
  bool more = !it->second.empty();
  if (!more) queues_.erase(it);
  on_unpark(true, more);
  w->woken.Poke(1);
}

void ParkingLot::UnparkAll(const void* key) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = queues_.find(key);
  if (it == queues_.end()) return;
  for (Waiter* w : it->second) w->woken.Poke(1);
  queues_.erase(it);
}

int ParkingLot::WaitersOn(const void* key) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = queues_.find(key);
  return it == queues_.end() ? 0 : static_cast<int>(it->second.size());
}

ParkingLot& GlobalParkingLot() {
  static ParkingLot* lot = new ParkingLot();  // never destroyed: fibers may outlive static destructors
  return *lot;
}

void ParkingLot::Reset() {
  std::lock_guard<std::mutex> g(mu_);
  queues_.clear();
}

}  // namespace ftf::core
