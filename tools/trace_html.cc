// trace_html.cc - placeholder until the subcommand lands.
#include "tools/trace_html.h"

#include <cstdio>

namespace ftf::tools {
int TraceCommand(int, char**) {
  std::fprintf(stderr, "ftf: this command is not built yet\n");
  return 2;
}
}  // namespace ftf::tools
