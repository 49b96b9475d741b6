// sched_hook.cc - the process-wide scheduling hook.

#include "core/sched_hook.h"

#include <thread>

namespace ftf::core {

SchedHook* g_sched_hook = nullptr;

const char* OrderName(Order o) {
  switch (o) {
    case Order::kPlain: return "plain";
    case Order::kRelaxed: return "relaxed";
    case Order::kAcquire: return "acquire";
    case Order::kRelease: return "release";
    case Order::kSeqCst: return "seq_cst";
  }
  return "?";
}

const char* AccessKindName(AccessKind k) {
  switch (k) {
    case AccessKind::kLoad: return "load";
    case AccessKind::kStore: return "store";
    case AccessKind::kRmw: return "rmw";
    case AccessKind::kFence: return "fence";
  }
  return "?";
}

SchedHook* InstallSchedHook(SchedHook* h) {
  SchedHook* old = g_sched_hook;
  g_sched_hook = h;
  return old;
}

void WaitUntil(const WaitSpec& spec) {
  if (SchedHook* h = CurrentSchedHook()) {
    h->WaitUntil(spec);
    return;
  }
  while (!spec.ready(spec.ctx)) std::this_thread::yield();
}

bool InputChooses(const char* what) {
  SchedHook* h = CurrentSchedHook();
  return h != nullptr && h->ChooseEvent(what);
}

}  // namespace ftf::core
