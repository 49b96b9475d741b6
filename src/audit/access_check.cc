// access_check.cc - the access-checking scheduling hook (see access_check.h).

#include "audit/access_check.h"

#include <thread>

#include "audit/ledger.h"

namespace ftf::audit {

AccessCheckingHook::AccessCheckingHook(RefLedger& ledger, core::SchedHook* inner, std::function<int()> current_thread)
    : ledger_(ledger), inner_(inner), current_thread_(std::move(current_thread)) {}

void AccessCheckingHook::OnAccess(const core::Access& a) {
  // The scheduler first: other threads may run (and free) before this access.
  if (inner_ != nullptr) inner_->OnAccess(a);
  ledger_.CheckAccess(current_thread_ ? current_thread_() : -1, a);
}

void AccessCheckingHook::WaitUntil(const core::WaitSpec& spec) {
  if (inner_ != nullptr) {
    inner_->WaitUntil(spec);
    return;
  }
  while (!spec.ready(spec.ctx)) std::this_thread::yield();
}

}  // namespace ftf::audit
