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
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "program/encoder.h"
#include "program/io.h"
#include "program/text.h"
#include "tools/args.h"
#include "tools/input.h"

namespace ftf::tools {
namespace {

int Usage(FILE* out = stderr) {
  std::fprintf(out, "usage: ftf minimize FILE [-o OUT] [--variant=NAME] [--max-runs=N]\n");
  return out == stderr ? 2 : 0;
}

}  // namespace

int MinimizeCommand(int argc, char** argv) {
  std::string path;
  std::string out_path;
  std::string variant_name = "locked";
  long max_runs = MinimizeOptions().max_runs;
  ArgParser args;
  args.String("variant", &variant_name)
      .String("output", &out_path, 'o')
      .Int("max-runs", 1, 10'000'000, &max_runs)
      .Positional(&path);
  if (absl::Status s = args.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "ftf minimize: %s\n", std::string(s.message()).c_str());
    return Usage();
  }
  if (args.help()) return Usage(stdout);
  if (path.empty()) return Usage();
  if (out_path.empty()) out_path = path + ".min";
  const core::Variant* variant = core::FindVariant(variant_name);
  if (variant == nullptr) {
    std::fprintf(stderr, "ftf minimize: unknown variant '%s' (./ftfuzz variants lists them)\n", variant_name.c_str());
    return 2;
  }
  std::optional<program::Program> loaded = LoadInputOrReport("ftf minimize", path, std::cerr);
  if (!loaded) return 2;
  // Minimizing can take minutes: an output that cannot be written is
  // reported before it starts.
  if (absl::Status w = CheckWritable(out_path); !w.ok()) {
    std::fprintf(stderr, "ftf minimize: %s\n", std::string(w.message()).c_str());
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
