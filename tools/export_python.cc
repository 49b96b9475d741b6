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
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "program/io.h"
#include "tools/args.h"
#include "tools/input.h"

namespace ftf::tools {
namespace {

int Usage(FILE* out = stderr) {
  std::fprintf(out,
               "usage: ftf export FILE --python -o OUT.py [--loops=N] [--variant=NAME] "
               "[--order=commit|completion]\n"
               "  writes the program as a Python script; `python3 OUT.py --serial` checks the model's\n"
               "  results on this Python, `python3 OUT.py` runs it threaded (docs/export.md)\n");
  return out == stderr ? 2 : 0;
}

}  // namespace

int ExportCommand(int argc, char** argv) {
  std::string path;
  std::string out_path;
  bool python = false;
  ExportOptions options;
  std::string variant_name = "locked";
  std::string order = "commit";
  ArgParser args;
  args.Flag("python", &python)
      .String("output", &out_path, 'o')
      .Int("loops", 1, 100000000, &options.loops)
      .String("variant", &variant_name)
      .Value("order", 0,
             [&order](std::string_view v) {
               if (v != "commit" && v != "completion") return absl::InvalidArgumentError("is commit or completion");
               order = std::string(v);
               return absl::OkStatus();
             })
      .Positional(&path);
  if (absl::Status s = args.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "ftf export: %s\n", std::string(s.message()).c_str());
    return Usage();
  }
  if (args.help()) return Usage(stdout);
  options.order = order == "commit" ? ExportOrder::kCommit : ExportOrder::kCompletion;
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
  if (out_path != "-") {
    if (absl::Status w = CheckWritable(out_path); !w.ok()) {
      std::fprintf(stderr, "ftf export: %s\n", std::string(w.message()).c_str());
      return 2;
    }
  }
  std::optional<program::Program> loaded = LoadInputOrReport("ftf export", path, std::cerr);
  if (!loaded) return 2;
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
