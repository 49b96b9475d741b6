// repro.cc - `ftf repro FILE [--variant=V] [--runs=N]`: replay one input.
//
// Accepts a libFuzzer crash file, a corpus file, or a text program. Prints
// the program, replays it deterministically with full tracing, prints the
// finding report (or "no finding"), and with --runs=N checks that N replays
// give the same trace hash and the same finding. Exit status: 0 no finding,
// 1 finding, 2 usage or input error.

#include "tools/repro.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "audit/determinism.h"
#include "audit/report.h"
#include "core/variant.h"
#include "program/io.h"
#include "program/text.h"
#include "runner/runner.h"

namespace ftf::tools {
namespace {

int Usage() {
  std::fprintf(stderr, "usage: ftf repro FILE [--variant=NAME] [--runs=N]\n");
  return 2;
}

}  // namespace

int ReproCommand(int argc, char** argv) {
  std::string path;
  std::string variant_name = "locked";
  long runs = 1;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--variant=", 10) == 0) {
      variant_name = a + 10;
    } else if (std::strncmp(a, "--runs=", 7) == 0) {
      char* end = nullptr;
      runs = std::strtol(a + 7, &end, 10);
      if (end == a + 7 || *end != '\0' || runs < 1 || runs > 1000000) {
        std::fprintf(stderr, "ftf repro: --runs needs a number from 1 to 1000000, not '%s'\n", a + 7);
        return 2;
      }
    } else if (a[0] == '-') {
      std::fprintf(stderr, "ftf repro: unknown option '%s'\n", a);
      return Usage();
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "ftf repro: one input file, please (got '%s' and '%s')\n", path.c_str(), a);
      return 2;
    }
  }
  if (path.empty()) return Usage();
  const core::Variant* variant = core::FindVariant(variant_name);
  if (variant == nullptr) {
    std::fprintf(stderr, "ftf repro: unknown variant '%s' (./ftfuzz variants lists them)\n", variant_name.c_str());
    return 2;
  }
  absl::StatusOr<program::Program> loaded = program::LoadProgramFile(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "ftf repro: %s: %s\n", path.c_str(), std::string(loaded.status().message()).c_str());
    return 2;
  }
  const program::Program& p = *loaded;
  std::printf("%s\n", program::ToText(p).c_str());

  runner::Runner r;
  runner::RunnerOptions opts;
  opts.variant = variant;
  opts.exec.full_trace = true;
  runner::RunOutcome first = r.Run(p, opts);
  const uint64_t hash = first.exec.trace_hash;
  long same = 1;
  for (long i = 1; i < runs; ++i) {
    runner::RunOutcome again = r.Run(p, opts);
    bool ok = again.exec.trace_hash == hash && again.finding.has_value() == first.finding.has_value() &&
              (!first.finding || audit::SameFinding(*first.finding, *again.finding));
    if (!ok) {
      std::printf("NOT DETERMINISTIC: replay %ld differs from the first (trace hash %016llx vs %016llx)\n", i + 1,
                  static_cast<unsigned long long>(again.exec.trace_hash), static_cast<unsigned long long>(hash));
      return 1;
    }
    ++same;
  }
  if (runs > 1) {
    std::printf("%ld replays: identical trace hash %016llx and outcome\n", same, static_cast<unsigned long long>(hash));
  }
  if (!first.finding) {
    std::printf("no finding (variant %s, %llu steps, %llu context switches, trace hash %016llx)\n",
                variant->name.c_str(), static_cast<unsigned long long>(first.exec.steps),
                static_cast<unsigned long long>(first.exec.context_switches), static_cast<unsigned long long>(hash));
    return 0;
  }
  // Re-run once more so the trace and ledger describe the failing run.
  runner::RunOutcome shown = r.Run(p, opts);
  audit::DeterminismCheck det = audit::CheckDeterminism(*first.finding, [&]() { return shown.finding; });
  audit::ReportContext ctx;
  ctx.program = &p;
  ctx.input_path = path;
  ctx.variant = variant->name;
  ctx.trace = &r.executor().trace();
  ctx.ledger = &r.ledger();
  ctx.determinism = &det;
  std::fputs(audit::BuildReport(*first.finding, ctx).c_str(), stdout);
  return 1;
}

}  // namespace ftf::tools
