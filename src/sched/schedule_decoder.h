// schedule_decoder.h - turning schedule bytes into scheduling decisions.
//
// Executor logic, not a model of CPython. At every scheduling point (a core
// access through Cell, a Yield, a thread blocking or finishing) the executor
// asks the decoder which logical thread runs next. Decisions depend only on
// the schedule bytes and on the sequence of (runnable set, running thread,
// reason, step) the executor presents, never on addresses or time, so the same
// bytes with the same thread bodies give the same decisions in every process.
//
// DIRECT (ScheduleKind::kDirect). One byte per decision:
//
//     bit 7..3  r  run-length class: the chosen thread performs
//                  kRunLengths[r] accesses (its pending one, if it was
//                  stopped at an access, included) before the next decision;
//                  r = 31 means "until it blocks or finishes".
//     bit 2..0  t  thread selector: thread t if it is runnable, otherwise the
//                  (t mod R)-th runnable thread in index order (R = number of
//                  runnable threads).
//
//   (Programs have at most 8 threads; with more, threads >= 8 are reached
//   only through the modulo rule.)
//   A thread that blocks or finishes before its run length is used up forces
//   a new decision at once. So 0xF8|t means "run thread t to completion (or
//   until it blocks)", 0x00|t "thread t for exactly one access": a preemption
//   in the middle of an operation takes one or two bytes.
//   When the bytes run out, the fallback (round robin) finishes the run.
//
// PCT (ScheduleKind::kPct; Burckhardt, Kothari, Musuvathi, Nagarakatte,
// "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs",
// ASPLOS 2010). With n threads and depth d:
//
//     bytes[0 .. n-2]         a Fisher-Yates shuffle of the threads: for
//                             i = n-1 down to 1, swap order[i] with
//                             order[byte % (i+1)]; thread order[k] gets the
//                             initial priority d + k (order[n-1] is highest).
//     next 2*(d-1) bytes      d-1 change points, little-endian 16-bit values
//                             v; change point j is k_j = 1 + v % horizon: at
//                             the first decision after k_j steps it lowers
//                             the running thread's priority to d-1-j (below
//                             every initial priority).
//
//   FOCUS. When the runner gives the decoder a FocusPlan (the operations of
//   the program that can conflict with another thread's, program/conflicts.h)
//   with at least one focused operation, a change point names a place in the
//   program instead of a step: v % F picks the focused operation (F of them,
//   numbered thread by thread), (v / F) % kFocusOffsets the access inside it,
//   and the change fires when that operation's thread reaches that access
//   (or, if the operation has fewer accesses, at its next point after it).
//   So every change point falls where another thread can interfere, and a
//   bug of depth d is found with probability >= 1/(n (F * kFocusOffsets)^(d-1))
//   however many unrelated steps the run has. The fair round robin then takes
//   over after 8*horizon steps. Without a plan (or with F = 0) change points
//   are steps, as above.
//
//   Missing bytes read as 0. The highest-priority runnable thread always runs.
//   Uniformly random bytes give (up to a 2^-16 modulo bias) PCT's random
//   priorities and change points, hence its probabilistic guarantee: a bug of
//   depth d is found with probability >= 1/(n k^(d-1)) per run of k steps.
//   After 2*horizon steps the fair round robin takes over, so a program that
//   would starve under fixed priorities still finishes.
//
// FALLBACK: round robin in thread-index order with a fixed quantum (counted
// in accesses, like a run length); a yield, a block or a finish ends it.
//
// CHOICES. Besides who runs next, a body may ask the decoder a yes/no
// question it cannot answer itself (FiberExecutor::Choose: e.g. "does this
// eval-breaker check find delayed frees due?"). Choices read the schedule
// from its other end: the k-th choice of a run answers bit 0 of byte
// len-1-k; with k >= len the answer is no. So choices never move the picks
// (the last bytes of an input are the first choices, and the fuzzer can
// flip them without disturbing the interleaving), and bodies ask only where
// the answer can matter: programs that never reach such a point run
// exactly as before.
//
// Thread-safety: a decoder belongs to one executor; its decision methods run
// inside fibers and are FTF_SCHED_INTERNAL (no TSan instrumentation, no
// allocation). Reset allocates nothing either: bytes are borrowed.

#ifndef FTF_SCHED_SCHEDULE_DECODER_H_
#define FTF_SCHED_SCHEDULE_DECODER_H_

#include <cstddef>
#include <cstdint>

#include "program/schedule_spec.h"
#include "sched/sanitizer_glue.h"

namespace ftf::sched {

inline constexpr int kMaxThreads = 16;
using ThreadMask = uint32_t;  // bit i = logical thread i

enum class PickReason : uint8_t {
  kStart,     // beginning of the run: nobody runs yet (current == -1)
  kPoint,     // the running thread reached a scheduling point (it is runnable)
  kYield,     // the running thread yields: its quantum ends (it is runnable)
  kBlocked,   // the running thread blocked (it is not in `runnable`)
  kFinished,  // the running thread finished (it is not in `runnable`)
};

struct PickContext {
  ThreadMask runnable;  // never empty
  int current;          // the running (or just blocked/finished) thread; -1 at kStart
  PickReason reason;
  uint64_t step;        // steps performed so far (0 at kStart)
  // Threads stopped just before an access (the current one at kPoint, and
  // every thread switched away from at a kPoint): when chosen, they perform
  // that access first. Threads not started yet, or resuming from a block or a
  // yield, have none pending.
  ThreadMask pending = 0;
  // The current thread's place in the program, for PCT's FOCUS: the ordinal
  // of its focused operation << 16 | accesses it made in it; after a focused
  // operation f, outside any: f << 16 | 0xFFFF; before any: -1.
  int64_t focus_key = -1;
};

// The run-length table of the direct decoder (index: byte >> 3).
inline constexpr uint32_t kForever = 0xFFFFFFFFu;
inline constexpr uint32_t kRunLengths[32] = {
    1,  2,  3,  4,  5,  6,   7,   8,   10,  12,  14,  16,  20,   24,   28,      32,
    40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 256, 384, 512, 1024, 2048, kForever,
};

class RoundRobin {
 public:
  void Reset(uint32_t quantum);
  int Pick(const PickContext& c);

