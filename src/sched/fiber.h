// fiber.h - stackful fibers on Boost.Context fcontext, with TSan/ASan annotations.
//
// Executor plumbing, not a model of CPython. A logical thread of the modelled
// interpreter runs as a Fiber; the scheduler (the OS thread's own stack) is a
// plain Context. Switching is Boost's jump_fcontext (a few ns; swapcontext
// makes a syscall per switch). Fibers are expensive to
// create under TSan (~35 us each), so executors create them once and reuse them.
//
// Every switch goes through SwitchContext, which does what TSan and ASan
// require of a fiber switch: __tsan_switch_to_fiber(to, no_sync) right before the
// jump (so the switch adds no happens-before edge and races between logical
// threads stay visible), and __sanitizer_start_switch_fiber /
// __sanitizer_finish_switch_fiber around it (so ASan knows which stack is live).
// A context that resumes learns who switched to it from the jump's data word
// and saves that context's continuation (and, under ASan, its stack bounds:
// this is how the scheduler's stack bounds become known).
//
// Thread-safety: a Context/Fiber is used by one OS thread at a time; all
// switching code is FTF_SCHED_INTERNAL (invisible to TSan).

#ifndef FTF_SCHED_FIBER_H_
#define FTF_SCHED_FIBER_H_

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>
#include <cstdint>

#include "sched/sanitizer_glue.h"

namespace ftf::sched {

// A suspended (or running) execution context.
struct Context {
  void* fctx = nullptr;             // Boost fcontext_t of the suspended context
  void* tsan_fiber = nullptr;       // TSan's handle (fiber or the OS thread)
  void* asan_fake_stack = nullptr;  // ASan fake-stack save slot
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
};

// Bookkeeping of a context that has just been resumed by `jumper`: remember
// the jumper's continuation and (ASan) its stack bounds, so that switching
// back to it later is annotated with the right stack.
FTF_SCHED_INTERNAL inline void NoteJumper(Context* jumper, void* jumper_fctx, const void* bottom, size_t size) {
  jumper->fctx = jumper_fctx;
#if FTF_SCHED_ASAN
  jumper->stack_bottom = bottom;
  jumper->stack_size = size;
#else
  (void)bottom;
  (void)size;
#endif
}

// Switches from the running context `from` to the suspended context `to`, and
// returns when some context switches back to `from`. With `from_exits` the
// caller promises never to be resumed (ASan then frees its fake stack).
// SwitchContextInline is for FTF_SCHED_INTERNAL callers only (always_inline
// would otherwise carry it into instrumented code): every return through a
// frame that was live across a switch is a mispredicted `ret` (the return
// stack predictor still holds the other fiber's calls), so fewer frames
// between a scheduling point and the jump make switches cheaper.
void SwitchContext(Context* from, Context* to, bool from_exits = false);

// The sanitizers' half of a switch, right before the jump to `to` (TSan:
// without synchronization, the scheduler must not order the logical threads
// it interleaves; ASan: the stack being entered) ...
FTF_SCHED_INTERNAL FTF_SCHED_ALWAYS_INLINE inline void BeforeJump(Context* from, Context* to, bool from_exits) {
#if FTF_SCHED_TSAN
  __tsan_switch_to_fiber(to->tsan_fiber, /*__tsan_switch_to_fiber_no_sync=*/1u);
#endif
#if FTF_SCHED_ASAN
  __sanitizer_start_switch_fiber(from_exits ? nullptr : &from->asan_fake_stack, to->stack_bottom, to->stack_size);
#else
  (void)from;
  (void)to;
  (void)from_exits;
#endif
}

// ... and right after `from` is resumed: t.data is the Context of whoever
// switched to it.
FTF_SCHED_INTERNAL FTF_SCHED_ALWAYS_INLINE inline void AfterResume(Context* from,
                                                                    boost::context::detail::transfer_t t) {
  const void* bottom = nullptr;
  size_t size = 0;
#if FTF_SCHED_ASAN
  __sanitizer_finish_switch_fiber(from->asan_fake_stack, &bottom, &size);
#else
  (void)from;
#endif
  NoteJumper(static_cast<Context*>(t.data), t.fctx, bottom, size);
}

FTF_SCHED_INTERNAL FTF_SCHED_ALWAYS_INLINE inline void SwitchContextInline(Context* from, Context* to,
                                                                             bool from_exits = false) {
  BeforeJump(from, to, from_exits);
  AfterResume(from, boost::context::detail::jump_fcontext(to->fctx, from));
}

// Makes `self` the context of the code running now (the scheduler): records
// TSan's handle for the current OS thread. Call before switching to a fiber.
void AdoptCurrentThread(Context* self);

class Fiber {
 public:
  // The fiber's main function. It must never return: its last act is a
  // SwitchContext(..., /*from_exits=*/true) away from the fiber.
  using MainFn = void (*)(Fiber* self, void* arg);

  // Creates the fiber (stack, TSan fiber, fcontext) without running it.
  Fiber(size_t stack_size, int index, MainFn main, void* arg);
  ~Fiber();  // the fiber must have exited, or never been started
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // First entry: switches from `from` into the fiber's MainFn; returns when the
  // fiber switches back to `from`.
  void Start(Context* from);

  // FTF_SCHED_INTERNAL: fibers read these; the scheduler wrote them while
  // creating the fiber, with no happens-before edge TSan could see.
  FTF_SCHED_INTERNAL Context* context() { return &ctx_; }
  FTF_SCHED_INTERNAL int index() const { return index_; }

  // Tokens for TSan thread start/join (their addresses are the sync objects).
  char start_token = 0;
  char done_token = 0;

  // Fibers created by this process so far (tests check that executors reuse them).
  static uint64_t TotalCreated();

  // Called once by the entry trampoline, on the fiber's own stack.
  [[noreturn]] void RunMain();

 private:
  Context ctx_;
  void* map_ = nullptr;  // mmap'd region: guard page + stack
  size_t map_size_ = 0;
  int index_;
  MainFn main_;
  void* arg_;
  bool started_ = false;
  char name_[32];
};

}  // namespace ftf::sched

#endif  // FTF_SCHED_FIBER_H_
