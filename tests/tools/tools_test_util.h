// tools_test_util.h - helpers for the tests of tools/: the source tree, the
// ftf binary, temporary directories and running a command.

#ifndef FTF_TESTS_TOOLS_TOOLS_TEST_UTIL_H_
#define FTF_TESTS_TOOLS_TOOLS_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../runner/runner_test_util.h"

namespace ftf::tools::testing {

// The source tree and the sanitizer flag, as the runner tests define them.
using runner::testing::kUnderTsan;
using runner::testing::SourceDir;

inline std::string CorpusPath(const std::string& relative) { return (SourceDir() / "corpus" / relative).string(); }

inline std::string ToolBinary() {
#if defined(FTF_TOOL_BINARY)
  return FTF_TOOL_BINARY;
#else
  return "ftf";
#endif
}

// A fresh directory under $TMPDIR (removed by the caller if it wants).
inline std::filesystem::path MakeTempDir(const std::string& tag) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("ftf-" + tag + "-XXXXXX")).string();
  char* made = mkdtemp(pattern.data());
  return made != nullptr ? std::filesystem::path(made) : std::filesystem::path();
}

inline std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteAll(const std::filesystem::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

// The free-threaded CPython 3.13.5 that `./ftfuzz cpython` builds (cached in
// ~/.cache/ftfuzz/cpython/), or "" when it is not built or FTF_SOURCE_DIR is
// not set. `./ftfuzz test` builds it first and sets FTF_REQUIRE_CPYTHON=1.
inline std::string FreeThreadedPython() {
  const char* src = std::getenv("FTF_SOURCE_DIR");
  if (src == nullptr) return "";
  const std::string cmd = std::string("bash ") + src + "/tools/cpython/cpython.sh path 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "";
  char buf[4096] = {0};
  std::string dir = std::fgets(buf, sizeof(buf), pipe) != nullptr ? buf : "";
  const int status = pclose(pipe);
  while (!dir.empty() && dir.back() == '\n') dir.pop_back();
  if (status != 0 || dir.empty() || !std::filesystem::exists(std::filesystem::path(dir) / "python")) return "";
  return (std::filesystem::path(dir) / "python").string();
}

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or not run
  std::string output;  // stdout and stderr
};

// Runs `command` through the shell with stdout and stderr captured, under
// `timeout` (coreutils) so that a hang fails the test instead of blocking it.
inline CommandResult RunCommand(const std::string& command, int timeout_s = 300) {
  CommandResult r;
  const std::filesystem::path dir = MakeTempDir("cmd");
  const std::filesystem::path out = dir / "out.txt";
  const std::string full =
      "timeout -k 5 " + std::to_string(timeout_s) + " " + command + " > '" + out.string() + "' 2>&1";
  const int status = std::system(full.c_str());
  r.output = ReadAll(out);
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace ftf::tools::testing

#endif  // FTF_TESTS_TOOLS_TOOLS_TEST_UTIL_H_
