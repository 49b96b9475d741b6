// trace.h - what the fiber executor ran, step by step.
//
// Executor bookkeeping, not a model of CPython. Every scheduling point is a
// step: (step number, logical thread, event kind, memory order, file:line,
// address, note). The trace keeps
//   - an always-on 64-bit hash of the step sequence. It mixes thread, kind,
//     order and the site (a hash of the file's last two path components and
//     the line), never addresses or pointers, so it is identical in every
//     process that runs the same input: the determinism check (audit/determinism.h);
//   - a ring buffer of the last `ring_size` steps (cheap; for reports), or
//     every step when full tracing is on (for the re-run after a finding);
//   - the list of context switches (step, from thread, to thread).
// A note is a caller-chosen 64-bit word attached to each step of a thread
// (e.g. the operation index and object id, set by the interpreter through
// FiberExecutor::SetNote); it is recorded but not hashed.
//
// Thread-safety: the Record* methods run inside fibers and are
// FTF_SCHED_INTERNAL: plain stores into buffers that only the scheduler
// context allocates, grows and frees (NeedsRoom/Grow), so TSan sees no
// cross-fiber access at all. Everything else runs in the scheduler context.
// Memory ordering: none (one OS thread; no atomics).

#ifndef FTF_SCHED_TRACE_H_
#define FTF_SCHED_TRACE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/sched_hook.h"
#include "sched/sanitizer_glue.h"

namespace ftf::sched {

// A step's event: the four access kinds of core::AccessKind (same values),
// plus executor events.
enum class EventKind : uint8_t { kLoad = 0, kStore = 1, kRmw = 2, kFence = 3, kYield = 4, kBlock = 5 };
const char* EventKindName(EventKind k);

struct TraceStep {
  uint64_t step = 0;          // 1-based scheduling point number
  const char* file = "";      // as captured by core::Loc
  const void* addr = nullptr; // accessed address (kBlock: the wait key)
  uint64_t note = 0;          // the thread's note at this step
  int32_t line = 0;
  int8_t thread = -1;
  EventKind kind = EventKind::kLoad;
  core::Order order = core::Order::kPlain;
};

struct ContextSwitch {
  uint64_t step = 0;  // the step at which the switch happened (0: start of run)
  int8_t from = -1;   // -1: the run's start
  int8_t to = -1;
};

// Site hashing by file content and line (never by address): the file hash is
// FNV-1a of the last two path components of `file`, cached per pointer.
uint32_t FileHash(const char* file);
uint32_t SiteHash(const char* file, int line);
inline uint32_t SiteHash(const core::Loc& loc) { return SiteHash(loc.file, loc.line); }
// The last two path components of `file` (a suffix of it), for printing.
const char* ShortFile(const char* file);

class Trace {
 public:
  Trace();
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  // Scheduler context: set up for a new run.
  void Begin(size_t ring_size, bool full);

  // --- fiber side (FTF_SCHED_INTERNAL, no allocation) ---------------------
  // True when the next step (switch) can be recorded without growing a
  // buffer; if false the executor asks the scheduler context to Grow() first.
  // (Defined below, inline: they run at every scheduling point.)
  bool HasStepRoom() const;
  bool HasSwitchRoom() const;
  void RecordStep(int thread, EventKind kind, core::Order order, const char* file, int line, uint32_t site,
                  const void* addr, uint64_t note);
  void RecordSwitch(int from, int to);

  // Scheduler context: make room for at least one more step and switch.
  void Grow();

