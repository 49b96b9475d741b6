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

// Calls `rerun` (which replays the same input with full tracing and returns
// its finding, or nullopt; a FindingException escaping it counts as its
// finding) and compares kind, step and thread with `first`.
DeterminismCheck CheckDeterminism(const Finding& first, const std::function<std::optional<Finding>()>& rerun);

// For a DATA_RACE: ThreadSanitizer reports a pair of racing stacks once per
// process, so a re-run in the same process cannot report the race again.
// What can be checked is the run itself: the same trace (hash) both times.
DeterminismCheck CheckRaceRerun(const Finding& first, uint64_t first_trace_hash, uint64_t rerun_trace_hash);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_DETERMINISM_H_
