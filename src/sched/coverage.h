// coverage.h - interleaving coverage for libFuzzer.
//
// Executor feedback, not a model of CPython. Code coverage alone cannot tell
// libFuzzer that an input reached a new interleaving of code it has already
// covered. So for every access the executor observes, it looks up the
// previous conflicting access to the same address by ANOTHER logical thread
// (same address, at least one of the two a store or RMW) and sets one byte,
// indexed by a hash of the ordered pair (site of the earlier access, site of
// this one), in an array that libFuzzer reads as extra counters:
//
//   - a load pairs with the last store/RMW to the address, if another thread
//     made it;
//   - a store/RMW pairs with the last access of any kind, if another thread
//     made it.
//
// Sites are hashed by file and line (sched/trace.h), never by address; the
// per-address table is keyed by address only to find the previous access.
// With FTF_LIBFUZZER the array lives in the `__libfuzzer_extra_counters`
// section, which libFuzzer zeroes before each input and turns into features
// after it. Otherwise it is an ordinary array (tests read it directly).
//
// Thread-safety: OnAccess runs inside fibers and is FTF_SCHED_INTERNAL: its
// stores into the table and into the counters are invisible to TSan (stores
// to the counters from instrumented code in fibers would be reported as
// races: fibers share one OS thread). BeginRun runs in the scheduler context.
// Memory ordering: none (one OS thread; libFuzzer reads the counters after
// the run, from the same thread).

#ifndef FTF_SCHED_COVERAGE_H_
#define FTF_SCHED_COVERAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sched/sanitizer_glue.h"

namespace ftf::sched {

inline constexpr size_t kInterleavingCounters = 8192;

// The counters array (kInterleavingCounters bytes).
uint8_t* InterleavingCounters();
// Zeroes the array (libFuzzer does this itself before every input).
void ClearInterleavingCounters();
// Number of non-zero counters (tests, stats).
size_t CountSetInterleavingCounters();
// The counter index of the ordered site pair (earlier, later).
size_t InterleavingCounterIndex(uint32_t earlier_site, uint32_t later_site);

class InterleavingCoverage {
 public:
  InterleavingCoverage();
  ~InterleavingCoverage();
  InterleavingCoverage(const InterleavingCoverage&) = delete;
  InterleavingCoverage& operator=(const InterleavingCoverage&) = delete;

  // Scheduler context: forget all addresses (O(1): bumps a generation).
  void BeginRun();
  // Fiber side: `thread` is about to access `addr` at `site`.
  void OnAccess(int thread, const void* addr, bool is_write, uint32_t site);
  // Conflicting pairs observed in this run (each one set a counter).
  FTF_SCHED_INTERNAL uint64_t pairs_observed() const { return pairs_; }

 private:
  struct Entry {
    uintptr_t addr;
    uint32_t generation;
    uint32_t last_site;        // last access of any kind
    uint32_t last_write_site;  // last store/RMW
    int8_t last_thread;
    int8_t last_write_thread;  // -1: none this run
    uint8_t pad[2];
  };
  static constexpr size_t kTableSize = 1 << 14;
  static constexpr int kProbes = 8;

  std::unique_ptr<Entry[]> storage_;
  Entry* table_;  // storage_.get(), read by fibers without calling into unique_ptr
  uint32_t generation_ = 0;
  uint64_t pairs_ = 0;
};

}  // namespace ftf::sched

#endif  // FTF_SCHED_COVERAGE_H_
