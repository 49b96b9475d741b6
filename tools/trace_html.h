// trace_html.h - `ftf trace FILE --html OUT.html`: one run as a web page.
//
// Not a model of CPython: a viewer for the fiber executor's full trace
// (sched/trace.h) and the refcount ledger's history (audit/ledger.h) of one
// deterministic run. The page is ONE self-contained HTML file (inline CSS and
// JavaScript, no network access, no external fonts) with
//   - the finding's header line, message and SUMMARY line on top (or "no
//     finding"), the variant and the run's numbers;
//   - the program in its text form;
//   - swimlanes: one column per logical thread, one row per step, each cell
//     the operation (op index and mnemonic), the event and memory order, the
//     scheduling point file:line, the object and its refcount before->after;
//     rows where the running thread changes are marked as context switches;
//   - one inline SVG line chart per object (true refcount over steps);
//   - the step where the finding was detected highlighted, scrolled into view
//     by the script once the page has loaded.
// Every text taken from the program, the trace or the finding is
// HTML-escaped. Very long runs (a LIVELOCK's 100000 steps) keep their first
// and last steps and say how many were left out.
//
// Thread-safety: plain functions; TraceCommand uses one Runner.

#ifndef FTF_TOOLS_TRACE_HTML_H_
#define FTF_TOOLS_TRACE_HTML_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/finding.h"
#include "audit/ledger.h"
#include "sched/trace.h"

namespace ftf::tools {

// Everything the page shows, gathered from one run.
struct TracePage {
  std::string title;         // e.g. the input path
  std::string variant;
  std::string program_text;  // program::ToText
  int num_threads = 1;
  std::optional<audit::Finding> finding;
  std::vector<sched::TraceStep> steps;  // full trace, oldest first
  uint64_t total_steps = 0;
  uint64_t context_switches = 0;
  std::vector<audit::LedgerEvent> events;  // the ledger's history (may be empty)
  // Rows kept when the run is longer: the first `head_rows` and the last
  // `tail_rows` steps.
  size_t head_rows = 1000;
  size_t tail_rows = 2000;
};

// &, <, >, " and ' as entities.
std::string HtmlEscape(std::string_view text);

// The whole page.
std::string BuildTraceHtml(const TracePage& page);

// `ftf trace FILE --html OUT.html [--variant=V]`. Exit status: 0 page written
// (whether or not the run found something), 2 usage, input or write error.
int TraceCommand(int argc, char** argv);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_TRACE_HTML_H_
