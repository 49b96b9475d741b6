// repro.cc - `ftf repro FILE [--variant=V] [--runs=N] [--threads=K]`.
//
// Accepts a libFuzzer crash file, a corpus file, or a text program. Prints
// the program, replays it deterministically with full tracing, prints the
// finding report (or "no finding"), and with --runs=N checks that N replays
// give the same trace hash and the same finding. With --threads=K it then
// replays the program K times on real threads (repro_threads.cc) and prints
// how often each finding appeared. Exit status: 0 no finding, 1 finding
// (deterministic or in a real-thread run), 2 usage or input error.

#include "tools/repro.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "audit/determinism.h"
#include "audit/report.h"
#include "audit/sanitizer_report.h"
#include "core/variant.h"
#include "program/io.h"
#include "program/text.h"
#include "runner/runner.h"
#include "tools/args.h"
#include "tools/input.h"

namespace ftf::tools {
namespace {

int Usage(FILE* out = stderr) {
  std::fprintf(out, "usage: ftf repro FILE [--variant=NAME] [--runs=N] [--threads=K] [--timeout=SECONDS]\n");
  return out == stderr ? 2 : 0;
}

// Prints the real-thread statistics; true if any run found something.
bool PrintThreadStats(const ThreadReplayStats& s, std::optional<core::FindingKind> expected_kind,
                      const std::string& variant, int threads) {
  using core::FindingKind;
  std::printf("== Real threads (%d thread%s, variant %s) ==\n", threads, threads == 1 ? "" : "s", variant.c_str());
  if (!s.first_crash_output.empty()) {
    std::printf("first report of a killed worker (stderr):\n%s", s.first_crash_output.c_str());
    if (s.first_crash_output.back() != '\n') std::printf("\n");
  }
  // The headline names the deterministic finding's kind, else the most frequent one.
  std::optional<FindingKind> kind = expected_kind;
  if (!kind.has_value()) {
    int best = 0;
    for (const auto& [k, n] : s.kinds) {
      if (n > best) {
        best = n;
        kind = k;
      }
    }
  }
  const int hangs = s.kinds.count(FindingKind::kHang) ? s.kinds.at(FindingKind::kHang) : 0;
  if (!kind.has_value()) {
    std::printf("no finding in %d/%d real-thread runs\n", s.runs_done, s.runs_requested);
  } else {
    auto it = s.kinds.find(*kind);
    int n = it == s.kinds.end() ? 0 : it->second;
    // A real DEADLOCK or LIVELOCK never ends: the replay sees it as a hang.
    const bool hang_is_it = *kind == FindingKind::kDeadlock || *kind == FindingKind::kLivelock;
    if (hang_is_it) n += hangs;
    std::printf("finding %s in %d/%d real-thread runs%s\n", core::FindingKindName(*kind), n, s.runs_done,
                hang_is_it && hangs > 0 ? " (counting hangs)" : "");
  }
  for (const auto& [k, n] : s.kinds) {
    const std::string& msg = s.first_message.at(k);
    std::printf("  %-16s %6d  first at %s%s%s\n", core::FindingKindName(k), n, s.first_location.at(k).c_str(),
                msg.empty() ? "" : ": ", msg.c_str());
  }
  std::printf("  %-16s %6d\n", "clean", s.clean);
  if (s.stopped_early) {
    std::printf("stopped after %d hangs: %d of %d runs were not attempted\n", hangs, s.runs_requested - s.runs_done,
                s.runs_requested);
  }
  return s.with_finding() > 0;
}

}  // namespace

int ReproCommand(int argc, char** argv) {
  std::string path;
  std::string variant_name = "locked";
  long runs = 1;
  long threads = 0;
  long timeout_s = 5;
  std::string worker;  // internal: --threads-worker=FIRST:RUNS:FD (repro.h)
  ArgParser args;
  args.String("variant", &variant_name)
      .Int("runs", 1, 1000000, &runs)
      .Int("threads", 1, 1000000, &threads)
      .Int("timeout", 1, 3600, &timeout_s)
      .String("threads-worker", &worker)
      .Positional(&path);
  if (absl::Status s = args.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "ftf repro: %s\n", std::string(s.message()).c_str());
    return Usage();
  }
  if (args.help()) return Usage(stdout);
  if (path.empty()) return Usage();
  const core::Variant* variant = core::FindVariant(variant_name);
  if (variant == nullptr) {
    std::fprintf(stderr, "ftf repro: unknown variant '%s' (./ftfuzz variants lists them)\n", variant_name.c_str());
    return 2;
  }
  std::optional<program::Program> loaded = LoadInputOrReport("ftf repro", path, std::cerr);
  if (!loaded) return 2;
  const program::Program& p = *loaded;
  if (!worker.empty()) {
    int first = 0, count = 0, fd = -1;
    if (std::sscanf(worker.c_str(), "%d:%d:%d", &first, &count, &fd) != 3 || fd < 0) return Usage();
    ThreadReplayWorker(p, *variant, first, count, fd);
  }
  std::printf("%s\n", program::ToText(p).c_str());

