// ablation_fuzzer.cc - a libFuzzer target for the time-to-find ablations of
// issue 9: the same harness as the real targets, with the two search aids
// switchable.
//
// The real targets (fuzzers/*_fuzzer.cc -> runner/fuzz_entry.cc) always feed
// interleaving coverage to libFuzzer and honour the input's PCT flag; there
// is no switch for either yet (asked for in docs/bench.md). This target
// reads two environment variables instead:
//
//   FTF_BENCH_COVERAGE=0     the executor does not set the interleaving
//                            counters (sched::RunOptions::coverage = false):
//                            libFuzzer sees code coverage only.
//   FTF_BENCH_SCHEDULE=direct  every input's schedule is decoded as a direct
//                            schedule, whatever its PCT flag says (no PCT).
//
// With neither set it behaves like the real targets (same decoder, runner
// and report; only the deterministic re-run is skipped), so a baseline
// measured with it is comparable with its ablations. The variant comes from
// --variant=NAME or FTF_VARIANT, as on the real targets. The program focus
// (slots / globals / core) is the seed corpus the bench passes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "audit/report.h"
#include "program/decoder.h"
#include "runner/fuzz_entry.h"
#include "runner/runner.h"

namespace {

struct AblationState {
  const ftf::core::Variant* variant = nullptr;
  ftf::runner::Runner* runner = nullptr;
  bool coverage = true;
  bool force_direct = false;
};

AblationState& State() {
  static AblationState* s = new AblationState();  // never destroyed (fibers outlive static destructors)
  return *s;
}

bool EnvIs(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // Sets the variant and the sanitizer crash context (the SUMMARY line after
  // a TSan / ASan report) exactly as the real targets do.
  ftf::runner::FuzzInitialize(argc, argv, "ablation_fuzzer");
  AblationState& s = State();
  s.variant = &ftf::runner::ChooseVariant(argc, argv);
  s.runner = new ftf::runner::Runner();
  s.coverage = !EnvIs("FTF_BENCH_COVERAGE", "0");
  s.force_direct = EnvIs("FTF_BENCH_SCHEDULE", "direct");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  AblationState& s = State();
  ftf::program::Program p = ftf::program::Decode(std::span<const uint8_t>(data, size));
  if (s.force_direct) p.schedule.kind = ftf::program::ScheduleKind::kDirect;
  ftf::runner::RunnerOptions opts;
  opts.variant = s.variant;
  opts.exec.coverage = s.coverage;
  ftf::runner::RunOutcome out = s.runner->Run(p, opts);
  if (!out.finding) return 0;
  ftf::audit::ReportContext ctx;
  ctx.program = &p;
  ctx.input_path = "<crash file>";
  ctx.variant = s.variant->name;
  ctx.trace = &s.runner->executor().trace();
  ctx.ledger = &s.runner->ledger();
  ftf::audit::ReportAndAbort(*out.finding, ctx);
}
