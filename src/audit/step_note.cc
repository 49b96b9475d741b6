// step_note.cc - decoding step notes for reports (see step_note.h).

#include "audit/step_note.h"

#include "absl/strings/str_format.h"

namespace ftf::audit {

const char* StepNoteMnemonic(const StepNote& n) {
  if (!n.valid || static_cast<int>(n.code) >= program::kNumOpCodes) return "";
  return program::GetOpInfo(n.code).mnemonic;
}

std::string FormatStepNote(const StepNote& n) {
  if (!n.valid) return "-";
  const char* m = StepNoteMnemonic(n);
  return absl::StrFormat("op#%d %s", n.op_index, *m != '\0' ? m : "?");
}

}  // namespace ftf::audit
