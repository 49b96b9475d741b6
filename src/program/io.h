// io.h - reading program files: binary inputs and text programs alike.
//
// Tools (decode, encode, repro, minimize, export) accept a libFuzzer crash
// file, a corpus file or a text program. LoadProgram() tells them apart with
// LooksLikeText() (text.h): text is parsed (and may fail with a line
// number), anything else is decoded (never fails).

#ifndef FTF_PROGRAM_IO_H_
#define FTF_PROGRAM_IO_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "program/program.h"

namespace ftf::program {

// The whole file. NotFound / PermissionDenied / FailedPrecondition (a
// directory, a read error) with the path and the reason in the message.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// Writes (truncates) the file; the error names the path and the reason.
absl::Status WriteFileBytes(const std::string& path, std::span<const uint8_t> bytes);

// Text program -> ParseText, anything else -> Decode.
absl::StatusOr<Program> LoadProgram(std::string_view contents, const Limits& limits = Limits());

// ReadFileBytes then LoadProgram; parse errors are prefixed with the path.
absl::StatusOr<Program> LoadProgramFile(const std::string& path, const Limits& limits = Limits());

}  // namespace ftf::program

#endif  // FTF_PROGRAM_IO_H_
