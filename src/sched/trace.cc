// trace.cc - the step trace, its hash and the context-switch list (see trace.h).

#include "sched/trace.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace ftf::sched {
namespace {

// A per-pointer cache of file hashes. A plain zero-initialised POD (no guard
// variable, whose __cxa_guard_* TSan would turn into synchronization); only
// FTF_SCHED_INTERNAL code touches it.
struct FileHashEntry {
  const char* file;
  uint32_t hash;
};
constexpr size_t kFileCacheSize = 512;
FileHashEntry g_file_cache[kFileCacheSize];

constexpr size_t kInitialSwitches = 1024;
constexpr size_t kInitialFullSteps = 4096;

}  // namespace

const char* EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kLoad: return "load";
    case EventKind::kStore: return "store";
    case EventKind::kRmw: return "rmw";
    case EventKind::kFence: return "fence";
    case EventKind::kYield: return "yield";
    case EventKind::kBlock: return "block";
  }
  return "?";
}

FTF_SCHED_INTERNAL const char* ShortFile(const char* file) {
  if (file == nullptr) return "";
  const char* last = nullptr;
  const char* prev = nullptr;
  for (const char* p = file; *p != '\0'; ++p) {
    if (*p == '/') {
      prev = last;
      last = p;
    }
  }
  return prev != nullptr ? prev + 1 : file;
}

FTF_SCHED_INTERNAL uint32_t FileHash(const char* file) {
  const uintptr_t key = reinterpret_cast<uintptr_t>(file);
  FileHashEntry& e = g_file_cache[((key >> 3) ^ (key >> 12)) & (kFileCacheSize - 1)];
  if (e.file == file && file != nullptr) return e.hash;
  uint32_t h = 2166136261u;  // FNV-1a
  for (const char* p = ShortFile(file); *p != '\0'; ++p) {
    h ^= static_cast<uint8_t>(*p);
    h *= 16777619u;
  }
  e.file = file;
  e.hash = h;
  return h;
}

FTF_SCHED_INTERNAL uint32_t SiteHash(const char* file, int line) {
  return static_cast<uint32_t>(MixHash(FileHash(file), static_cast<uint32_t>(line)));
}

Trace::Trace() = default;
Trace::~Trace() = default;

void Trace::Begin(size_t ring_size, bool full) {
  hash_ = 0;
  steps_ = 0;
  num_switches_ = 0;
  full_ = full;
  if (ring_size == 0) {
    ring_ = nullptr;
    ring_mask_ = 0;
  } else {
    size_t cap = 1;
    while (cap < ring_size) cap <<= 1;
    if (cap != ring_capacity_) {
      ring_storage_ = std::make_unique<TraceStep[]>(cap);
      ring_capacity_ = cap;
    }
    ring_ = ring_storage_.get();
    ring_mask_ = cap - 1;
  }
  if (full_ && all_capacity_ == 0) {
    all_storage_ = std::make_unique<TraceStep[]>(kInitialFullSteps);
    all_capacity_ = kInitialFullSteps;
  }
  all_ = all_storage_.get();
  if (switches_capacity_ == 0) {
    switches_storage_ = std::make_unique<ContextSwitch[]>(kInitialSwitches);
    switches_capacity_ = kInitialSwitches;
  }
  switches_ = switches_storage_.get();
}

FTF_SCHED_INTERNAL void Trace::RecordSwitch(int from, int to) {
  // Hashed too: the same steps with a different interleaving differ anyway,
  // but a switch at a block or finish is not a step of its own.
  hash_ = MixHash(hash_, 0xC0FFEE0000000000ull | (static_cast<uint64_t>(from & 0xFF) << 8) |
                             static_cast<uint64_t>(to & 0xFF));
  ContextSwitch& s = switches_[num_switches_++];
  s.step = steps_;
  s.from = static_cast<int8_t>(from);
  s.to = static_cast<int8_t>(to);
}

namespace {

// Doubles an array of `used` elements held by `storage` (and seen through
// `view`, which the hot path reads).
template <typename T>
void Double(std::unique_ptr<T[]>& storage, T*& view, size_t& capacity, size_t used) {
  const size_t cap = capacity * 2;
  auto bigger = std::make_unique<T[]>(cap);
  for (size_t i = 0; i < used; ++i) bigger[i] = view[i];
  storage = std::move(bigger);
  capacity = cap;
  view = storage.get();
}

}  // namespace

void Trace::Grow() {
  if (full_ && steps_ >= all_capacity_) Double(all_storage_, all_, all_capacity_, steps_);
  if (num_switches_ >= switches_capacity_) Double(switches_storage_, switches_, switches_capacity_, num_switches_);
}

std::vector<TraceStep> Trace::Steps() const {
  std::vector<TraceStep> out;
  if (full_) {
    out.assign(all_, all_ + steps_);
    return out;
  }
  if (ring_ == nullptr) return out;
  const uint64_t n = std::min<uint64_t>(steps_, ring_mask_ + 1);
  out.reserve(n);
  for (uint64_t s = steps_ - n; s < steps_; ++s) out.push_back(ring_[s & ring_mask_]);
  return out;
}

std::vector<ContextSwitch> Trace::Switches() const {
  return std::vector<ContextSwitch>(switches_, switches_ + num_switches_);
}

std::string Trace::FormatSteps(size_t max_steps) const {
  std::vector<TraceStep> steps = Steps();
  const size_t first = steps.size() > max_steps ? steps.size() - max_steps : 0;
  std::string out;
  if (first > 0 || (!full_ && steps_ > steps.size())) {
    absl::StrAppendFormat(&out, "  ... %d earlier steps not shown\n", steps_ - (steps.size() - first));
  }
  for (size_t i = first; i < steps.size(); ++i) {
    const TraceStep& s = steps[i];
    absl::StrAppendFormat(&out, "  step %6d  T%d  %-5s %-7s %s:%d  addr=%p  note=%#x\n", s.step, s.thread,
                          EventKindName(s.kind), core::OrderName(s.order), ShortFile(s.file), s.line, s.addr,
                          s.note);
  }
  return out;
}

std::string Trace::FormatSwitches() const {
  std::string out;
  for (uint64_t i = 0; i < num_switches_; ++i) {
    const ContextSwitch& s = switches_[i];
    if (!out.empty()) out += ' ';
    if (s.to < 0) {
      absl::StrAppendFormat(&out, "end@%d", s.step);
    } else {
      absl::StrAppendFormat(&out, "T%d@%d", s.to, s.step);
    }
  }
  return out;
}

}  // namespace ftf::sched
