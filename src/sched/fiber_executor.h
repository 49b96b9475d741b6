// fiber_executor.h - the deterministic executor: logical threads as fibers.
//
// Executor, not a model of CPython: it plays the OS scheduler of a
// free-threaded CPython process, deterministically. N logical threads (the
// same callable, given its thread index) run as fibers on the calling OS
// thread; the executor installs itself as the core's SchedHook
// (core/sched_hook.h), so every core shared-memory access (Cell, atomics.h) is
// a scheduling point at which the schedule decoder (decoder.h) picks the next
// thread. Same schedule bytes + same bodies => same decisions, same trace hash
// (trace.h), same outcome, in every process.
//
// Blocking: core::WaitUntil marks the running thread blocked on (what, key,
// predicate); a blocked thread is runnable again once its predicate holds
// (predicates only Peek; the executor evaluates them in whichever fiber is
// deciding, with TSan ignoring their reads and any synchronization, since
// they are the scheduler looking, not the program acting). All unfinished
// threads blocked = DEADLOCK. No NoteProgress() for `progress_budget` steps,
// or more than `max_steps` steps, = LIVELOCK. Either way the run is abandoned: every started, unfinished
// fiber is resumed once more and the hook throws AbandonRun out of its
// pending scheduling point, unwinding the body (destructors run) to the fiber
// entry; then core::GlobalParkingLot() is reset. Fibers stay usable. Bodies
// must let AbandonRun through (a catch (...) must rethrow). During the unwind,
// scheduling points just return (and a WaitUntil returns without waiting), so
// destructors that touch Cells do not throw again; a scheduling point inside
// a noexcept destructor that was already pending when the run was abandoned
// would still terminate (the core has none).
//
// Not every access is a scheduling point: an access of a thread to an object
// block only it can reach (allocated by it in this run and not published
// yet, private_memory.h) runs on with no decision, no step and no trace entry
// (the partial-order reduction of docs/scheduling.md).
//
// A step is one scheduling point: an access (decided first, then recorded,
// so the trace lists accesses in the order they are performed), a Yield, or a
// block. Each thread can carry a note (SetNote) that every step records.
//
// Fibers are created on first need (up to kMaxThreads; under TSan all of
// them in the first Run, which then starts every run from the same sanitizer
// state: glue::ForgetHistory) and reused by every later Run: creating a TSan
// fiber costs ~35 us. When the running thread keeps
// running, a scheduling point costs no context switch at all; otherwise the
// fiber switches directly to the next fiber (the scheduler context is entered
// only at the start and end of a run, to grow the full trace, and on a
// finding).
//
// ThreadSanitizer: each logical thread is a TSan fiber, switched without
// synchronization, so races between logical threads are reported. Run
// releases a per-fiber start token that the fiber acquires before its body
// (set-up happens before the threads) and each fiber releases a done token
// that Run acquires after the run (the threads happen before tear-down). The
// executor's own fiber-side code is FTF_SCHED_INTERNAL (sanitizer_glue.h) and
// uses no atomics, so it creates no happens-before edge between logical threads.
//
// Usage (the interpreter plugs in as the body):
//
//   FiberExecutor ex;                       // once; fibers are reused
//   RunOptions opt;                         // budgets, trace, coverage
//   RunResult r = ex.Run(n, [&](int t) {
//     for (const Op& op : program.thread(t)) {
//       ex.SetNote(NoteFor(op));            // shows up on every step of op
//       Execute(rt.thread(t), op);          // core calls: scheduling points
//       ex.NoteProgress();
//     }
//   }, program.schedule, opt);
//   if (r.outcome != Outcome::kOk) Report(r.description, ex.trace());
//
// Thread-safety: one Run at a time per process (the hook is process-wide),
// from one OS thread at a time. NoteProgress/SetNote/Yield/current_thread are
// for the bodies (fiber side); the rest is for the scheduler side.
// Memory ordering: the executor adds none between logical threads (its
// fiber-side code uses no atomics and is invisible to TSan); only the start
// and done tokens order the scheduler's set-up and tear-down around them.

#ifndef FTF_SCHED_FIBER_EXECUTOR_H_
#define FTF_SCHED_FIBER_EXECUTOR_H_

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/sched_hook.h"
#include "program/schedule_spec.h"
#include "sched/coverage.h"
#include "sched/schedule_decoder.h"
#include "sched/fiber.h"
#include "sched/private_memory.h"
#include "sched/trace.h"

