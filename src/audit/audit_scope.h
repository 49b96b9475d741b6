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
//   - holds the auditor's mutex, for real threads (uncontended with fibers:
//     auditor code has no scheduling point).
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

namespace ftf::audit {

class AuditScope {
 public:
  explicit AuditScope(std::mutex& mu) : mu_(mu) {
#if defined(FTF_AUDIT_TSAN)
    __tsan_ignore_thread_begin();
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
#endif
    mu_.lock();
  }
  ~AuditScope() {
    mu_.unlock();
#if defined(FTF_AUDIT_TSAN)
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
    __tsan_ignore_thread_end();
#endif
  }
  AuditScope(const AuditScope&) = delete;
  AuditScope& operator=(const AuditScope&) = delete;

 private:
  std::mutex& mu_;
};

}  // namespace ftf::audit

#endif  // FTF_AUDIT_AUDIT_SCOPE_H_
