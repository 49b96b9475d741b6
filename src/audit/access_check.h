// access_check.h - checking every scheduling-point access against freed blocks.
//
// Not a model of CPython: an auditor hook. Every shared-memory access of the
// core passes a scheduling point (core/atomics.h) with its address. An
// AccessCheckingHook is a core::SchedHook that forwards each point to an
// inner hook (the scheduler, or none) and then, when the running thread is
// about to perform the access, asks the ledger whether the address lies in a
// freed object block (RefLedger::CheckAccess): any store there other than the
// allocator's free-list link, and any access to the payload (ob_type,
// slots), is USE_AFTER_FREE. Loads and failed CASes of the refcount header
// of a freed block are allowed: lock-free readers do exactly that
// (docs/cpython-model.md §5). This catches, without ASan, writes such as a merge
// storing ob_tid after another thread freed the object (gh-119999).
//
// Usage: install it as the process hook (core::InstallSchedHook) where no
// other hook is needed (sequential tests, the real-thread executor), with
// `inner` = nullptr; or wrap a scheduler hook. The FiberExecutor installs
// itself in Run(), so using it there needs an executor-side call (see the
// audit report: a RunOptions access callback).
//
// Thread-safety: as the ledger (callbacks may come from several threads).

#ifndef FTF_AUDIT_ACCESS_CHECK_H_
#define FTF_AUDIT_ACCESS_CHECK_H_

#include <functional>

#include "core/sched_hook.h"

namespace ftf::audit {

class RefLedger;

class AccessCheckingHook final : public core::SchedHook {
 public:
  // `current_thread` names the logical thread performing an access (e.g.
  // the executor's current_thread()); nullptr reports -1.
  AccessCheckingHook(RefLedger& ledger, core::SchedHook* inner, std::function<int()> current_thread = nullptr);

  void OnAccess(const core::Access& a) override;
  void WaitUntil(const core::WaitSpec& spec) override;

 private:
  RefLedger& ledger_;
  core::SchedHook* inner_;
  std::function<int()> current_thread_;
};

}  // namespace ftf::audit

#endif  // FTF_AUDIT_ACCESS_CHECK_H_
