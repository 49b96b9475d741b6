// export_python.cc - `ftf export FILE --python -o OUT.py`: the command (see
// export_python.h; the script is written by export_python_emit.cc).
//
// FILE is a libFuzzer crash file, a corpus file or a text program
// (program::LoadProgramFile). The program is run once on the model (variant
// `locked` unless --variant says otherwise) and the script records what that
// run computed. Exit status: 0 written, 2 usage or input error.

#include "tools/export_python.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "program/io.h"

namespace ftf::tools {
namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: ftf export FILE --python -o OUT.py [--loops=N] [--variant=NAME] "
               "[--order=commit|completion]\n"
               "  writes the program as a Python script; `python3 OUT.py --serial` checks the model's\n"
               "  results on this Python, `python3 OUT.py` runs it threaded (docs/export.md)\n");
  return 2;
}

}  // namespace

int ExportCommand(int argc, char** argv) {
  std::string path;
  std::string out_path;
  bool python = false;
  ExportOptions options;
  std::string variant_name = "locked";
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strcmp(a, "--python") == 0) {
      python = true;
    } else if (std::strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ftf export: -o needs a file name\n");
        return Usage();
      }
      out_path = argv[++i];
    } else if (std::strncmp(a, "--loops=", 8) == 0) {
      char* end = nullptr;
      const long n = std::strtol(a + 8, &end, 10);
      if (end == a + 8 || *end != '\0' || n < 1 || n > 100000000) {
        std::fprintf(stderr, "ftf export: --loops needs a number from 1 to 100000000, not '%s'\n", a + 8);
        return 2;
      }
      options.loops = static_cast<int>(n);
    } else if (std::strncmp(a, "--variant=", 10) == 0) {
      variant_name = a + 10;
    } else if (std::strcmp(a, "--order=commit") == 0) {
      options.order = ExportOrder::kCommit;
    } else if (std::strcmp(a, "--order=completion") == 0) {
      options.order = ExportOrder::kCompletion;
    } else if (a[0] == '-' && a[1] != '\0') {
      std::fprintf(stderr, "ftf export: unknown option '%s'\n", a);
      return Usage();
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "ftf export: one input file, please (got '%s' and '%s')\n", path.c_str(), a);
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "ftf export: no input file\n");
    return Usage();
  }
  if (!python) {
    std::fprintf(stderr, "ftf export: say which format: --python (the only one so far)\n");
    return Usage();
  }
  if (out_path.empty()) {
    std::fprintf(stderr, "ftf export: no output file: -o OUT.py (or -o - for standard output)\n");
    return Usage();
  }
  options.variant = core::FindVariant(variant_name);
  if (options.variant == nullptr) {
    std::fprintf(stderr, "ftf export: unknown variant '%s' (./ftfuzz variants lists them)\n", variant_name.c_str());
    return 2;
  }
  absl::StatusOr<std::string> bytes = program::ReadFileBytes(path);
  if (!bytes.ok()) {
    std::fprintf(stderr, "ftf export: %s\n", std::string(bytes.status().message()).c_str());
    return 2;
  }
  if (bytes->empty()) {
    // The empty input decodes (to one thread with no operations), but as a
    // file to export it is almost certainly a mistake: say so.
    std::fprintf(stderr, "ftf export: %s is empty: nothing to export\n", path.c_str());
    return 2;
  }
  absl::StatusOr<program::Program> loaded = program::LoadProgram(*bytes);
  if (!loaded.ok()) {
    std::fprintf(stderr, "ftf export: %s: %s\n", path.c_str(), std::string(loaded.status().message()).c_str());
    return 2;
  }
  options.source = path;
  ModelRunner runner;
  const std::string script = ExportPython(*loaded, options, runner);
  if (out_path == "-") {
    std::fwrite(script.data(), 1, script.size(), stdout);
    return 0;
  }
  absl::Status st = program::WriteFileBytes(
      out_path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(script.data()), script.size()));
  if (!st.ok()) {
    std::fprintf(stderr, "ftf export: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  std::fprintf(stderr, "ftf export: wrote %s (python3 %s --serial checks it against the model)\n", out_path.c_str(),
               out_path.c_str());
  return 0;
}

}  // namespace ftf::tools
