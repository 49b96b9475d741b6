// minimize.h - `ftf minimize`: the smallest program that keeps a finding.
//
// Not a model of CPython: a tool for people reading a finding. It follows
// delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
// Failure-Inducing Input", TSE 2002; the ddmin complement loop that
// creduce and libFuzzer's -minimize_crash also use) but on the STRUCTURE of
// a program (program/program.h), not on its bytes: it removes whole logical
// threads, then chunks of operations and single operations, shrinks the
// schedule (fewer bytes, lower PCT depth, PCT turned into a direct schedule,
// longer run lengths, so fewer context switches), lowers operands (None
// before fresh before oN before rN, site/type/slot/name/register 0) and
// simplifies a custom world (the default world, fewer globals, empty slots).
//
// A candidate is kept iff its run gives the same finding kind at the same
// place (Finding::Location(): what the SUMMARY line prints) and it is no
// larger than the current program in every measure (threads, operations,
// context switches, encoded bytes) and strictly simpler overall, so the
// result is never larger than the input and the search terminates. Runs are
// deterministic (the fiber executor), so the result depends only on the
// input and the variant.
//
// Under AddressSanitizer a report kills the process, and ThreadSanitizer
// reports a race once per process, so under either every candidate runs in
// a forked child (which inherits no report of its siblings): its outcome is
// the Runner's finding (a TSan report becomes a DATA_RACE finding when the
// run ends, audit/sanitizer_report.h) or, when it died, the `SUMMARY:
// ftfuzz: <KIND> <location>` line of its stderr. DATA_RACE findings can
// therefore only be minimized with the tsan build.
//
// Thread-safety: Minimize() uses one Runner (one process-wide SchedHook); call
// it from one thread at a time.

#ifndef FTF_TOOLS_MINIMIZE_H_
#define FTF_TOOLS_MINIMIZE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/finding.h"
#include "core/variant.h"
#include "program/program.h"

namespace ftf::tools {

// What one run of a candidate showed.
struct CandidateOutcome {
  bool has_finding = false;
  audit::FindingKind kind = audit::FindingKind::kLeak;
  std::string location;  // Finding::Location()
  uint64_t context_switches = 0;
  // Forked runs only: the child died without a parsable SUMMARY line (or
  // timed out); such a candidate is never kept.
  bool crashed = false;
};

// Runs candidates under a variant, in this process or in a forked child.
class CandidateRunner {
 public:
  enum class Isolation : uint8_t {
    kAuto,       // fork under TSan/ASan builds, in-process otherwise
    kInProcess,
    kFork,
  };
  CandidateRunner(const core::Variant* variant, Isolation isolation);
  ~CandidateRunner();
  CandidateRunner(const CandidateRunner&) = delete;
  CandidateRunner& operator=(const CandidateRunner&) = delete;

  CandidateOutcome Run(const program::Program& p);
  // The threads that ran, as (first step, thread) segments, from one more run
  // of `p` (in-process runs only; empty when forking). Counts as a run.
  std::vector<std::pair<uint64_t, int>> Segments(const program::Program& p);
  int runs() const { return runs_; }
  bool forks() const { return fork_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const core::Variant* variant_;
  bool fork_ = false;
  int runs_ = 0;
};

struct ProgramSize {
  int threads = 0;
  int ops = 0;
  uint64_t context_switches = 0;
  size_t bytes = 0;  // program::Encode(p).size()
};
// "2 threads, 5 ops, 4 context switches, 38 bytes"
std::string FormatSize(const ProgramSize& s);

struct MinimizeOptions {
  const core::Variant* variant = nullptr;  // nullptr: locked
  // Candidate runs allowed (the result is the best found so far when it is
  // used up; MinimizeResult::budget_exhausted says so).
  int max_runs = 4000;
  CandidateRunner::Isolation isolation = CandidateRunner::Isolation::kAuto;
  // Optional: one line per kept candidate ("removed thread 2", ...).
  std::function<void(std::string_view)> progress;
};

struct MinimizeResult {
  bool has_finding = false;  // false: the input produced no finding
  audit::FindingKind kind = audit::FindingKind::kLeak;
  std::string location;
  program::Program minimized;
  ProgramSize before;
  ProgramSize after;
  int runs = 0;
  bool budget_exhausted = false;
};

MinimizeResult Minimize(const program::Program& p, const MinimizeOptions& options);

// `ftf minimize FILE [-o OUT] [--variant=V] [--max-runs=N]`. Exit status: 0
// minimized (OUT written), 1 the input gives no finding, 2 usage or input
// error (missing, empty or unparsable file).
int MinimizeCommand(int argc, char** argv);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_MINIMIZE_H_