namespace ftf::sched {

enum class Outcome : uint8_t { kOk, kDeadlock, kLivelock };
// "OK", "DEADLOCK", "LIVELOCK" (the finding names of audit/finding.h).
const char* OutcomeName(Outcome o);

// Thrown out of a scheduling point of an abandoned run. Internal: bodies must
// not swallow it.
struct AbandonRun {};

using ThreadBody = std::function<void(int thread)>;

struct RunOptions {
  // Steps (scheduling points of all threads) without a NoteProgress() before
  // the run is a LIVELOCK. A thread finishing counts as progress. 0: off.
  uint64_t progress_budget = 100'000;
  // Hard cap on the steps of one run (LIVELOCK when exceeded), independent of
  // progress: nothing can make a run longer.
  uint64_t max_steps = 2'000'000;
  // Decoder settings (decoder.h).
  uint32_t fallback_quantum = 8;
  uint32_t pct_horizon = 1024;
  // PCT's FOCUS (decoder.h): where change points may fall. Borrowed for the
  // duration of Run; null: change points are steps. The body reports which
  // focused operation each thread is in with SetFocus.
  const FocusPlan* focus = nullptr;
  // Trace: keep the last `ring_size` steps (0: none), or every step.
  uint32_t ring_size = 256;  // audit/finding.cc looks at the same tail for LIVELOCK sites
  bool full_trace = false;
  // Interleaving coverage (coverage.h).
  bool coverage = true;
  // The partial-order reduction (docs/scheduling.md): accesses to blocks
  // private to the running thread are not scheduling points. Off: every
  // access is one (measurements, and the tests that compare both).
  bool reduce_private = true;
  // Optional: names a wait key (a mutex, an object) in DEADLOCK descriptions.
  std::function<std::string(const void* key)> describe_key;
};

// The state of one logical thread when a run ended.
struct ThreadReport {
  enum class State : uint8_t { kNotStarted, kRunnable, kBlocked, kFinished };
  int thread = 0;
  State state = State::kNotStarted;
  // kBlocked: what it waits for (core::WaitSpec).
  const char* wait_what = "";
  const void* wait_key = nullptr;
  core::Loc wait_loc;
  // Its last step, if it made any.
  bool has_last_step = false;
  TraceStep last_step;
};
const char* ThreadStateName(ThreadReport::State s);

struct RunResult {
  Outcome outcome = Outcome::kOk;
  uint64_t steps = 0;             // scheduling points
  uint64_t context_switches = 0;  // including the start of the run
  uint64_t trace_hash = 0;        // Trace::hash(): deterministic across processes
  uint64_t interleaving_pairs = 0;
  // Accesses the reduction ran without a scheduling point, and accesses of
  // another thread to a block that was private (an unreported publication:
  // must stay 0, private_memory.h).
  uint64_t private_accesses = 0;
  uint64_t private_escapes = 0;
  // DEADLOCK / LIVELOCK only: one entry per logical thread, and a
  // human-readable account (one line per thread).
  std::vector<ThreadReport> threads;
  std::string description;
};

class FiberExecutor final : public core::SchedHook {
 public:
  static constexpr size_t kDefaultStackSize = 256 * 1024;

  explicit FiberExecutor(size_t stack_size = kDefaultStackSize);
  ~FiberExecutor() override;
  FiberExecutor(const FiberExecutor&) = delete;
  FiberExecutor& operator=(const FiberExecutor&) = delete;

  // Runs body(0) .. body(num_threads-1) as logical threads under `schedule`
  // (borrowed for the duration of the call), until all finish or the run is
  // abandoned. 1 <= num_threads <= kMaxThreads. Must be called from outside
  // any fiber, with no other SchedHook installed. If a body throws (anything
  // but AbandonRun), the other threads are abandoned and the exception is
  // rethrown here.
  RunResult Run(int num_threads, const ThreadBody& body, const program::ScheduleSpec& schedule,
                const RunOptions& options = {});

  // --- for bodies (fiber side) --------------------------------------------
  // The interpreter completed an operation (resets the livelock budget).
  void NoteProgress();
  // A yes/no decision of the input at a point of the body's choosing (not a
  // scheduling point: no step, no switch): the schedule decoder's next choice
  // (decoder.h, CHOICES). Deterministic like every other decision.
  bool Choose();
  // Attaches `note` to every later step of the calling thread (e.g. operation
  // index << 32 | object id), for reports; not part of the trace hash.
  void SetNote(uint64_t note);
  // The calling thread starts an operation: `ordinal` is its number among
  // the program's focused operations (RunOptions::focus), or -1 when it is
  // not focused. Counts the operation's accesses for PCT's FOCUS; no step.
  void SetFocus(int ordinal);
  // A scheduling point without an access: ends the direct decoder's run
  // length / the round-robin quantum.
  void Yield(core::Loc loc = core::Loc::Here());
  // The running logical thread, or -1 outside a run.
  int current_thread() const;
  // Steps so far in this run.
  uint64_t step() const;

