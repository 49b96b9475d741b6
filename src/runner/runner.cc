// runner.cc - world set-up, the run, and tear-down (see runner.h).

#include "runner/runner.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "core/class_assign.h"
#include "core/critical_section.h"
#include "core/dict.h"
#include "core/load_global.h"
#include "core/member.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/slot_access.h"
#include "core/stw.h"
#include "core/type.h"
#include "audit/ledger.h"
#include "audit/sanitizer_report.h"
#include "runner/world.h"

namespace ftf::runner {

const char* ObservationResultName(Observation::Result r) {
  switch (r) {
    case Observation::Result::kOk: return "ok";
    case Observation::Result::kAttributeError: return "AttributeError";
    case Observation::Result::kTypeError: return "TypeError";
    case Observation::Result::kNameError: return "NameError";
    case Observation::Result::kKeyError: return "KeyError";
    case Observation::Result::kEmptyRegister: return "empty-register";
  }
  return "?";
}

namespace {

// The counts of a run whose RunResult was lost to an exception.
void FillFromTrace(const sched::Trace& trace, sched::RunResult* r) {
  r->steps = trace.steps();
  r->context_switches = trace.num_switches();
  r->trace_hash = trace.hash();
}

// FTF_REDUCTION=0 turns the partial-order reduction off (every access a
// scheduling point, docs/scheduling.md) in every run of the process: for
// measuring it, and for replaying an input found that way. Read once.
bool ReductionFromEnv() {
  static const bool on = [] {
    const char* v = std::getenv("FTF_REDUCTION");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return on;
}

}  // namespace

struct Runner::Impl {
  Impl() : world(exec) {}
  sched::FiberExecutor exec;
  World world;
  program::ConflictMap conflicts;  // the current PCT program's, for FOCUS
  sched::FocusPlan focus;
};

namespace {

// PCT's FOCUS plan of a program (sched decoder, FOCUS): its focused
// operations, numbered thread by thread.
void PlanFocus(const program::Program& p, program::ConflictMap* conflicts, sched::FocusPlan* plan) {
  *conflicts = program::AnalyzeConflicts(p);
  *plan = sched::FocusPlan{};
  plan->focused = conflicts->focused;
  const size_t n = std::min<size_t>(conflicts->focus_begin.size(), sched::kMaxThreads + 1);
  for (size_t t = 0; t < n; ++t) plan->begin[t] = conflicts->focus_begin[t];
}

}  // namespace

Runner::Runner() : impl_(std::make_unique<Impl>()) {}
Runner::~Runner() = default;

sched::FiberExecutor& Runner::executor() { return impl_->exec; }
const audit::RefLedger& Runner::ledger() const { return impl_->world.ledger(); }

RunOutcome Runner::Run(const program::Program& p, const RunnerOptions& options) {
  World& w = impl_->world;
  const core::Variant& variant = options.variant != nullptr ? *options.variant : core::LockedVariant();
  RunOutcome out;
  bool ran = false;       // the executor's Run was entered (its trace is this run's)
  bool returned = false;  // ... and returned its RunResult
  try {
    w.Build(p, variant, options.record_observations);
    const bool focus = options.pct_focus && p.schedule.kind == program::ScheduleKind::kPct;
    sched::RunOptions exec_options = options.exec;
    if (focus) {
      PlanFocus(p, &impl_->conflicts, &impl_->focus);
      exec_options.focus = &impl_->focus;
    }
    w.set_focus(focus ? &impl_->conflicts : nullptr);
    ran = true;
    if (!ReductionFromEnv()) exec_options.reduce_private = false;
    out.exec = impl_->exec.Run(
        static_cast<int>(p.threads.size()), [&](int t) { w.RunThread(t); }, p.schedule, exec_options);
    returned = true;
    out.finding = audit::FindingFromRunResult(out.exec, &impl_->exec.trace());
    if (!out.finding) out.finding = w.TearDown();
  } catch (const audit::FindingException& e) {
    // An auditor stopped the run (or the tear-down) at the failing step.
    // When it threw inside a logical thread, the executor rethrew it from
    // Run, whose RunResult never reached `out.exec`: take the run's counts
    // from its trace (valid until the next Run), so that a run ending in a
    // finding has its real trace hash (every determinism check of a finding
    // compares these).
    out.finding = e.finding();
    if (ran && !returned) FillFromTrace(impl_->exec.trace(), &out.exec);
  }
  // A TSan report during the run (the run went on after it, halt_on_error=0)
  // came before anything an auditor stopped the run for.
  if (std::optional<audit::Finding> race = audit::TakePendingSanitizerFinding()) out.finding = std::move(race);
  if (options.record_observations) out.observations = w.TakeObservations();
  return out;
}

}  // namespace ftf::runner
