// wait_meter.h - counts parks and blocked time of real OS threads.
//
// The core blocks through core::WaitUntil (a parked PyMutex waiter, a thread
// paused for stop-the-world), which goes through the installed SchedHook even
// in a build with the access hooks compiled out (FTF_SCHED_HOOKS=OFF): only
// OnAccess is compiled away there. WaitMeter is such a hook for real-thread
// benchmarks: it waits exactly as the core does without a hook (yield the OS
// thread until the predicate holds) and records, per wait key registered
// with Name(), how many waits (parks) there were and how long they lasted in
// wall time. Keys not registered count under "other".
//
// The model's park is a yield loop, not a futex: a parked thread stays
// runnable and takes its turn on a CPU. On an oversubscribed machine this
// gives the lock holder fewer turns than a futex park would, so blocked time
// is an upper bound of what CPython's parking lot would see (README's known
// gaps: no 1 ms fair hand-off, no 40-iteration spin).
//
// Thread-safety: WaitUntil may run on any thread; the counters are atomics.
// Name() and the readers of the counters run while no thread waits.

#ifndef FTF_BENCH_WAIT_METER_H_
#define FTF_BENCH_WAIT_METER_H_

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/sched_hook.h"

namespace ftf::bench {

// The benchmarks install a WaitMeter only where the access hooks are
// compiled out (build/bench). With them compiled in (build/bench-hooks) an
// installed hook is called at every access, and section 4 of the bench
// measures exactly the hooks compiled in with none installed; there the
// counters read -1 (not measured).
inline constexpr bool kMeterWaits = !FTF_SCHED_HOOKS;

class WaitMeter final : public core::SchedHook {
 public:
  static constexpr int kMaxKeys = 8;  // the last one is "other"

  WaitMeter() { names_[kMaxKeys - 1] = "other"; }

  // Names a wait key (a mutex address); up to kMaxKeys - 1 keys.
  void Name(const void* key, std::string name) {
    for (int i = 0; i < kMaxKeys - 1; ++i) {
      if (keys_[i] == nullptr || keys_[i] == key) {
        keys_[i] = key;
        names_[i] = std::move(name);
        return;
      }
    }
  }

  void OnAccess(const core::Access&) override {}

  void WaitUntil(const core::WaitSpec& spec) override {
    const auto start = std::chrono::steady_clock::now();
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
    const long ns = static_cast<long>(
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count());
    const int i = IndexOf(spec.key);
    parks_[i].fetch_add(1, std::memory_order_relaxed);
    blocked_ns_[i].fetch_add(ns, std::memory_order_relaxed);
  }

  int num_keys() const { return kMaxKeys; }
  const std::string& name(int i) const { return names_[i]; }
  long parks(int i) const { return parks_[i].load(); }
  long blocked_ns(int i) const { return blocked_ns_[i].load(); }
  long total_parks() const {
    long s = 0;
    for (const auto& p : parks_) s += p.load();
    return s;
  }
  long total_blocked_ns() const {
    long s = 0;
    for (const auto& b : blocked_ns_) s += b.load();
    return s;
  }

 private:
  int IndexOf(const void* key) const {
    for (int i = 0; i < kMaxKeys - 1; ++i) {
      if (keys_[i] == key && key != nullptr) return i;
    }
    return kMaxKeys - 1;
  }

  const void* keys_[kMaxKeys] = {};
  std::string names_[kMaxKeys];
  std::atomic<long> parks_[kMaxKeys] = {};
  std::atomic<long> blocked_ns_[kMaxKeys] = {};
};

}  // namespace ftf::bench

#endif  // FTF_BENCH_WAIT_METER_H_
