// minimize.h - the `minimize` subcommand of the ftf tool (see minimize.cc).
#ifndef FTF_TOOLS_MINIMIZE_H_
#define FTF_TOOLS_MINIMIZE_H_
namespace ftf::tools {
int MinimizeCommand(int argc, char** argv);
}  // namespace ftf::tools
#endif  // FTF_TOOLS_MINIMIZE_H_
