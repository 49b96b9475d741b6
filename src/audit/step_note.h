// step_note.h - what the interpreter tells the trace about each step.
//
// Not a model of CPython: harness plumbing. The fiber executor attaches a
// caller-chosen 64-bit note to every step of a thread (FiberExecutor::SetNote,
// sched/trace.h); reports decode it to say which operation of the program a
// scheduling point belongs to. The runner sets the note once per operation:
//
//   executor.SetNote(audit::PackStepNote(op_index, op.code, object_id));
//
// Bit layout (note 0 = "no operation"):
//   bit 63       1 (marks a packed note)
//   bits 62..48  operation index within its thread (15 bits, saturating)
//   bits 47..40  program::OpCode (8 bits)
//   bits 39..0   id of the object the operation acts on (40 bits; 0 = none)

#ifndef FTF_AUDIT_STEP_NOTE_H_
#define FTF_AUDIT_STEP_NOTE_H_

#include <cstdint>
#include <string>

#include "program/op.h"

namespace ftf::audit {

struct StepNote {
  bool valid = false;
  int op_index = -1;
  program::OpCode code = program::OpCode::kYield;
  uint64_t object_id = 0;
};

inline constexpr uint64_t kStepNoteMarker = uint64_t{1} << 63;
inline constexpr int kStepNoteMaxOpIndex = (1 << 15) - 1;
inline constexpr uint64_t kStepNoteIdMask = (uint64_t{1} << 40) - 1;

constexpr uint64_t PackStepNote(int op_index, program::OpCode code, uint64_t object_id) {
  const uint64_t idx = op_index < 0 ? 0 : (op_index > kStepNoteMaxOpIndex ? kStepNoteMaxOpIndex : op_index);
  return kStepNoteMarker | (idx << 48) | (uint64_t{static_cast<uint8_t>(code)} << 40) | (object_id & kStepNoteIdMask);
}

constexpr StepNote UnpackStepNote(uint64_t note) {
  StepNote n;
  if ((note & kStepNoteMarker) == 0) return n;
  n.valid = true;
  n.op_index = static_cast<int>((note >> 48) & kStepNoteMaxOpIndex);
  n.code = static_cast<program::OpCode>((note >> 40) & 0xFF);
  n.object_id = note & kStepNoteIdMask;
  return n;
}

// The mnemonic of the note's operation ("STORE_ATTR_SLOT"), or "" for no
// note / an opcode out of range.
const char* StepNoteMnemonic(const StepNote& n);
// "op#3 STORE_ATTR_SLOT" or "-".
std::string FormatStepNote(const StepNote& n);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_STEP_NOTE_H_
