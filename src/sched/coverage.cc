// coverage.cc - interleaving coverage counters (see coverage.h).

#include "sched/coverage.h"

#include "sched/trace.h"

namespace ftf::sched {
namespace {

#if defined(FTF_LIBFUZZER)
#if defined(__has_attribute)
#if __has_attribute(retain)
#define FTF_SCHED_RETAIN retain,
#endif
#endif
#ifndef FTF_SCHED_RETAIN
#define FTF_SCHED_RETAIN
#endif
// libFuzzer finds this array through the linker-made __start_/__stop_ symbols
// of the section; `used`/`retain` keep it alive under --gc-sections.
__attribute__((section("__libfuzzer_extra_counters"), FTF_SCHED_RETAIN used))
uint8_t g_interleaving_counters[kInterleavingCounters];
#else
uint8_t g_interleaving_counters[kInterleavingCounters];
#endif

}  // namespace

uint8_t* InterleavingCounters() { return g_interleaving_counters; }

FTF_SCHED_INTERNAL void ClearInterleavingCounters() {
  for (size_t i = 0; i < kInterleavingCounters; ++i) g_interleaving_counters[i] = 0;
}

FTF_SCHED_INTERNAL size_t CountSetInterleavingCounters() {
  size_t n = 0;
  for (size_t i = 0; i < kInterleavingCounters; ++i) n += g_interleaving_counters[i] != 0;
  return n;
}

FTF_SCHED_INTERNAL size_t InterleavingCounterIndex(uint32_t earlier_site, uint32_t later_site) {
  return MixHash(earlier_site, 0x5157000000000000ull | later_site) % kInterleavingCounters;
}

InterleavingCoverage::InterleavingCoverage() : storage_(new Entry[kTableSize]()), table_(storage_.get()) {}
InterleavingCoverage::~InterleavingCoverage() = default;

FTF_SCHED_INTERNAL void InterleavingCoverage::BeginRun() {
  pairs_ = 0;
  if (++generation_ == 0) {  // wrapped: stale entries could look current
    for (size_t i = 0; i < kTableSize; ++i) table_[i].generation = 0;
    generation_ = 1;
  }
}

FTF_SCHED_INTERNAL void InterleavingCoverage::OnAccess(int thread, const void* addr, bool is_write, uint32_t site) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  Entry* table = table_;
  size_t home = static_cast<size_t>(MixHash(0, a)) & (kTableSize - 1);
  Entry* e = nullptr;
  for (int i = 0; i < kProbes; ++i) {
    Entry* c = &table[(home + i) & (kTableSize - 1)];
    if (c->generation != generation_ || c->addr == a) {
      e = c;
      break;
    }
  }
  if (e == nullptr) e = &table[home];  // table crowded: evict (only coverage precision suffers)
  if (e->generation != generation_ || e->addr != a) {
    e->addr = a;
    e->generation = generation_;
    e->last_thread = -1;
    e->last_write_thread = -1;
  }
  int8_t earlier_thread = is_write ? e->last_thread : e->last_write_thread;
  uint32_t earlier_site = is_write ? e->last_site : e->last_write_site;
  if (earlier_thread >= 0 && earlier_thread != thread) {
    g_interleaving_counters[InterleavingCounterIndex(earlier_site, site)] = 1;
    ++pairs_;
  }
  e->last_thread = static_cast<int8_t>(thread);
  e->last_site = site;
  if (is_write) {
    e->last_write_thread = static_cast<int8_t>(thread);
    e->last_write_site = site;
  }
}

}  // namespace ftf::sched