  // --- core::SchedHook (fiber side) ---------------------------------------
  void OnAccess(const core::Access& a) override;
  void WaitUntil(const core::WaitSpec& spec) override;
  void OnAllocate(const void* begin, size_t bytes, bool reused) override;
  void OnPublish(const void* p) override;
  // Answers with Choose(): the input decides (e.g. a PyMutex hand-off).
  bool ChooseEvent(const char* what) override;

  // --- scheduler side -------------------------------------------------------
  // The trace of the last run (valid until the next Run).
  const Trace& trace() const { return trace_; }
  const ScheduleDecoder& decoder() const { return decoder_; }
  // Fibers this executor created (they are reused across runs).
  int fibers_created() const { return static_cast<int>(pool_.size()); }
  // The executor whose Run is in progress, or nullptr.
  static FiberExecutor* Active();

  // The running logical thread's most recent scheduling point, read without
  // any sanitizer event (FTF_NO_SANITIZER_EVENTS), for the sanitizer report
  // hook: under TSan it runs inside TSan's report. False when no run is
  // active or no logical thread is running.
  struct StepSnapshot {
    int thread = -1;
    uint64_t steps = 0;      // steps recorded so far in the run
    bool has_last = false;   // the thread's last step:
    uint64_t last_step = 0;
    const char* file = "";
    int line = 0;
    uint64_t note = 0;
  };
  static bool SnapshotRunningThread(StepSnapshot* out);

 private:
  enum class Request : uint8_t { kNone, kDone, kGrow, kDeadlock, kLivelock, kBodyException, kAbandoned };
  enum class Slot : uint8_t { kNotStarted, kRunning, kFinished };
  struct ThreadSlot {
    Slot state = Slot::kNotStarted;
    bool blocked = false;
    core::WaitSpec wait{};
    uint64_t note = 0;
    int64_t focus_key = -1;  // PickContext::focus_key
    bool has_last = false;
    TraceStep last;
  };

  static void FiberMain(Fiber* self, void* arg);
  [[noreturn]] void FiberLoop(Fiber* self);
  void RunBody(int me);
  void Finish(int me);
  void Record(int me, EventKind kind, core::Order order, const core::Loc& loc, const void* addr);
  void Decide(int me, PickReason reason);
  ThreadMask Runnable() const;
  void SwitchTo(int me, int next);
  void CallScheduler(int me, Request r);
  void AbandonPoint();
  void SaveBodyException();

  void EnsureFibers(int n);
  void Abandon();
  void Describe(RunResult& r, const RunOptions& options) const;

  size_t stack_size_;
  std::vector<std::unique_ptr<Fiber>> pool_;
  Context* ctx_of_[kMaxThreads] = {};  // pool_[i]->context(), for fiber-side use
  Fiber* fiber_of_[kMaxThreads] = {};
  Context main_ctx_;

  // Per-run state, shared by all fibers of the run (FTF_SCHED_INTERNAL only).
  const ThreadBody* body_ = nullptr;
  int num_threads_ = 0;
  int cur_ = -1;
  ThreadMask unfinished_ = 0;
  ThreadMask blocked_ = 0;
  ThreadMask pending_ = 0;  // threads stopped just before an access (PickContext::pending)
  ThreadSlot slots_[kMaxThreads];
  uint64_t last_progress_step_ = 0;
  uint64_t progress_budget_ = 0;
  uint64_t max_steps_ = 0;
  bool coverage_on_ = true;
  bool reduce_private_ = true;
  uint32_t private_run_ = 0;  // private accesses since the running thread's last point
  uint64_t private_accesses_ = 0;
  uint64_t private_escapes_ = 0;
  bool in_run_ = false;
  bool fibers_warm_ = false;  // TSan: every fiber has run once (Run)
  bool abandoning_ = false;
  bool terminating_ = false;
  Request request_ = Request::kNone;
  bool body_threw_ = false;
  // Written (instrumented) only by the throwing fiber before its done-token
  // release, read by Run after the acquire.
  std::exception_ptr body_exception_;

  ScheduleDecoder decoder_;
  SiteCache site_cache_;
  Trace trace_;
  InterleavingCoverage coverage_;
  PrivateMemory private_;
};

}  // namespace ftf::sched

#endif  // FTF_SCHED_FIBER_EXECUTOR_H_