 private:
  uint32_t quantum_ = 8;
  uint32_t left_ = 0;  // further points the current thread runs without a decision
};

class DirectDecoder {
 public:
  void Reset(const uint8_t* bytes, size_t len, uint32_t fallback_quantum);
  // Fast path: the running thread continues without a decision (its run
  // length is not used up). Consumes one point of the run length if so.
  bool TryContinue();
  int Pick(const PickContext& c);
  // A choice (see CHOICES above).
  bool TakeChoice();
  FTF_SCHED_INTERNAL size_t consumed() const { return pos_; }
  FTF_SCHED_INTERNAL bool exhausted() const { return pos_ >= len_; }

 private:
  const uint8_t* bytes_ = nullptr;
  size_t len_ = 0;
  size_t pos_ = 0;
  size_t choices_ = 0;  // choices taken, from the end of the bytes
  uint32_t left_ = 0;
  RoundRobin fallback_;
};

// Where PCT's change points may fall (FOCUS above): F focused operations,
// thread t's are ordinals begin[t] .. begin[t + 1] - 1.
struct FocusPlan {
  int focused = 0;
  int begin[kMaxThreads + 1] = {};
};
inline constexpr uint32_t kFocusOffsets = 16;

class PctDecoder {
 public:
  static constexpr int kMaxDepth = 8;
  // `focus` may be null (change points are steps); it is read during Reset only.
  void Reset(const uint8_t* bytes, size_t len, int num_threads, int depth, uint32_t horizon,
             uint32_t fallback_quantum, const FocusPlan* focus = nullptr);
  int Pick(const PickContext& c);
  // A choice (see CHOICES above).
  bool TakeChoice();
  FTF_SCHED_INTERNAL int priority(int thread) const { return priority_[thread]; }
  FTF_SCHED_INTERNAL uint64_t change_point(int j) const { return change_[j]; }
  // FOCUS: change point j fires in thread change_thread(j) at focus key
  // change_point(j) (PickContext::focus_key); -1 when change points are steps.
  FTF_SCHED_INTERNAL int change_thread(int j) const { return focused_ ? change_thread_[j] : -1; }
  FTF_SCHED_INTERNAL bool focused() const { return focused_; }
  FTF_SCHED_INTERNAL int num_change_points() const { return depth_ - 1; }
  FTF_SCHED_INTERNAL uint64_t fallback_after() const { return fallback_after_; }

 private:
  uint8_t NextByte();

  const uint8_t* bytes_ = nullptr;
  size_t len_ = 0;
  size_t pos_ = 0;
  size_t choices_ = 0;  // choices taken, from the end of the bytes
  int num_threads_ = 0;
  int depth_ = 1;
  int priority_[kMaxThreads] = {};
  uint64_t change_[kMaxDepth] = {};
  int change_thread_[kMaxDepth] = {};
  bool focused_ = false;
  uint32_t fired_ = 0;  // change points already applied
  uint64_t fallback_after_ = 0;
  RoundRobin fallback_;
};

struct DecoderOptions {
  uint32_t fallback_quantum = 8;
  uint32_t pct_horizon = 1024;  // expected steps per run; PCT change points fall in [1, horizon]
  const FocusPlan* focus = nullptr;  // PCT's FOCUS (borrowed during Reset); null: steps
};

// The decoder a ScheduleSpec asks for.
class ScheduleDecoder {
 public:
  // Borrows spec.bytes: the spec must outlive the run.
  void Reset(const program::ScheduleSpec& spec, int num_threads, const DecoderOptions& options);
  FTF_SCHED_INTERNAL bool TryContinue() { return kind_ == program::ScheduleKind::kDirect && direct_.TryContinue(); }
  FTF_SCHED_INTERNAL int Pick(const PickContext& c) {
    return kind_ == program::ScheduleKind::kPct ? pct_.Pick(c) : direct_.Pick(c);
  }
  FTF_SCHED_INTERNAL bool TakeChoice() {
    return kind_ == program::ScheduleKind::kPct ? pct_.TakeChoice() : direct_.TakeChoice();
  }
  FTF_SCHED_INTERNAL program::ScheduleKind kind() const { return kind_; }
  const DirectDecoder& direct() const { return direct_; }
  const PctDecoder& pct() const { return pct_; }

 private:
  program::ScheduleKind kind_ = program::ScheduleKind::kDirect;
  DirectDecoder direct_;
  PctDecoder pct_;
};

// Helpers on thread masks.
int PopCount(ThreadMask m);
int NthSetBit(ThreadMask m, int n);  // n-th (0-based) set bit, in increasing order

}  // namespace ftf::sched

#endif  // FTF_SCHED_SCHEDULE_DECODER_H_
