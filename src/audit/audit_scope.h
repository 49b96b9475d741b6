// audit_scope.h - how auditor code runs inside logical threads unseen.
//
// Not a model of CPython: harness plumbing. Auditors (the ledger) are called
// by the core from inside logical threads: fibers that ThreadSanitizer sees
// as separate threads switched without synchronization, or real OS threads
// in the real-thread executor. Their own bookkeeping (maps, vectors, a mutex
// for real threads) must neither be reported as racing nor create
// happens-before edges between logical threads (that would hide the races
// ftfuzz is looking for). An AuditScope therefore, for its lifetime,
//   - tells TSan to ignore this thread's (fiber's) plain memory accesses
//     (__tsan_ignore_thread_begin: allocations made meanwhile start clean),
//   - tells TSan to ignore synchronization (AnnotateIgnoreSyncBegin), and
//   - holds the auditor's mutex, for real threads. Inside a fiber run it is
//     not taken: every logical thread is a fiber of the one OS thread that
//     runs the executor, auditor code has no scheduling point, and one run
//     at a time is the executor's contract, so nothing can contend (and the
//     lock was a measurable part of every refcount event under TSan).
// Without TSan the first two are no-ops.
//
// Thread-safety: any thread; scopes of one auditor must not nest.

#ifndef FTF_AUDIT_AUDIT_SCOPE_H_
#define FTF_AUDIT_AUDIT_SCOPE_H_

#include <mutex>

#if defined(FTF_TSAN) || defined(__SANITIZE_THREAD__)
#define FTF_AUDIT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FTF_AUDIT_TSAN 1
#endif
#endif

#if defined(FTF_AUDIT_TSAN)
extern "C" {
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
void AnnotateIgnoreSyncBegin(const char* file, int line);
void AnnotateIgnoreSyncEnd(const char* file, int line);
}
#endif

// For auditor functions whose whole body runs inside an AuditScope (or is
// only called from inside one): TSan would ignore their plain accesses
// anyway, so they are not instrumented at all, which saves a runtime call
// per load and store of the ledger's bookkeeping. Never for code that also
// runs outside a scope.
// FTF_AUDIT_HOT adds `flatten` for the small functions that run at every
// refcount event or dealloc: the sanitizer presets build at -O1, which
// inlines almost nothing, so each std::vector accessor would otherwise be an
// instrumented call of its own.
#if defined(__clang__) || defined(__GNUC__)
#define FTF_AUDIT_UNSEEN __attribute__((no_sanitize("thread")))
#define FTF_AUDIT_HOT __attribute__((no_sanitize("thread"), flatten))
#else
#define FTF_AUDIT_UNSEEN
#define FTF_AUDIT_HOT
#endif

namespace ftf::audit {

namespace internal {
// True while a FiberExecutor run is in progress (sched::FiberExecutor::Active()).
bool InFiberRun();
}  // namespace internal

class AuditScope {
 public:
  explicit AuditScope(std::mutex& mu) : mu_(internal::InFiberRun() ? nullptr : &mu) {
#if defined(FTF_AUDIT_TSAN)
    __tsan_ignore_thread_begin();
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
#endif
    if (mu_ != nullptr) mu_->lock();
  }
  ~AuditScope() {
    if (mu_ != nullptr) mu_->unlock();
#if defined(FTF_AUDIT_TSAN)
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
    __tsan_ignore_thread_end();
#endif
  }
  AuditScope(const AuditScope&) = delete;
  AuditScope& operator=(const AuditScope&) = delete;

 private:
  std::mutex* mu_;  // nullptr inside a fiber run
};

}  // namespace ftf::audit

#endif  // FTF_AUDIT_AUDIT_SCOPE_H_
