// minimize.cc - placeholder until the subcommand lands.
#include "tools/minimize.h"

#include <cstdio>

namespace ftf::tools {
int MinimizeCommand(int, char**) {
  std::fprintf(stderr, "ftf: this command is not built yet\n");
  return 2;
}
}  // namespace ftf::tools
