// report.h - the one report format of ftfuzz.
//
// Not a model of CPython: the harness's output (after
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
//   SIGNATURE: ftfuzz: <KIND> <hash> <cause>   the root cause (signature.h)
//   SUMMARY: ftfuzz: <KIND> <location>
//
// The header's second line after the message is "root cause: <cause>
// (signature <hash>)". The SIGNATURE line is the deduplication key (one bug,
// one signature); the SUMMARY line is where the finding was noticed, in the
// form ClusterFuzz expects.
//
// <location> is Finding::Location(): a core file:line and an operation
// mnemonic, never an address, a step number or a PID, so SUMMARY lines
// deduplicate across runs and machines. Sections whose data is missing are
// left out. The text depends only on the input (no addresses anywhere), so
// two runs of the same input print the same report.
//
// ReportAndAbort adds two lines for ClusterFuzz, whose stack analyzer skips
// SUMMARY lines and would otherwise take every ftfuzz finding's crash state
// from the same abort frames (ReportAndAbort, FuzzOneInput), merging all
// findings into one testcase (CrashStateLines).

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
// A TEST() that replays the program (runner::ReplayText, runner/replay.h)
// and expects the finding's kind and signature.
std::string RegressionTestDraft(const Finding& f, const ReportContext& ctx);
// The whole report, ending with the SUMMARY line and a newline.
std::string BuildReport(const Finding& f, const ReportContext& ctx);

// The lines printed after the report, before abort():
//   [ftfuzz:FATAL:refcount.cc(118)] Check failed: USE_AFTER_FREE core/refcount.cc:118 in STORE_ATTR_SLOT
//   ftfuzz: the abort below only ends the run: ... previously allocated by ...
// The first is in the format of a Chromium CHECK failure, which ClusterFuzz
// parses into crash type "CHECK failure" (not a security bug) and a crash
// state starting with the message, i.e. the SUMMARY location; the file and
// line in brackets are the finding's first core site. The second contains
// one of ClusterFuzz's stop markers ("previously allocated by"), so no frame
// of the abort path joins the state: findings that share those frames would
// otherwise be grouped as similar crashes. No ';' in the message (the parser
// stops there).
std::string CrashStateLines(const Finding& f);

// Prints BuildReport and CrashStateLines to stderr and calls abort(), so
// that libFuzzer saves the input as crash-<sha1> (its deadly-signal
// handler). A sanitizer that handles the abort (handle_abort=1, as on
// OSS-Fuzz) prints its own report; the ftfuzz tail is not printed again.
[[noreturn]] void ReportAndAbort(const Finding& f, const ReportContext& ctx);

// True once ReportAndAbort has printed a report in this process.
bool FtfuzzReportPrinted();

}  // namespace ftf::audit

#endif  // FTF_AUDIT_REPORT_H_
