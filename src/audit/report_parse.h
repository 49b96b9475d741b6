// report_parse.h - reading findings back out of a log or a report.
//
// Not a model of CPython: the one parser of ftfuzz's report lines, used by
// `ftf classify` (and through it by every script), so that nothing else
// parses SUMMARY or SIGNATURE lines by hand. A log is anything a fuzz target,
// `ftf repro` or a test printed: libFuzzer and sanitizer output around zero or
// more ftfuzz reports.
//
// A finding is, in order of preference:
//   * an ftfuzz report: its `SUMMARY: ftfuzz: <KIND> ...` line and the
//     `SIGNATURE: ftfuzz: <KIND> <hash> <cause>` line right before it (a
//     report without one, from an older build, gets a signature made from
//     its SUMMARY site);
//   * a sanitizer report with no ftfuzz report after it (`SUMMARY:
//     ThreadSanitizer: ...`, AddressSanitizer, UndefinedBehaviorSanitizer):
//     DATA_RACE / ASAN / UBSAN; a TSan race's cause is named by the plain
//     access(es) of the first core frames of its two stacks (signature.h);
//   * libFuzzer's `SUMMARY: libFuzzer: timeout`: HANG.
// A sanitizer or libFuzzer SUMMARY that follows an ftfuzz report is the
// report's own abort being reported, not a second finding.

#ifndef FTF_AUDIT_REPORT_PARSE_H_
#define FTF_AUDIT_REPORT_PARSE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/finding.h"

namespace ftf::audit {

struct ParsedFinding {
  FindingKind kind = FindingKind::kLeak;
  std::string summary;    // the whole SUMMARY line
  std::string signature;  // 16 lowercase hex digits
  std::string cause;      // signature.h
};

// Every finding of `text`, in the order they appear.
std::vector<ParsedFinding> ParseReportLines(std::string_view text);
// The last one, or nullopt.
std::optional<ParsedFinding> LastFinding(std::string_view text);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_REPORT_PARSE_H_
