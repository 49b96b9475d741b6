// fiber_executor.cc - the scheduler side of the FiberExecutor: fiber pool,
// Run, abandoning a run, and DEADLOCK/LIVELOCK descriptions (see
// fiber_executor.h; the fiber side is fiber_hook.cc).

#include "sched/fiber_executor.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "core/parking_lot.h"

namespace ftf::sched {
namespace {

// The executor whose Run is in progress. Written by the scheduler context
// before the start tokens are released and after the done tokens are acquired.
FiberExecutor* g_active = nullptr;

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "ftfuzz: FiberExecutor: %s\n", what);
  std::abort();
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kOk: return "OK";
    case Outcome::kDeadlock: return "DEADLOCK";
    case Outcome::kLivelock: return "LIVELOCK";
  }
  return "?";
}

const char* ThreadStateName(ThreadReport::State s) {
  switch (s) {
    case ThreadReport::State::kNotStarted: return "not started";
    case ThreadReport::State::kRunnable: return "runnable";
    case ThreadReport::State::kBlocked: return "blocked";
    case ThreadReport::State::kFinished: return "finished";
  }
  return "?";
}

FTF_SCHED_INTERNAL FiberExecutor* FiberExecutor::Active() { return g_active; }

FTF_NO_SANITIZER_EVENTS bool FiberExecutor::SnapshotRunningThread(StepSnapshot* out) {
  const FiberExecutor* ex = g_active;
  if (ex == nullptr || ex->cur_ < 0) return false;
  const int me = ex->cur_;
  const ThreadSlot& slot = ex->slots_[me];
  out->thread = me;
  out->steps = ex->trace_.steps_;
  out->has_last = slot.has_last;
  out->last_step = slot.last.step;
  out->file = slot.last.file;
  out->line = slot.last.line;
  out->note = slot.last.note;
  return true;
}

FiberExecutor::FiberExecutor(size_t stack_size) : stack_size_(stack_size) {}

FiberExecutor::~FiberExecutor() {
  if (in_run_) Fatal("destroyed during Run");
  // Let every fiber leave its main loop for good (ASan frees its fake stack),
  // then free the stacks.
  terminating_ = true;
  AdoptCurrentThread(&main_ctx_);
  for (size_t i = 0; i < pool_.size(); ++i) {
    cur_ = static_cast<int>(i);
    SwitchContext(&main_ctx_, ctx_of_[i]);
  }
  cur_ = -1;
  pool_.clear();
}

void FiberExecutor::EnsureFibers(int n) {
  AdoptCurrentThread(&main_ctx_);
  while (static_cast<int>(pool_.size()) < n) {
    const int i = static_cast<int>(pool_.size());
    pool_.push_back(std::make_unique<Fiber>(stack_size_, i, &FiberExecutor::FiberMain, this));
    Fiber* f = pool_.back().get();
    ctx_of_[i] = f->context();
    fiber_of_[i] = f;
    // Prime it: it enters FiberLoop and comes straight back, idle.
    f->Start(&main_ctx_);
  }
}

void FiberExecutor::SaveBodyException() { body_exception_ = std::current_exception(); }

RunResult FiberExecutor::Run(int num_threads, const ThreadBody& body, const program::ScheduleSpec& schedule,
                             const RunOptions& options) {
  if (num_threads < 1 || num_threads > kMaxThreads) Fatal("num_threads out of range");
  if (in_run_ || core::CurrentSchedHook() != nullptr) Fatal("Run while a run is in progress or a hook is installed");
  // Under TSan every run starts from the same sanitizer state
  // (glue::ForgetHistory): all fibers exist before the first run too, since a
  // fiber created inside a run would start it from a different one.
  EnsureFibers(FTF_SCHED_TSAN ? kMaxThreads : num_threads);
#if FTF_SCHED_TSAN
  // And every fiber has made an instrumented memory access before the first
  // real run: one run in which each fiber writes its own word. Without it, a
  // fiber's first access in the process came inside some input's run, and
  // that run could miss a race the next run of the same input reported (a
  // crash input of mutant_half_migrated: FirstRun test); after any earlier
  // run that used all the fibers, it reported it.
  if (!fibers_warm_) {
    fibers_warm_ = true;
    static volatile int touched[kMaxThreads];
    Run(kMaxThreads, [](int t) { touched[t] = t; }, program::ScheduleSpec{}, RunOptions{});
  }
#endif
  glue::ForgetHistory();

  // --- set-up (all of it happens before the logical threads start) ---------
  in_run_ = true;
  g_active = this;
  body_ = &body;
  num_threads_ = num_threads;
  cur_ = -1;
  unfinished_ = (ThreadMask{1} << num_threads) - 1;
  blocked_ = 0;
  pending_ = 0;
  for (int i = 0; i < kMaxThreads; ++i) {
    ThreadSlot& s = slots_[i];
    s.state = Slot::kNotStarted;
    s.blocked = false;
    s.wait = core::WaitSpec{};
    s.note = 0;
    s.focus_key = -1;
    s.has_last = false;
  }
  last_progress_step_ = 0;
  progress_budget_ = options.progress_budget;
  max_steps_ = options.max_steps == 0 ? ~uint64_t{0} : options.max_steps;
  coverage_on_ = options.coverage;
  reduce_private_ = options.reduce_private;
  private_run_ = 0;
  private_accesses_ = 0;
  private_escapes_ = 0;
  private_.BeginRun();
  abandoning_ = false;
  request_ = Request::kNone;
  body_threw_ = false;
  body_exception_ = nullptr;
  trace_.Begin(options.ring_size, options.full_trace);
  coverage_.BeginRun();
  decoder_.Reset(schedule, num_threads, DecoderOptions{options.fallback_quantum, options.pct_horizon, options.focus});
  core::SchedHook* previous = core::InstallSchedHook(this);
  AdoptCurrentThread(&main_ctx_);
  for (int i = 0; i < num_threads; ++i) glue::Release(&fiber_of_[i]->start_token);

  // --- the run ---------------------------------------------------------------
  // Whenever the scheduler context has control, cur_ is -1, so that a core
  // access made here (e.g. by a describe_key callback) is not taken for a
  // scheduling point of a logical thread; it is set again before resuming one.
  const int first = decoder_.Pick(PickContext{unfinished_, -1, PickReason::kStart, 0});
  trace_.RecordSwitch(-1, first);
  cur_ = first;
  SwitchContext(&main_ctx_, ctx_of_[first]);
  RunResult result;
  for (;;) {
    const int requester = cur_;
    cur_ = -1;
    const Request r = request_;
    request_ = Request::kNone;
    if (r == Request::kGrow) {
      trace_.Grow();
      cur_ = requester;
      SwitchContext(&main_ctx_, ctx_of_[requester]);
      continue;
    }
    if (r == Request::kDone) break;
    if (r == Request::kDeadlock) {
      result.outcome = Outcome::kDeadlock;
    } else if (r == Request::kLivelock) {
      result.outcome = Outcome::kLivelock;
    } else if (r != Request::kBodyException) {
      Fatal("unexpected request from a fiber");
    }
    if (result.outcome != Outcome::kOk) Describe(result, options);
    Abandon();
    break;
  }

  // --- tear-down (everything the threads did happens before it) ------------
  for (int i = 0; i < num_threads; ++i) glue::Acquire(&fiber_of_[i]->done_token);
  core::InstallSchedHook(previous);
  cur_ = -1;
  body_ = nullptr;
  g_active = nullptr;
  in_run_ = false;
  result.steps = trace_.steps();
  result.context_switches = trace_.num_switches();
  result.trace_hash = trace_.hash();
  result.interleaving_pairs = coverage_.pairs_observed();
  result.private_accesses = private_accesses_;
  result.private_escapes = private_escapes_;
  if (body_threw_) {
    std::exception_ptr e = body_exception_;
    body_exception_ = nullptr;
    std::rethrow_exception(e);
  }
  return result;
}

