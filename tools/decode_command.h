// decode_command.h - the `decode` and `encode` subcommands of the ftf binary.
//
//   decode FILE [-o OUT]     print the text form of FILE (a binary input, or
//                            a text program: then its normalised form)
//   encode FILE.txt -o OUT   write the bytes of a text program
//
// argv[0] is the subcommand's own name ("decode" / "encode"), argv[1..] its
// arguments. Exit status: 0 on success, 2 on any error (usage, unreadable
// or unwritable file, parse error), with a one-line message on stderr that
// names the file (and the line, for parse errors). Never crashes on bad
// input. Both decode and encode use the default Limits, like the fuzz
// targets.

#ifndef FTF_TOOLS_DECODE_COMMAND_H_
#define FTF_TOOLS_DECODE_COMMAND_H_

#include <ostream>

namespace ftf::tools {

inline constexpr int kCliOk = 0;
inline constexpr int kCliError = 2;

int DecodeCommand(int argc, char** argv);
int EncodeCommand(int argc, char** argv);

// The same with explicit streams (tests).
int DecodeCommand(int argc, char** argv, std::ostream& out, std::ostream& err);
int EncodeCommand(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_DECODE_COMMAND_H_
