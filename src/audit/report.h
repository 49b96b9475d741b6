// report.h - the one report format of ftfuzz.
//
// Not a model of CPython: the harness's output (style.md rule 7, after
// libFuzzer's `==PID== ERROR: libFuzzer: <kind>` ... `SUMMARY: libFuzzer:
// <kind>` grammar and fuzztest's "regression test draft"). Every finding,
// whoever found it, is printed as:
//
//   ==FTF== ERROR: <auditor>: <KIND> obj#<id> at <location>
//     <message>
//     on T<thread> at step <step>
//     <details>
//   == Program ==               the decoded program in its text form
//   == Schedule ==              the context switches, T<thread>@<step>
//   == Last steps ==            step, thread, operation, access, file:line,
//                               object, refcount before->after
//   == History of obj#<id> ==   per object involved (ledger.h)
//   == Determinism ==           the re-run check (determinism.h)
//   Reproduce with: ./ftfuzz repro <input> --variant=<name>
//   == Regression test draft == a TEST() to paste into tests/
//   SUMMARY: ftfuzz: <KIND> <location>
//
// <location> is Finding::Location(): a core file:line and an operation
// mnemonic, never an address, a step number or a PID, so SUMMARY lines
// deduplicate across runs and machines. Sections whose data is missing are
// left out. The text depends only on the input (no addresses anywhere), so
// two runs of the same input print the same report.

#ifndef FTF_AUDIT_REPORT_H_
#define FTF_AUDIT_REPORT_H_

#include <cstddef>
#include <string>

#include "audit/determinism.h"
#include "audit/finding.h"

namespace ftf::program {
struct Program;
}
namespace ftf::sched {
class Trace;
}

namespace ftf::audit {

class RefLedger;

struct ReportContext {
  // The decoded program; or, if null, `program_text` (already rendered).
  const program::Program* program = nullptr;
  std::string program_text;
  // For "Reproduce with": the input file (a crash-... file, corpus file or
  // text program) and the variant (core/variant.h).
  std::string input_path;
  std::string variant = "locked";
  // The failing run's trace (or the full-tracing re-run's), for the schedule
  // and the last steps. Optional.
  const sched::Trace* trace = nullptr;
  // Histories and per-step refcounts. Optional.
  const RefLedger* ledger = nullptr;
  // The re-run check. Optional.
  const DeterminismCheck* determinism = nullptr;
  size_t max_trace_steps = 48;
  size_t max_histories = 4;
};

// "==FTF== ERROR: ledger: DOUBLE_FREE obj#7 at core/object.cc:108 in MEMBER_SET"
std::string HeaderLine(const Finding& f);
// "SUMMARY: ftfuzz: DOUBLE_FREE core/object.cc:108 in MEMBER_SET"
std::string SummaryLine(const Finding& f);
// "./ftfuzz repro <input> --variant=<name>"
std::string ReproduceCommand(const ReportContext& ctx);
// A TEST() that replays the program and expects the finding.
std::string RegressionTestDraft(const Finding& f, const ReportContext& ctx);
// The whole report, ending with the SUMMARY line and a newline.
std::string BuildReport(const Finding& f, const ReportContext& ctx);

// Prints BuildReport to stderr and calls abort(), so that libFuzzer saves
// the input as crash-<sha1> (its deadly-signal handler).
[[noreturn]] void ReportAndAbort(const Finding& f, const ReportContext& ctx);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_REPORT_H_