// Resumes every started, unfinished fiber once with abandoning_ set: its
// pending scheduling point throws AbandonRun, the body unwinds, and Finish
// comes back here with kAbandoned.
void FiberExecutor::Abandon() {
  abandoning_ = true;
  for (int i = 0; i < num_threads_; ++i) {
    const ThreadMask bit = ThreadMask{1} << i;
    if ((unfinished_ & bit) == 0) continue;
    if (slots_[i].state == Slot::kNotStarted) {
      unfinished_ &= ~bit;  // still idle at its loop: nothing to unwind
      continue;
    }
    cur_ = i;
    SwitchContext(&main_ctx_, ctx_of_[i]);
    cur_ = -1;
    if (request_ != Request::kAbandoned || (unfinished_ & bit) != 0) Fatal("an abandoned fiber did not unwind");
    request_ = Request::kNone;
  }
  abandoning_ = false;
  blocked_ = 0;
  pending_ = 0;
  // Parked waiters lived on the abandoned stacks.
  core::GlobalParkingLot().Reset();
}

void FiberExecutor::Describe(RunResult& r, const RunOptions& options) const {
  const uint64_t steps = trace_.steps();
  int unfinished = 0;
  for (int i = 0; i < num_threads_; ++i) unfinished += slots_[i].state != Slot::kFinished;
  if (r.outcome == Outcome::kDeadlock) {
    r.description = absl::StrFormat("DEADLOCK: all %d unfinished logical threads are blocked (step %d)\n",
                                    unfinished, steps);
  } else if (steps >= max_steps_) {
    r.description = absl::StrFormat("LIVELOCK: the run reached the cap of %d steps\n", max_steps_);
  } else {
    r.description = absl::StrFormat("LIVELOCK: no progress for %d steps (step %d)\n", steps - last_progress_step_,
                                    steps);
  }
  for (int i = 0; i < num_threads_; ++i) {
    const ThreadSlot& s = slots_[i];
    ThreadReport t;
    t.thread = i;
    if (s.state == Slot::kFinished) {
      t.state = ThreadReport::State::kFinished;
    } else if (s.state == Slot::kNotStarted) {
      t.state = ThreadReport::State::kNotStarted;
    } else if (s.blocked) {
      t.state = ThreadReport::State::kBlocked;
      t.wait_what = s.wait.what;
      t.wait_key = s.wait.key;
      t.wait_loc = s.wait.loc;
    } else {
      t.state = ThreadReport::State::kRunnable;
    }
    t.has_last_step = s.has_last;
    t.last_step = s.last;
    absl::StrAppendFormat(&r.description, "  T%d: %s", i, ThreadStateName(t.state));
    if (t.state == ThreadReport::State::kBlocked) {
      std::string key = options.describe_key ? options.describe_key(t.wait_key) : absl::StrFormat("%p", t.wait_key);
      absl::StrAppendFormat(&r.description, " in %s on %s at %s:%d", t.wait_what, key, ShortFile(t.wait_loc.file),
                            t.wait_loc.line);
    }
    if (t.has_last_step) {
      const TraceStep& l = t.last_step;
      absl::StrAppendFormat(&r.description, "; last step %d: %s %s at %s:%d addr=%p", l.step, EventKindName(l.kind),
                            core::OrderName(l.order), ShortFile(l.file), l.line, l.addr);
    }
    r.description += '\n';
    r.threads.push_back(t);
  }
}

}  // namespace ftf::sched
