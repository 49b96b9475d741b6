// determinism.h - "run it again with full tracing: is it the same finding?"
//
// Not a model of CPython: relacy's habit. When a finding
// appears, the harness re-runs the same input with full tracing and checks
// that the same FindingKind happens at the same step on the same logical
// thread. If not, the run depended on something outside the input (time,
// addresses, statics, a leftover from the previous input) and the report
// says so loudly: "NOT DETERMINISTIC: ...".

#ifndef FTF_AUDIT_DETERMINISM_H_
#define FTF_AUDIT_DETERMINISM_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "audit/finding.h"

namespace ftf::audit {

struct DeterminismCheck {
  bool deterministic = true;
  std::optional<Finding> rerun;  // what the re-run found, if anything
  // One line for the report: "re-run with full tracing: same finding (...)"
  // or "NOT DETERMINISTIC: first run ...; re-run ...".
  std::string message;
};

// What a re-run gives: its finding (or nullopt) and its trace hash
// (sched::Trace::hash(), RunResult::trace_hash).
struct Rerun {
  std::optional<Finding> finding;
  uint64_t trace_hash = 0;
};

// Calls `rerun` (which replays the same input with full tracing; a
// FindingException escaping it counts as its finding, with an unknown trace
// hash) and compares the trace hash with `first_trace_hash` and kind, step
// and thread with `first`. The trace hash is what makes the check able to
// fail on a changed interleaving that happens to end in the same kind at the
// same step: every step's site, thread and access is in it.
DeterminismCheck CheckDeterminism(const Finding& first, uint64_t first_trace_hash,
                                  const std::function<Rerun()>& rerun);

// For a DATA_RACE: ThreadSanitizer reports a pair of racing stacks once per
// process, so a re-run in the same process cannot report the race again.
// What can be checked is the run itself: the same trace (hash) both times.
DeterminismCheck CheckRaceRerun(const Finding& first, uint64_t first_trace_hash, uint64_t rerun_trace_hash);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_DETERMINISM_H_
