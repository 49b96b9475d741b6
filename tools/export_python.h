// export_python.h - the `export` subcommand of the ftf tool (see export_python.cc).
#ifndef FTF_TOOLS_EXPORT_PYTHON_H_
#define FTF_TOOLS_EXPORT_PYTHON_H_
namespace ftf::tools {
int ExportCommand(int argc, char** argv);
}  // namespace ftf::tools
#endif  // FTF_TOOLS_EXPORT_PYTHON_H_
