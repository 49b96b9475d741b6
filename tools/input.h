// input.h - what every ftf subcommand does with its FILE argument and its
// output path, so that the tools agree on the rules:
//
// - FILE is a libFuzzer crash file, a corpus file or a text program
//   (program::LoadProgramFile). An error is one line, "PREFIX: MESSAGE",
//   where the message names the file once (and the line, for text).
// - An empty file is accepted everywhere: every byte string is an input,
//   the empty one included (one thread with no operations), and libFuzzer
//   runs and may save it. Since an empty file is more often a mistake than
//   an intended input, each tool says so in a note on stderr.
// - An output path is checked before any work starts, so a long run never
//   ends in "cannot create OUT".

#ifndef FTF_TOOLS_INPUT_H_
#define FTF_TOOLS_INPUT_H_

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "program/program.h"

namespace ftf::tools {

// The note printed for an empty FILE.
std::string EmptyInputNote(std::string_view prefix, const std::string& path);

// Loads FILE; on error writes "PREFIX: MESSAGE" to `err` and returns
// nullopt. An empty file gives the empty program and EmptyInputNote on `err`.
std::optional<program::Program> LoadInputOrReport(std::string_view prefix, const std::string& path,
                                                  std::ostream& err);

// Ok if `path` can be created or overwritten; leaves no file behind that was
// not there before. The error names the path and the reason.
absl::Status CheckWritable(const std::string& path);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_INPUT_H_
