// fiber_hook.cc - the fiber side of the FiberExecutor: scheduling points,
// blocking, switching, and the fiber main loop (see fiber_executor.h).
//
// Everything here runs on fiber stacks and is FTF_SCHED_INTERNAL: plain,
// uninstrumented reads and writes of executor state that every fiber shares.
// No std::atomic, no allocation, no calls into instrumented helpers that
// touch executor state, no struct copies that could become memcpy calls.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "sched/fiber_executor.h"

namespace ftf::sched {
namespace {

FTF_SCHED_INTERNAL inline ThreadMask Bit(int t) { return ThreadMask{1} << t; }

// Consecutive private accesses of one thread after which the next one is a
// scheduling point all the same (private_memory.h).
constexpr uint32_t kMaxPrivateRun = 4096;

// Evaluates a wait predicate invisibly to TSan (sanitizer_glue.h).
FTF_SCHED_INTERNAL inline bool Ready(const core::WaitSpec& w) {
  glue::IgnoreBegin();
  const bool ready = w.ready(w.ctx);
  glue::IgnoreEnd();
  return ready;
}

}  // namespace

// ===== deciding and switching (inlined into the scheduling points) =====

// Threads that may run now: not finished, and not blocked unless the blocked
// thread's predicate holds (evaluated here; predicates only Peek).
FTF_SCHED_INTERNAL FTF_SCHED_ALWAYS_INLINE inline ThreadMask FiberExecutor::Runnable() const {
  ThreadMask r = unfinished_ & ~blocked_;
  for (ThreadMask b = blocked_ & unfinished_; b != 0; b &= b - 1) {
    const int t = __builtin_ctz(b);
    if (Ready(slots_[t].wait)) r |= Bit(t);
  }
  return r;
}

FTF_SCHED_INTERNAL FTF_SCHED_ALWAYS_INLINE inline void FiberExecutor::SwitchTo(int me, int next) {
  while (!trace_.HasSwitchRoom()) CallScheduler(me, Request::kGrow);
  trace_.RecordSwitch(me, next);
  cur_ = next;
  SwitchContextInline(ctx_of_[me], ctx_of_[next]);
  // Resumed: whoever switched to us set cur_ = me.
}

FTF_SCHED_INTERNAL void FiberExecutor::CallScheduler(int me, Request r) {
  request_ = r;
  SwitchContextInline(ctx_of_[me], &main_ctx_);
}

// Picks the next thread after a scheduling point of `me` and switches to it
// (returns at once if `me` continues). `me` may be blocked or finished.
FTF_SCHED_INTERNAL FTF_SCHED_ALWAYS_INLINE inline void FiberExecutor::Decide(int me, PickReason reason) {
  const ThreadMask runnable = Runnable();
  if (runnable == 0) {
    // DEADLOCK is where INV-CS-1, INV-CS-2, INV-CS-3 (core/critical_section.h:
    // lock order, suspension on detach, no self-relock) and INV-MUTEX-2
    // (core/mutex.h: no lost wake-up) show when broken: all threads blocked.
    CallScheduler(me, unfinished_ == 0 ? Request::kDone : Request::kDeadlock);
    return;
  }
  PickContext c{runnable, me, reason, trace_.steps(), pending_, slots_[me].focus_key};
  const int next = decoder_.Pick(c);
  if (next != me) SwitchTo(me, next);
}

// ===== scheduling points =====
//
// An access is decided first and recorded after: the thread that records a
// step performs its access right after OnAccess returns, with no other thread
// in between, so the trace (and the coverage) list accesses in the order they
// really happen. Yields and blocks are recorded first, then decided.

FTF_SCHED_INTERNAL void FiberExecutor::OnAccess(const core::Access& a) {
  const int me = cur_;
  if (me < 0) return;  // not inside a run (the scheduler context runs no core code during one)
  if (abandoning_) {
    AbandonPoint();
    return;
  }
  if (reduce_private_) {
    // The partial-order reduction (docs/scheduling.md, private_memory.h).
    if (a.stored != nullptr) private_.Publish(a.stored);
    if (a.addr != nullptr) {
      const int owner = private_.Owner(a.addr);
      if (owner == me) {
        // Only this thread can reach the block: the access commutes with
        // every other thread's, so it needs no decision. A thread that runs
        // on private accesses alone for kMaxPrivateRun of them gets a point
        // anyway, so the livelock budgets still see it.
        if (++private_run_ < kMaxPrivateRun) {
          ++private_accesses_;
          return;
        }
      } else if (owner >= 0) {
        // Another thread reached a block nobody published: count the escape
        // and treat the block as shared from now on.
        private_.Publish(a.addr);
        ++private_escapes_;
      }
    }
  }
  if (!decoder_.TryContinue()) {
    pending_ |= Bit(me);
    Decide(me, PickReason::kPoint);
    pending_ &= ~Bit(me);
    if (abandoning_) {
      AbandonPoint();  // resumed by the scheduler to unwind
      return;
    }
  }
  Record(me, static_cast<EventKind>(a.kind), a.order, a.loc, a.addr);
  // One more access of the current operation (PCT's FOCUS); the low 16 bits
  // saturate below 0xFFFF, which means "outside a focused operation".
  int64_t& key = slots_[me].focus_key;
  if ((key & 0xFFFF) < 0xFFFE) ++key;
  if (abandoning_) AbandonPoint();
}

FTF_SCHED_INTERNAL void FiberExecutor::OnAllocate(const void* begin, size_t bytes, bool reused) {
  if (cur_ < 0 || !reduce_private_) return;
  private_.OnAllocate(cur_, begin, bytes, reused);
}

FTF_SCHED_INTERNAL void FiberExecutor::OnPublish(const void* p) {
  if (cur_ < 0 || !reduce_private_) return;
  private_.Publish(p);
}

FTF_SCHED_INTERNAL void FiberExecutor::Yield(core::Loc loc) {
  const int me = cur_;
  if (me < 0) return;
  if (abandoning_) {
    AbandonPoint();
    return;
  }
  Record(me, EventKind::kYield, core::Order::kPlain, loc, nullptr);
  if (!abandoning_) Decide(me, PickReason::kYield);
  if (abandoning_) AbandonPoint();
}

FTF_SCHED_INTERNAL void FiberExecutor::WaitUntil(const core::WaitSpec& spec) {
  const int me = cur_;
  if (me < 0) {
    // Not in a run: behave like core::WaitUntil without a hook.
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
    return;
  }
  if (abandoning_) {
    AbandonPoint();  // throws, or (already unwinding) gives up waiting
    return;
  }
  while (!Ready(spec)) {
    ThreadSlot& s = slots_[me];
    s.wait.what = spec.what;
    s.wait.key = spec.key;
    s.wait.ready = spec.ready;
    s.wait.ctx = spec.ctx;
    s.wait.loc.file = spec.loc.file;
    s.wait.loc.line = spec.loc.line;
    s.blocked = true;
    blocked_ |= Bit(me);
    // The block is a step of its own (kind kBlock, address = the wait key),
    // then a forced decision among the others.
    Record(me, EventKind::kBlock, core::Order::kPlain, spec.loc, spec.key);
    if (!abandoning_) Decide(me, PickReason::kBlocked);
    // Resumed: chosen because the predicate held (or the run is abandoned).
    s.blocked = false;
    blocked_ &= ~Bit(me);
    if (abandoning_) {
      AbandonPoint();  // throws, or (already unwinding) gives up waiting
      return;
    }
  }
}

FTF_SCHED_INTERNAL void FiberExecutor::AbandonPoint() {
  // Unwinding already (a destructor reached a scheduling point): let it run.
  if (std::uncaught_exceptions() > 0) return;
  throw AbandonRun{};
}

FTF_SCHED_INTERNAL void FiberExecutor::NoteProgress() { last_progress_step_ = trace_.steps(); }

FTF_SCHED_INTERNAL bool FiberExecutor::Choose() {
  if (!in_run_ || abandoning_) return false;
  return decoder_.TakeChoice();
}

FTF_SCHED_INTERNAL void FiberExecutor::SetFocus(int ordinal) {
  const int me = cur_;
  if (me < 0) return;
  int64_t& key = slots_[me].focus_key;
  // Unfocused: keep the last focused ordinal, mark "past its accesses".
  key = ordinal >= 0 ? (int64_t{ordinal} << 16) : ((key >> 16) << 16) | 0xFFFF;
}

FTF_SCHED_INTERNAL bool FiberExecutor::ChooseEvent(const char* what) {
  (void)what;
  return Choose();
}

FTF_SCHED_INTERNAL void FiberExecutor::SetNote(uint64_t note) {
  if (cur_ >= 0) slots_[cur_].note = note;
}

FTF_SCHED_INTERNAL int FiberExecutor::current_thread() const { return cur_; }

FTF_SCHED_INTERNAL uint64_t FiberExecutor::step() const { return trace_.steps(); }

// Records one step of thread `me` (trace, hash, coverage) and enforces the
// livelock budgets. On LIVELOCK it returns with abandoning_ set.
FTF_SCHED_INTERNAL void FiberExecutor::Record(int me, EventKind kind, core::Order order, const core::Loc& loc,
                                              const void* addr) {
  // Only the scheduler context allocates: let it grow the buffers if needed.
  while (!trace_.HasStepRoom()) CallScheduler(me, Request::kGrow);

  const uint32_t site = site_cache_.Get(loc.file, loc.line);
  private_run_ = 0;  // a step: the run of private accesses ends
  ThreadSlot& s = slots_[me];
  trace_.RecordStep(me, kind, order, loc.file, loc.line, site, addr, s.note);
  const uint64_t step = trace_.steps();
  s.has_last = true;
  s.last.step = step;
  s.last.file = loc.file;
  s.last.addr = addr;
  s.last.note = s.note;
  s.last.line = loc.line;
  s.last.thread = static_cast<int8_t>(me);
  s.last.kind = kind;
  s.last.order = order;

  if (coverage_on_ && addr != nullptr && kind <= EventKind::kRmw) {
    coverage_.OnAccess(me, addr, kind != EventKind::kLoad, site);
  }

  if (step >= max_steps_ || (progress_budget_ != 0 && step - last_progress_step_ >= progress_budget_)) {
    CallScheduler(me, Request::kLivelock);  // resumed only to be abandoned
  }
}

// ===== the fiber's life =====

FTF_SCHED_INTERNAL void FiberExecutor::FiberMain(Fiber* self, void* arg) {
  static_cast<FiberExecutor*>(arg)->FiberLoop(self);
}

FTF_SCHED_INTERNAL void FiberExecutor::FiberLoop(Fiber* self) {
  const int me = self->index();
  // Created and primed: wait for the first run.
  SwitchContextInline(ctx_of_[me], &main_ctx_);
  for (;;) {
    if (terminating_) {
      SwitchContextInline(ctx_of_[me], &main_ctx_, /*from_exits=*/true);
      std::fprintf(stderr, "ftfuzz: internal error: an exited fiber was resumed\n");
      std::abort();
    }
    RunBody(me);
    Finish(me);  // returns when the fiber starts its next run (or exits)
  }
}

FTF_SCHED_INTERNAL void FiberExecutor::RunBody(int me) {
  slots_[me].state = Slot::kRunning;
  // Thread start: everything the scheduler did before Run's release.
  glue::Acquire(&fiber_of_[me]->start_token);
  try {
    (*body_)(me);
  } catch (const AbandonRun&) {
    // The run was abandoned (DEADLOCK / LIVELOCK / another body threw).
  } catch (...) {
    if (!abandoning_) {
      body_threw_ = true;
      SaveBodyException();
    }
  }
}

FTF_SCHED_INTERNAL void FiberExecutor::Finish(int me) {
  slots_[me].state = Slot::kFinished;
  unfinished_ &= ~Bit(me);
  last_progress_step_ = trace_.steps();  // a finished thread is progress
  // Thread join: everything this thread did happens before Run's acquire.
  // (All the stores above are plain and uninstrumented; the release comes last.)
  glue::Release(&fiber_of_[me]->done_token);
  if (abandoning_) {
    CallScheduler(me, Request::kAbandoned);
  } else if (body_threw_) {
    CallScheduler(me, Request::kBodyException);
  } else {
    Decide(me, PickReason::kFinished);  // kDone when it was the last one
  }
}

}  // namespace ftf::sched
