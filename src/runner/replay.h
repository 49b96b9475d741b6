// replay.h - replay a text program under a variant and say what it finds.
//
// Harness glue for tests: the API the regression-test draft of every report
// calls (audit/report.h). It runs the program as `ftf repro` does (full
// trace; while a run finds nothing, up to three more runs, because the first
// runs of a process can hide a race from TSan) and returns the finding's
// kind and root-cause signature (audit/signature.h).

#ifndef FTF_RUNNER_REPLAY_H_
#define FTF_RUNNER_REPLAY_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/finding_kind.h"

namespace ftf::runner {

struct Replayed {
  std::optional<core::FindingKind> kind;  // nullopt: the run was clean
  std::string signature;                  // 16 hex digits; empty when clean
  std::string cause;                      // the signature's root cause
  // Why nothing was run: the text does not parse, or the variant is unknown.
  std::string error;
};

Replayed ReplayText(std::string_view program_text, std::string_view variant);

}  // namespace ftf::runner

#endif  // FTF_RUNNER_REPLAY_H_
