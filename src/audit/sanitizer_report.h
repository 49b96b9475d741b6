// sanitizer_report.h - DATA_RACE / ASAN / UBSAN: the sanitizers' reports in
// ftfuzz's format.
//
// Not a model of CPython: harness glue. AddressSanitizer and
// UndefinedBehaviorSanitizer print their own reports and kill the process
// (halt_on_error, fuzzers/sanitizer_defaults.cc). ftfuzz adds, right after
// the sanitizer's own `SUMMARY: <Tool>: <bug> <file:line> in <fn>` line, the
// program being run, the schedule and last steps of the active fiber run,
// the "Reproduce with" command and a `SUMMARY: ftfuzz: <KIND> <location>`
// line, so every crash file has the same shape. ThreadSanitizer's reports
// become the same ftfuzz report by another path (below).
//
// The sanitizers are the checkers of the invariants no auditor can see:
// INV-DICT-1 (core/dict.h; a dict mutated without its lock races with the
// plain reads under it: DATA_RACE) and INV-DICT-2 / INV-QSBR-1 for raw blocks
// (keys freed before their QSBR goal: heap-use-after-free, or a race).
//
// Mechanism: the sanitizer runtimes print their SUMMARY line through the weak
// hook __sanitizer_report_error_summary, which this library overrides in
// sanitizer builds. (The death callback, __sanitizer_set_death_callback, is
// NOT used: it has a single slot, which libFuzzer uses to save the crashing
// input.) The override is linked in whenever the program calls
// SetCrashContext, as the runner does before each input.
//
// ThreadSanitizer is different: its hook runs while TSan holds its slot
// mutex, and any TSan event there (a call into instrumented code records a
// function entry) can need a new trace part, whose allocation takes that
// mutex again: the process hangs instead of reporting (seen in CI, a few
// percent of races, depending on where in its trace part a thread is). So
// under TSan the hook only prints the line and records it with the running
// thread's last scheduling point, all without a sanitizer event
// (FTF_NO_SANITIZER_EVENTS), and TSan runs with halt_on_error=0: the run
// goes on, and the Runner turns the recorded report into the DATA_RACE
// finding when the run ends (TakePendingSanitizerFinding); the fuzz target
// then reports it like any finding, outside TSan.
//
// Thread-safety: SetCrashContext is set-up only (no logical thread running);
// the ASan/UBSan hook runs on the reporting thread while the process dies;
// the TSan hook records the first report of a run (one OS thread runs the
// fibers; real-thread replays take the report after joining their threads).

#ifndef FTF_AUDIT_SANITIZER_REPORT_H_
#define FTF_AUDIT_SANITIZER_REPORT_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "audit/finding.h"

namespace ftf::audit {

// What the hook prints besides the sanitizer's report.
struct CrashContext {
  // Renders the decoded program's text (called only when a report happens).
  std::function<std::string()> program_text;
  std::string input_path;
  std::string variant = "locked";
};

// Installs `ctx` (borrowed; nullptr removes it) for the sanitizer hook.
void SetCrashContext(const CrashContext* ctx);
const CrashContext* CurrentCrashContext();

// A sanitizer SUMMARY line, parsed:
//   "SUMMARY: ThreadSanitizer: data race /src/core/member.cc:88:5 in F"
struct SanitizerSummary {
  FindingKind kind = FindingKind::kAsan;  // DATA_RACE (TSan), ASAN (ASan, LSan), UBSAN
  std::string tool;                       // "ThreadSanitizer"
  std::string bug;                        // "data race"
  std::string site;                       // "core/member.cc:88" (last two path components, no column)
  std::string function;                   // "F" (may be empty)
};
std::optional<SanitizerSummary> ParseSanitizerSummary(std::string_view line);

// The finding for a sanitizer report, completed from the active fiber run
// (step, thread, operation from the step note), if any. When the
// sanitizer's frame is the Cell wrapper (core/atomics.h), the site is the
// running thread's last scheduling point instead: the core line of the access.
Finding FindingFromSanitizer(const SanitizerSummary& s);

// The ftfuzz part printed after the sanitizer's SUMMARY line: the finding
// report (report.h) built from the current CrashContext and the active run.
std::string SanitizerFindingReport(std::string_view summary_line);

// The finding for the first sanitizer report recorded by the TSan hook since
// the last call (nullopt if none), with the step, thread, operation and core
// site of the logical thread that was running; clears the record.
std::optional<Finding> TakePendingSanitizerFinding();

}  // namespace ftf::audit

#endif  // FTF_AUDIT_SANITIZER_REPORT_H_
