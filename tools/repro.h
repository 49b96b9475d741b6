// repro.h - the `repro` subcommand of the ftf tool (see repro.cc).
#ifndef FTF_TOOLS_REPRO_H_
#define FTF_TOOLS_REPRO_H_
namespace ftf::tools {
int ReproCommand(int argc, char** argv);
}  // namespace ftf::tools
#endif  // FTF_TOOLS_REPRO_H_
