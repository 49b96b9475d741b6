// ledger_internal.h - helpers shared by the ledger's .cc files (not public).
//
// The executor's view of "now": the current step and the scheduling point
// the running logical thread just passed. Both come from
// sched::FiberExecutor::Active(); outside a fiber run they are 0 and "".

#ifndef FTF_AUDIT_LEDGER_INTERNAL_H_
#define FTF_AUDIT_LEDGER_INTERNAL_H_

#include <cstdint>
#include <cstring>
#include <string>

namespace ftf::audit::internal {

// FiberExecutor::Active()->step(), or 0.
uint64_t CurrentStep();
// The last recorded scheduling point of `thread` in the active executor's
// trace: its site ("core/refcount.cc:47") and the operation its step note
// names ("" / nullptr without an executor or such a step).
struct LastStep {
  std::string site;
  const char* operation = nullptr;
};
LastStep CurrentSite(int thread);
// The last two components of a path ("core/refcount.cc").
const char* ShortPath(const char* file);

inline bool EndsWith(const char* s, const char* suffix) {
  if (s == nullptr) return false;
  const size_t n = std::strlen(s);
  const size_t m = std::strlen(suffix);
  return n >= m && std::strcmp(s + n - m, suffix) == 0;
}

}  // namespace ftf::audit::internal

#endif  // FTF_AUDIT_LEDGER_INTERNAL_H_