  // A sanitizer report (TSan or ASan kills the process from inside the run)
  // gets the ftfuzz tail: name the input and the variant it was replayed on.
  audit::CrashContext crash;
  crash.variant = variant->name;
  crash.input_path = path;
  crash.program_text = [&p]() { return program::ToText(p); };
  audit::SetCrashContext(&crash);

  runner::Runner r;
  runner::RunnerOptions opts;
  opts.variant = variant;
  opts.exec.full_trace = true;
  // No warm-up run: the first run of a process reports what a fuzzing
  // process's thousandth run reported (sched::FiberExecutor::Run).
  runner::RunOutcome first = r.Run(p, opts);
  const uint64_t hash = first.exec.trace_hash;
  long same = 1;
  for (long i = 1; i < runs; ++i) {
    runner::RunOutcome again = r.Run(p, opts);
    // TSan reports a race once per process: a DATA_RACE re-run is checked by
    // its trace only (audit::CheckRaceRerun).
    const bool race = first.finding && first.finding->kind == audit::FindingKind::kDataRace;
    bool ok = again.exec.trace_hash == hash &&
              (race || (again.finding.has_value() == first.finding.has_value() &&
                        (!first.finding || audit::SameFinding(*first.finding, *again.finding))));
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
  auto real_threads = [&](std::optional<core::FindingKind> expected_kind) {
    if (threads == 0) return false;
    ThreadReplayOptions topts;
    topts.variant = variant;
    topts.runs = static_cast<int>(threads);
    topts.timeout_ms = static_cast<int>(timeout_s * 1000);
    topts.worker_binary = "/proc/self/exe";
    return PrintThreadStats(ReplayOnThreads(p, topts), expected_kind, variant->name, static_cast<int>(p.threads.size()));
  };
  if (!first.finding) {
    std::printf("no finding (variant %s, %llu steps, %llu context switches, trace hash %016llx)\n",
                variant->name.c_str(), static_cast<unsigned long long>(first.exec.steps),
                static_cast<unsigned long long>(first.exec.context_switches), static_cast<unsigned long long>(hash));
    return real_threads(std::nullopt) ? 1 : 0;
  }
  // Re-run once more so the trace and ledger describe the failing run.
  runner::RunOutcome shown = r.Run(p, opts);
  audit::DeterminismCheck det =
      first.finding->kind == audit::FindingKind::kDataRace
          ? audit::CheckRaceRerun(*first.finding, hash, shown.exec.trace_hash)
          : audit::CheckDeterminism(*first.finding, hash,
                                    [&]() { return audit::Rerun{shown.finding, shown.exec.trace_hash}; });
  audit::ReportContext ctx;
  ctx.program = &p;
  ctx.input_path = path;
  ctx.variant = variant->name;
  ctx.trace = &r.executor().trace();
  ctx.ledger = &r.ledger();
  ctx.determinism = &det;
  std::fputs(audit::BuildReport(*first.finding, ctx).c_str(), stdout);
  real_threads(first.finding->kind);
  return 1;
}

}  // namespace ftf::tools