  // --- after (or during, from the scheduler) a run ------------------------
  // (FTF_SCHED_INTERNAL: fibers read these too.)
  FTF_SCHED_INTERNAL uint64_t hash() const { return hash_; }
  FTF_SCHED_INTERNAL uint64_t steps() const { return steps_; }
  FTF_SCHED_INTERNAL uint64_t num_switches() const { return num_switches_; }
  FTF_SCHED_INTERNAL bool full() const { return full_; }
  // The recorded steps, oldest first: all of them with full tracing, else the
  // last min(steps, ring_size).
  std::vector<TraceStep> Steps() const;
  std::vector<ContextSwitch> Switches() const;
  // A human-readable listing of the last `max_steps` recorded steps.
  std::string FormatSteps(size_t max_steps) const;
  // The context switches as "T0@0 T1@5 T0@9 ..." (thread@step).
  std::string FormatSwitches() const;

 private:
  friend class FiberExecutor;  // SnapshotRunningThread reads steps_ with no sanitizer event
  uint64_t hash_ = 0;
  uint64_t steps_ = 0;
  bool full_ = false;

  TraceStep* ring_ = nullptr;  // power-of-two ring (size ring_mask_ + 1), or null
  size_t ring_mask_ = 0;
  std::unique_ptr<TraceStep[]> ring_storage_;
  size_t ring_capacity_ = 0;

  TraceStep* all_ = nullptr;  // full tracing: every step
  size_t all_capacity_ = 0;
  std::unique_ptr<TraceStep[]> all_storage_;

  ContextSwitch* switches_ = nullptr;
  uint64_t num_switches_ = 0;
  size_t switches_capacity_ = 0;
  std::unique_ptr<ContextSwitch[]> switches_storage_;
};

// The hash mixing step shared by the trace and the coverage (a 64-bit
// multiply-xorshift, as in FxHash/wyhash): deterministic, no addresses.
FTF_SCHED_INTERNAL inline uint64_t MixHash(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

FTF_SCHED_INTERNAL inline bool Trace::HasStepRoom() const { return !full_ || steps_ < all_capacity_; }

FTF_SCHED_INTERNAL inline bool Trace::HasSwitchRoom() const { return num_switches_ < switches_capacity_; }

FTF_SCHED_INTERNAL inline void Trace::RecordStep(int thread, EventKind kind, core::Order order, const char* file,
                                                 int line, uint32_t site, const void* addr, uint64_t note) {
  ++steps_;
  hash_ = MixHash(hash_, (static_cast<uint64_t>(site) << 32) | (static_cast<uint64_t>(thread & 0xFF) << 16) |
                             (static_cast<uint64_t>(kind) << 8) | static_cast<uint64_t>(order));
  TraceStep* slots[2] = {ring_ != nullptr ? &ring_[(steps_ - 1) & ring_mask_] : nullptr,
                         full_ ? &all_[steps_ - 1] : nullptr};
  for (TraceStep* s : slots) {
    if (s == nullptr) continue;
    s->step = steps_;
    s->file = file;
    s->addr = addr;
    s->note = note;
    s->line = line;
    s->thread = static_cast<int8_t>(thread);
    s->kind = kind;
    s->order = order;
  }
}

// A direct-mapped cache of SiteHash results keyed by (file pointer, line):
// the same value SiteHash computes, without re-hashing the path at every
// scheduling point. Owned by one executor; FTF_SCHED_INTERNAL callers only.
class SiteCache {
 public:
  FTF_SCHED_INTERNAL FTF_SCHED_ALWAYS_INLINE uint32_t Get(const char* file, int line) {
    const uintptr_t f = reinterpret_cast<uintptr_t>(file);
    Entry& e = entries_[((f >> 3) ^ (f >> 13) ^ (static_cast<uint32_t>(line) * 0x9E3779B1u >> 20)) & (kSize - 1)];
    if (e.file == file && e.line == line && file != nullptr) return e.site;
    const uint32_t site = SiteHash(file, line);
    e.file = file;
    e.line = line;
    e.site = site;
    return site;
  }

 private:
  static constexpr size_t kSize = 1024;
  struct Entry {
    const char* file = nullptr;
    int32_t line = 0;
    uint32_t site = 0;
  };
  Entry entries_[kSize];
};

}  // namespace ftf::sched

#endif  // FTF_SCHED_TRACE_H_
