// determinism.cc - the re-run comparison (see determinism.h).

#include "audit/determinism.h"

#include "absl/strings/str_format.h"

namespace ftf::audit {

DeterminismCheck CheckDeterminism(const Finding& first, uint64_t first_trace_hash,
                                  const std::function<Rerun()>& rerun) {
  DeterminismCheck c;
  std::optional<uint64_t> rerun_hash;
  try {
    Rerun r = rerun();
    c.rerun = std::move(r.finding);
    rerun_hash = r.trace_hash;
  } catch (const FindingException& e) {
    c.rerun = e.finding();
  }
  if (!c.rerun.has_value()) {
    c.deterministic = false;
    c.message = absl::StrFormat("NOT DETERMINISTIC: first run: %s; re-run with full tracing: no finding",
                                ShortDescription(first));
    return c;
  }
  const Finding& r = *c.rerun;
  if (!SameFinding(first, r)) {
    c.deterministic = false;
    c.message = absl::StrFormat("NOT DETERMINISTIC: first run: %s; re-run with full tracing: %s",
                                ShortDescription(first), ShortDescription(r));
    return c;
  }
  if (!rerun_hash.has_value() || *rerun_hash != first_trace_hash) {
    c.deterministic = false;
    c.message = absl::StrFormat(
        "NOT DETERMINISTIC: trace hash %016x, re-run with full tracing %s (same finding: %s)", first_trace_hash,
        rerun_hash.has_value() ? absl::StrFormat("%016x", *rerun_hash) : std::string("unknown"),
        ShortDescription(first));
    return c;
  }
  c.message = absl::StrFormat("re-run with full tracing: same finding (%s), same trace (hash %016x)",
                              ShortDescription(first), first_trace_hash);
  if (r.Location() != first.Location()) {
    absl::StrAppendFormat(&c.message, "; NOTE: location differs (%s vs %s)", first.Location(), r.Location());
  }
  return c;
}

DeterminismCheck CheckRaceRerun(const Finding& first, uint64_t first_trace_hash, uint64_t rerun_trace_hash) {
  DeterminismCheck c;
  c.rerun = first;
  if (first_trace_hash != rerun_trace_hash) {
    c.deterministic = false;
    c.message = absl::StrFormat("NOT DETERMINISTIC: trace hash %016x, re-run with full tracing %016x (%s)",
                                first_trace_hash, rerun_trace_hash, ShortDescription(first));
    return c;
  }
  c.message = absl::StrFormat(
      "re-run with full tracing: same trace (hash %016x); TSan reports a race once per process, so the re-run "
      "does not report it again (%s)",
      first_trace_hash, ShortDescription(first));
  return c;
}

}  // namespace ftf::audit
