// sanitizer_glue.h - the few sanitizer annotations the fiber executor needs.
//
// Not a model of CPython: this is executor plumbing. ThreadSanitizer must see
// each logical thread as its own thread (a TSan fiber), switched with "no sync"
// so that switching itself creates no happens-before edge, and thread start and
// join must be modelled with explicit release/acquire on per-fiber tokens.
// AddressSanitizer must be told about every stack switch, or it reports false
// stack errors after exceptions and misses real ones.
//
// Everything here compiles to nothing without the matching sanitizer, so the
// gcc preset (no sanitizer) builds the same executor.
//
// FTF_SCHED_INTERNAL marks executor code that runs inside fibers but must stay
// invisible to TSan: its plain loads and stores are not instrumented, so the
// scheduler's own bookkeeping (shared by all fibers of one OS thread) neither
// reports races nor creates happens-before edges between logical threads.
// Such code must not use std::atomic (TSan instruments atomics even in
// uninstrumented functions), must not call instrumented helpers that touch
// scheduler state (clang never inlines across different sanitizer attributes),
// and must not allocate or call memcpy/memset (those are intercepted).

#ifndef FTF_SCHED_SANITIZER_GLUE_H_
#define FTF_SCHED_SANITIZER_GLUE_H_

#include <cstddef>

#if defined(FTF_TSAN) || defined(__SANITIZE_THREAD__)
#define FTF_SCHED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FTF_SCHED_TSAN 1
#endif
#endif

#if defined(FTF_ASAN) || defined(__SANITIZE_ADDRESS__)
#define FTF_SCHED_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FTF_SCHED_ASAN 1
#endif
#endif

// No sanitizer instrumentation at all, not even TSan's function entry/exit
// events (no_sanitize("thread") keeps those). For code that runs inside a
// sanitizer's own report, where TSan holds its slot mutex: a trace event
// there can need a new trace part, whose allocation takes that mutex and
// never returns. Such code calls nothing instrumented (no libc either: TSan
// intercepts strlen, printf, memcpy...; no_builtin keeps the optimizer from
// turning its copy loops into such calls).
#if defined(__clang__)
#define FTF_NO_SANITIZER_EVENTS __attribute__((disable_sanitizer_instrumentation, no_builtin))
#else
#define FTF_NO_SANITIZER_EVENTS __attribute__((no_sanitize("thread", "address", "undefined")))
#endif

#ifndef FTF_SCHED_ALWAYS_INLINE  // (-DFTF_SCHED_ALWAYS_INLINE= to compare without)
#if defined(__clang__) || defined(__GNUC__)
#define FTF_SCHED_ALWAYS_INLINE __attribute__((always_inline))
#else
#define FTF_SCHED_ALWAYS_INLINE
#endif
#endif

#ifndef FTF_SCHED_TSAN
#define FTF_SCHED_TSAN 0
#endif
#ifndef FTF_SCHED_ASAN
#define FTF_SCHED_ASAN 0
#endif

// Also no libFuzzer coverage instrumentation (clang): the scheduler's own
// branches are not features of the program under test (the interleaving
// counters are), and trace-cmp callbacks at every scheduling point are slow.
#if defined(__clang__)
#define FTF_SCHED_INTERNAL __attribute__((no_sanitize("thread", "coverage")))
#elif defined(__GNUC__)
#define FTF_SCHED_INTERNAL __attribute__((no_sanitize("thread")))
#else
#define FTF_SCHED_INTERNAL
#endif

#if FTF_SCHED_TSAN
extern "C" {
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
void __tsan_set_fiber_name(void* fiber, const char* name);
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
void __tsan_flush_memory(void);
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
void AnnotateIgnoreSyncBegin(const char* file, int line);
void AnnotateIgnoreSyncEnd(const char* file, int line);
}
#endif

#if FTF_SCHED_ASAN
extern "C" {
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old, size_t* size_old);
}
#endif

namespace ftf::sched::glue {

// Models "thread start" / "thread join" for TSan: set-up before start happens
// before the logical thread, and everything it did happens before tear-down.
FTF_SCHED_INTERNAL inline void Release(void* token) {
#if FTF_SCHED_TSAN
  __tsan_release(token);
#else
  (void)token;
#endif
}
FTF_SCHED_INTERNAL inline void Acquire(void* token) {
#if FTF_SCHED_TSAN
  __tsan_acquire(token);
#else
  (void)token;
#endif
}

// Forgets everything ThreadSanitizer knows about the past: every shadow cell,
// every sync object's clock, every thread's clock and trace position (each
// thread starts a fresh trace part at its next event and re-attaches to a
// TSan slot in the order threads next run). Called before every run, it
// makes what TSan reports depend on the run alone. Without it, detection
// depends on the process's history: a location's shadow keeps only four
// accesses, and which one a new access evicts is chosen from the thread's
// trace position, so the same race was reported in the first run of a
// process and missed in the third, or the reverse, once an unrelated change
// moved an allocation. A crash file from a long fuzzing process then need
// not reproduce in a fresh one. A race spanning two runs is no race of
// either program, so nothing real is lost.
FTF_SCHED_INTERNAL inline void ForgetHistory() {
#if FTF_SCHED_TSAN
  __tsan_flush_memory();
#endif
}

// Brackets executor code that must run instrumented callbacks invisibly:
// wait predicates (core::WaitSpec::ready). A predicate is the scheduler
// looking at the program, not the program acting: evaluated in whatever
// fiber happens to decide, its reads must neither race with the waiting
// thread's writes (e.g. the predicate's context struct on that thread's
// stack) nor synchronize anything.
FTF_SCHED_INTERNAL inline void IgnoreBegin() {
#if FTF_SCHED_TSAN
  __tsan_ignore_thread_begin();
  AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
#endif
}
FTF_SCHED_INTERNAL inline void IgnoreEnd() {
#if FTF_SCHED_TSAN
  AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
  __tsan_ignore_thread_end();
#endif
}

}  // namespace ftf::sched::glue

#endif  // FTF_SCHED_SANITIZER_GLUE_H_
