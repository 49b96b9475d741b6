// schedule_decoder.cc - direct, PCT and round-robin schedule decoders (see schedule_decoder.h).

#include "sched/schedule_decoder.h"

namespace ftf::sched {

FTF_SCHED_INTERNAL int PopCount(ThreadMask m) { return __builtin_popcount(m); }

FTF_SCHED_INTERNAL int NthSetBit(ThreadMask m, int n) {
  for (int i = 0; i < kMaxThreads; ++i) {
    if ((m >> i) & 1u) {
      if (n == 0) return i;
      --n;
    }
  }
  return -1;
}

// ===== RoundRobin =====

FTF_SCHED_INTERNAL void RoundRobin::Reset(uint32_t quantum) {
  quantum_ = quantum == 0 ? 1 : quantum;
  left_ = 0;
}

FTF_SCHED_INTERNAL int RoundRobin::Pick(const PickContext& c) {
  if (c.reason == PickReason::kPoint && left_ > 0 && c.current >= 0 && ((c.runnable >> c.current) & 1u)) {
    --left_;
    return c.current;
  }
  // The next runnable thread after the current one, cyclically. At kPoint
  // (quantum used up) and kYield this moves on even if the current thread
  // could continue; it is chosen again only if it is the only runnable one.
  if (c.runnable == 0) return -1;  // never happens: runnable is never empty
  const int start = c.current < 0 ? 0 : c.current + 1;
  const ThreadMask after = start >= kMaxThreads ? 0 : c.runnable & (~ThreadMask{0} << start);
  const int t = __builtin_ctz(after != 0 ? after : c.runnable);  // lowest at/after start, else wrap
  left_ = ((c.pending >> t) & 1u) ? quantum_ - 1 : quantum_;
  return t;
}

// ===== DirectDecoder =====

FTF_SCHED_INTERNAL void DirectDecoder::Reset(const uint8_t* bytes, size_t len, uint32_t fallback_quantum) {
  bytes_ = bytes;
  len_ = len;
  pos_ = 0;
  choices_ = 0;
  left_ = 0;
  fallback_.Reset(fallback_quantum);
}

FTF_SCHED_INTERNAL bool DirectDecoder::TryContinue() {
  if (pos_ > len_ || left_ == 0) return false;  // (pos_ > len_: fallback mode, see Pick)
  if (left_ != kForever) --left_;
  return true;
}

FTF_SCHED_INTERNAL int DirectDecoder::Pick(const PickContext& c) {
  if (c.reason == PickReason::kPoint && left_ > 0 && pos_ <= len_) {
    if (left_ != kForever) --left_;
    return c.current;
  }
  if (pos_ >= len_) {
    // Bytes exhausted: the round robin finishes the run. pos_ = len_ + 1 marks
    // fallback mode, where TryContinue always defers to the round robin.
    pos_ = len_ + 1;
    left_ = 0;
    return fallback_.Pick(c);
  }
  const uint8_t b = bytes_[pos_++];
  const int sel = b & 7;
  int next;
  if ((c.runnable >> sel) & 1u) {
    next = sel;
  } else {
    next = NthSetBit(c.runnable, sel % PopCount(c.runnable));
  }
  const uint32_t run = kRunLengths[b >> 3];
  // A pending access is performed without another decision, so it counts.
  left_ = run == kForever ? kForever : (((c.pending >> next) & 1u) ? run - 1 : run);
  return next;
}

// The k-th choice reads byte len-1-k (decoder.h, CHOICES).
FTF_SCHED_INTERNAL static bool ChoiceFromEnd(const uint8_t* bytes, size_t len, size_t* taken) {
  if (*taken >= len) return false;
  return (bytes[len - 1 - (*taken)++] & 1u) != 0;
}

FTF_SCHED_INTERNAL bool DirectDecoder::TakeChoice() { return ChoiceFromEnd(bytes_, len_, &choices_); }

// ===== PctDecoder =====

FTF_SCHED_INTERNAL uint8_t PctDecoder::NextByte() { return pos_ < len_ ? bytes_[pos_++] : 0; }

FTF_SCHED_INTERNAL void PctDecoder::Reset(const uint8_t* bytes, size_t len, int num_threads, int depth,
                                          uint32_t horizon, uint32_t fallback_quantum, const FocusPlan* focus) {
  bytes_ = bytes;
  len_ = len;
  pos_ = 0;
  choices_ = 0;
  num_threads_ = num_threads < 1 ? 1 : (num_threads > kMaxThreads ? kMaxThreads : num_threads);
  depth_ = depth < 1 ? 1 : (depth > kMaxDepth ? kMaxDepth : depth);
  if (horizon == 0) horizon = 1;
  int order[kMaxThreads];
  for (int i = 0; i < num_threads_; ++i) order[i] = i;
  for (int i = num_threads_ - 1; i >= 1; --i) {
    const int j = NextByte() % (i + 1);
    const int tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  for (int i = 0; i < kMaxThreads; ++i) priority_[i] = 0;
  for (int k = 0; k < num_threads_; ++k) priority_[order[k]] = depth_ + k;
  for (int j = 0; j < kMaxDepth; ++j) change_[j] = 0;
  fired_ = 0;
  focused_ = focus != nullptr && focus->focused > 0;
  for (int j = 0; j + 1 < depth_; ++j) {
    const uint32_t lo = NextByte();
    const uint32_t hi = NextByte();
    const uint32_t v = (hi << 8) | lo;
    if (!focused_) {
      change_[j] = 1 + v % horizon;
      continue;
    }
    // FOCUS: the (v % F)-th focused operation, its ((v / F) % kFocusOffsets)-th access.
    const uint32_t f = v % static_cast<uint32_t>(focus->focused);
    const uint32_t offset = (v / static_cast<uint32_t>(focus->focused)) % kFocusOffsets;
    int t = 0;
    while (t + 1 < num_threads_ && static_cast<uint32_t>(focus->begin[t + 1]) <= f) ++t;
    change_thread_[j] = t;
    change_[j] = (uint64_t{f} << 16) | offset;
  }
  // A change point of FOCUS can come late in a long run; the round robin
  // that guarantees termination waits longer then.
  fallback_after_ = (focused_ ? 8ull : 2ull) * horizon;
  fallback_.Reset(fallback_quantum);
}

FTF_SCHED_INTERNAL int PctDecoder::Pick(const PickContext& c) {
  if (c.step > fallback_after_) return fallback_.Pick(c);
  if (c.current >= 0 && (c.reason == PickReason::kPoint || c.reason == PickReason::kYield)) {
    for (int j = 0; j + 1 < depth_; ++j) {
      if ((fired_ >> j) & 1u) continue;
      const bool due = focused_ ? change_thread_[j] == c.current && c.focus_key >= static_cast<int64_t>(change_[j])
                                : c.step >= change_[j];
      if (due) {
        priority_[c.current] = depth_ - 1 - j;
        fired_ |= 1u << j;
      }
    }
  }
  int best = -1;
  for (ThreadMask m = c.runnable; m != 0; m &= m - 1) {
    const int t = __builtin_ctz(m);
    if (best < 0 || priority_[t] > priority_[best]) best = t;
  }
  return best;
}

FTF_SCHED_INTERNAL bool PctDecoder::TakeChoice() { return ChoiceFromEnd(bytes_, len_, &choices_); }

// ===== ScheduleDecoder =====

FTF_SCHED_INTERNAL void ScheduleDecoder::Reset(const program::ScheduleSpec& spec, int num_threads,
                                               const DecoderOptions& options) {
  kind_ = spec.kind;
  const uint8_t* bytes = spec.bytes.data();
  const size_t len = spec.bytes.size();
  if (kind_ == program::ScheduleKind::kPct) {
    pct_.Reset(bytes, len, num_threads, spec.pct_depth, options.pct_horizon, options.fallback_quantum, options.focus);
  } else {
    kind_ = program::ScheduleKind::kDirect;  // any unknown kind decodes as direct
    direct_.Reset(bytes, len, options.fallback_quantum);
  }
}

}  // namespace ftf::sched
