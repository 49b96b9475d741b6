// minimize.cc - `ftf minimize FILE [-o OUT] [--variant=V] [--max-runs=N]`.
//
// Loads a crash file, corpus file or text program like `repro`, runs it once
// to learn the finding (kind and SUMMARY location), minimizes it (the passes
// are in minimize_passes.cc), prints the sizes before and after and the
// minimized program, and writes its bytes to OUT (default FILE.min).

#include "tools/minimize.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "program/encoder.h"
#include "program/io.h"
#include "program/text.h"

namespace ftf::tools {
namespace {

int Usage() {
  std::fprintf(stderr, "usage: ftf minimize FILE [-o OUT] [--variant=NAME] [--max-runs=N]\n");
  return 2;
}

}  // namespace

int MinimizeCommand(int argc, char** argv) {
  std::string path;
  std::string out_path;
  std::string variant_name = "locked";
  long max_runs = MinimizeOptions().max_runs;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--variant=", 10) == 0) {
      variant_name = a + 10;
    } else if (std::strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ftf minimize: -o needs a file name\n");
        return 2;
      }
      out_path = argv[++i];
    } else if (std::strncmp(a, "--max-runs=", 11) == 0) {
      char* end = nullptr;
      max_runs = std::strtol(a + 11, &end, 10);
      if (end == a + 11 || *end != '\0' || max_runs < 1 || max_runs > 10'000'000) {
        std::fprintf(stderr, "ftf minimize: --max-runs needs a number from 1 to 10000000, not '%s'\n", a + 11);
        return 2;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      std::fprintf(stderr, "ftf minimize: unknown option '%s'\n", a);
      return Usage();
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "ftf minimize: one input file, please (got '%s' and '%s')\n", path.c_str(), a);
      return 2;
    }
  }
  if (path.empty()) return Usage();
  if (out_path.empty()) out_path = path + ".min";
  const core::Variant* variant = core::FindVariant(variant_name);
  if (variant == nullptr) {
    std::fprintf(stderr, "ftf minimize: unknown variant '%s' (./ftfuzz variants lists them)\n", variant_name.c_str());
    return 2;
  }
  absl::StatusOr<std::string> contents = program::ReadFileBytes(path);
  if (!contents.ok()) {
    std::fprintf(stderr, "ftf minimize: %s\n", std::string(contents.status().message()).c_str());
    return 2;
  }
  if (contents->empty()) {
    std::fprintf(stderr, "ftf minimize: %s is empty: nothing to minimize (an empty input is one thread with no "
                         "operations)\n", path.c_str());
    return 2;
  }
  absl::StatusOr<program::Program> loaded = program::LoadProgram(*contents);
  if (!loaded.ok()) {
    std::fprintf(stderr, "ftf minimize: %s: %s\n", path.c_str(), std::string(loaded.status().message()).c_str());
    return 2;
  }

  MinimizeOptions options;
  options.variant = variant;
  options.max_runs = static_cast<int>(max_runs);
  options.progress = [](std::string_view line) { std::printf("%.*s\n", static_cast<int>(line.size()), line.data()); };
  std::printf("minimizing %s (variant %s)\n", path.c_str(), variant->name.c_str());
  std::fflush(stdout);
  MinimizeResult r = Minimize(*loaded, options);
  if (!r.has_finding) {
    std::printf("no finding: %s runs clean on variant %s, so there is nothing to keep while minimizing\n",
                path.c_str(), variant->name.c_str());
    return 1;
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = program::Encode(r.minimized);
  if (!bytes.ok()) {
    std::fprintf(stderr, "ftf minimize: cannot encode the result: %s\n", std::string(bytes.status().message()).c_str());
    return 2;
  }
  absl::Status written = program::WriteFileBytes(out_path, *bytes);
  if (!written.ok()) {
    std::fprintf(stderr, "ftf minimize: %s\n", std::string(written.message()).c_str());
    return 2;
  }
  std::printf("finding: %s %s\n", audit::FindingKindName(r.kind), r.location.c_str());
  std::printf("before: %s\n", FormatSize(r.before).c_str());
  std::printf("after:  %s\n", FormatSize(r.after).c_str());
  std::printf("%d candidate runs%s\n", r.runs,
              r.budget_exhausted ? " (budget used up: the result may shrink further with a larger --max-runs)" : "");
  std::printf("== Minimized program ==\n%s", program::ToText(r.minimized).c_str());
  std::printf("wrote %s (%zu bytes); replay with: ./ftfuzz repro %s --variant=%s\n", out_path.c_str(),
              bytes->size(), out_path.c_str(), variant->name.c_str());
  return 0;
}

}  // namespace ftf::tools
