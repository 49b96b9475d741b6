// classify.h - `ftf classify FILE|-`: the finding in a log or report.
//
// Reads a fuzz target's log, an `ftf repro` report or any text that contains
// ftfuzz reports (FILE, or standard input for "-"), and prints one JSON
// object for the last finding in it (audit/report_parse.h):
//
//   {"kind":"WRONG_VALUE","summary":"SUMMARY: ftfuzz: WRONG_VALUE ...",
//    "signature":"0123456789abcdef","cause":"stale-load core/... missed-write core/..."}
//
// Exit status: 0 a finding, 1 none ("no finding" on stderr), 2 usage error
// or unreadable file. Scripts use it instead of parsing report lines.

#ifndef FTF_TOOLS_CLASSIFY_H_
#define FTF_TOOLS_CLASSIFY_H_

#include <string>

#include "audit/report_parse.h"

namespace ftf::tools {

// The JSON object for one finding (one line, no newline).
std::string FindingJson(const audit::ParsedFinding& f);

int ClassifyCommand(int argc, char** argv);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_CLASSIFY_H_
