// trace_command.cc - `ftf trace FILE --html OUT.html [--variant=V]`.
//
// Loads the input like `repro`, runs it once with full tracing (every step
// kept, RunnerOptions::exec.full_trace) and writes the page of
// trace_html.h from the run's trace and the ledger's history.

#include <cstdio>
#include <cstring>
#include <span>
#include <string>

#include "program/io.h"
#include "program/text.h"
#include "runner/runner.h"
#include "tools/trace_html.h"

namespace ftf::tools {
namespace {

int Usage() {
  std::fprintf(stderr, "usage: ftf trace FILE --html OUT.html [--variant=NAME]\n");
  return 2;
}

}  // namespace

int TraceCommand(int argc, char** argv) {
  std::string path;
  std::string html_path;
  std::string variant_name = "locked";
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--variant=", 10) == 0) {
      variant_name = a + 10;
    } else if (std::strncmp(a, "--html=", 7) == 0) {
      html_path = a + 7;
    } else if (std::strcmp(a, "--html") == 0) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ftf trace: --html needs a file name\n");
        return 2;
      }
      html_path = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0') {
      std::fprintf(stderr, "ftf trace: unknown option '%s'\n", a);
      return Usage();
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "ftf trace: one input file, please (got '%s' and '%s')\n", path.c_str(), a);
      return 2;
    }
  }
  if (path.empty()) return Usage();
  if (html_path.empty()) {
    std::fprintf(stderr, "ftf trace: say where to write the page: --html OUT.html\n");
    return 2;
  }
  const core::Variant* variant = core::FindVariant(variant_name);
  if (variant == nullptr) {
    std::fprintf(stderr, "ftf trace: unknown variant '%s' (./ftfuzz variants lists them)\n", variant_name.c_str());
    return 2;
  }
  absl::StatusOr<program::Program> loaded = program::LoadProgramFile(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "ftf trace: %s: %s\n", path.c_str(), std::string(loaded.status().message()).c_str());
    return 2;
  }
  const program::Program& p = *loaded;

  runner::Runner r;
  runner::RunnerOptions opts;
  opts.variant = variant;
  opts.exec.full_trace = true;
  runner::RunOutcome out = r.Run(p, opts);

  TracePage page;
  page.title = path;
  page.variant = variant->name;
  page.program_text = program::ToText(p);
  page.num_threads = static_cast<int>(p.threads.size());
  page.finding = out.finding;
  page.steps = r.executor().trace().Steps();
  // (out.exec is empty when an auditor stopped the run: ask the trace.)
  page.total_steps = r.executor().trace().steps();
  page.context_switches = r.executor().trace().num_switches();
  page.events = r.ledger().events();
  const std::string html = BuildTraceHtml(page);
  absl::Status written = program::WriteFileBytes(
      html_path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(html.data()), html.size()));
  if (!written.ok()) {
    std::fprintf(stderr, "ftf trace: %s\n", std::string(written.message()).c_str());
    return 2;
  }
  if (out.finding) {
    std::printf("%s %s at step %llu; ", audit::FindingKindName(out.finding->kind), out.finding->Location().c_str(),
                static_cast<unsigned long long>(out.finding->step));
  } else {
    std::printf("no finding; ");
  }
  std::printf("%llu steps on %d threads; wrote %s (%zu bytes)\n", static_cast<unsigned long long>(page.total_steps),
              page.num_threads, html_path.c_str(), html.size());
  return 0;
}

}  // namespace ftf::tools
