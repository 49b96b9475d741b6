// export_python.cc - placeholder until the subcommand lands.
#include "tools/export_python.h"

#include <cstdio>

namespace ftf::tools {
int ExportCommand(int, char**) {
  std::fprintf(stderr, "ftf: this command is not built yet\n");
  return 2;
}
}  // namespace ftf::tools
