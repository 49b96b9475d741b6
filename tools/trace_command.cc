// trace_command.cc - `ftf trace FILE --html OUT.html [--variant=V]`.
//
// Loads the input like `repro`, runs it once with full tracing (every step
// kept, RunnerOptions::exec.full_trace) and writes the page of
// trace_html.h from the run's trace and the ledger's history.

#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <span>
#include <string>

#include "program/io.h"
#include "program/text.h"
#include "runner/runner.h"
#include "tools/args.h"
#include "tools/input.h"
#include "tools/trace_html.h"

namespace ftf::tools {
namespace {

int Usage(FILE* out = stderr) {
  std::fprintf(out, "usage: ftf trace FILE --html OUT.html [--variant=NAME]\n");
  return out == stderr ? 2 : 0;
}

}  // namespace

int TraceCommand(int argc, char** argv) {
  std::string path;
  std::string html_path;
  std::string variant_name = "locked";
  ArgParser args;
  args.String("variant", &variant_name).String("html", &html_path).Positional(&path);
  if (absl::Status s = args.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "ftf trace: %s\n", std::string(s.message()).c_str());
    return Usage();
  }
  if (args.help()) return Usage(stdout);
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
  if (absl::Status w = CheckWritable(html_path); !w.ok()) {
    std::fprintf(stderr, "ftf trace: %s\n", std::string(w.message()).c_str());
    return 2;
  }
  std::optional<program::Program> loaded = LoadInputOrReport("ftf trace", path, std::cerr);
  if (!loaded) return 2;
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
