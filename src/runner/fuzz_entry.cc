// fuzz_entry.cc - see fuzz_entry.h.

#include "runner/fuzz_entry.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "audit/determinism.h"
#include "audit/report.h"
#include "audit/sanitizer_report.h"
#include "program/text.h"
#include "program/decoder.h"
#include "runner/mutator.h"
#include "runner/runner.h"
#include "runner/vocabulary.h"

namespace ftf::runner {
namespace {

struct FuzzState {
  const core::Variant* variant = nullptr;
  std::string target = "fuzzer";
  Runner* runner = nullptr;
  // The input being run, for the sanitizer-report hook (a TSan/ASan report
  // kills the process from inside the run).
  const program::Program* current = nullptr;
  audit::CrashContext crash;
  // Ablation switches (fuzz_entry.h): both on unless the environment says so.
  bool interleaving_coverage = true;
  bool force_direct = false;
  bool custom_mutator = true;
  bool pct_focus = true;
};
FuzzState& State() {
  static FuzzState* s = new FuzzState();  // never destroyed: fibers outlive static destructors
  return *s;
}

[[noreturn]] void UnknownVariant(const char* name) {
  std::fprintf(stderr, "ftfuzz: unknown variant '%s'. Known variants:\n", name);
  for (const core::Variant& v : core::AllVariants()) std::fprintf(stderr, "  %s\n", v.name.c_str());
  std::exit(2);
}

}  // namespace

const core::Variant& ChooseVariant(int* argc, char*** argv) {
  const char* name = std::getenv("FTF_VARIANT");
  for (int i = 1; argc != nullptr && i < *argc; ++i) {
    const char* a = (*argv)[i];
    if (std::strncmp(a, "--variant=", 10) == 0) name = a + 10;
  }
  if (name == nullptr || *name == '\0') return core::LockedVariant();
  const core::Variant* v = core::FindVariant(name);
  if (v == nullptr) UnknownVariant(name);
  return *v;
}

namespace {

// "0"/"1" (or unset: the default) for a switch; anything else is a usage error.
bool SwitchFromEnv(const char* name, const char* off, const char* on, bool dflt) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return dflt;
  if (std::strcmp(v, off) == 0) return false;
  if (std::strcmp(v, on) == 0) return true;
  std::fprintf(stderr, "ftfuzz: %s must be '%s' or '%s' (got '%s')\n", name, on, off, v);
  std::exit(2);
}

// libFuzzer turns -len_control off by default when a target defines a custom
// mutator (the hook is linked even when switched off). With the mutator off
// the target should search as it did without one, so the flag's usual
// default comes back unless the command line sets it: libFuzzer reads its
// flags from argv after LLVMFuzzerInitialize returns.
void RestoreLenControl(int* argc, char*** argv) {
  if (argc == nullptr || argv == nullptr) return;
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp((*argv)[i], "-len_control=", 13) == 0) return;
  }
  char** grown = new char*[static_cast<size_t>(*argc) + 2];  // lives as long as libFuzzer's argv
  for (int i = 0; i < *argc; ++i) grown[i] = (*argv)[i];
  grown[*argc] = const_cast<char*>("-len_control=100");
  grown[*argc + 1] = nullptr;
  *argv = grown;
  ++*argc;
}

// The custom mutator's vocabulary (runner/vocabulary.h): the operation
// records of the dictionary libFuzzer was given (-dict=, the last one wins
// as in libFuzzer), if any.
void LoadOperationVocabulary(int* argc, char*** argv) {
  const char* dict = nullptr;
  for (int i = 1; argc != nullptr && argv != nullptr && i < *argc; ++i) {
    if (std::strncmp((*argv)[i], "-dict=", 6) == 0) dict = (*argv)[i] + 6;
  }
  if (dict == nullptr) return;
  std::vector<program::Op> ops = OperationsFromDictionaryFile(dict);
  std::fprintf(stderr, "ftfuzz: the mutator draws half of its new operations from the %zu operation records of %s\n",
               ops.size(), dict);
  SetOperationVocabulary(std::move(ops));
}

}  // namespace

void FuzzInitialize(int* argc, char*** argv, const char* target_name) {
  FuzzState& s = State();
  s.variant = &ChooseVariant(argc, argv);
  s.interleaving_coverage = SwitchFromEnv("FTF_INTERLEAVING_COVERAGE", "0", "1", true);
  s.force_direct = !SwitchFromEnv("FTF_SCHEDULE", "direct", "input", true);
  if (!s.interleaving_coverage) {
    std::fprintf(stderr, "ftfuzz: FTF_INTERLEAVING_COVERAGE=0: libFuzzer sees code coverage only\n");
  }
  if (s.force_direct) std::fprintf(stderr, "ftfuzz: FTF_SCHEDULE=direct: every schedule runs as a direct one (no PCT)\n");
  s.pct_focus = SwitchFromEnv("FTF_PCT_FOCUS", "0", "1", true);
  if (!s.pct_focus) std::fprintf(stderr, "ftfuzz: FTF_PCT_FOCUS=0: PCT change points are steps, not places in the program\n");
  if (!SwitchFromEnv("FTF_REDUCTION", "0", "1", true)) {
    std::fprintf(stderr, "ftfuzz: FTF_REDUCTION=0: every core access is a scheduling point (no partial-order reduction)\n");
  }
  if (SwitchFromEnv("FTF_KNOWN_FIXED", "0", "1", false)) {
    // Searching for the variant's own bugs: the known CPython ones are fixed.
    static const core::Variant* const fixed = new core::Variant(core::WithKnownFixes(*s.variant));
    s.variant = fixed;
    std::fprintf(stderr, "ftfuzz: FTF_KNOWN_FIXED=1: %s with the fixes of the known CPython findings (findings/known.json)\n",
                 s.variant->name.c_str());
  }
  s.custom_mutator = SwitchFromEnv("FTF_CUSTOM_MUTATOR", "0", "1", true);
  if (!s.custom_mutator) {
    std::fprintf(stderr, "ftfuzz: FTF_CUSTOM_MUTATOR=0: libFuzzer's byte mutator only\n");
    RestoreLenControl(argc, argv);
  } else {
    LoadOperationVocabulary(argc, argv);
  }
  s.target = target_name;
  s.runner = new Runner();
  s.crash.variant = s.variant->name;
  s.crash.input_path = "<crash file>";
  s.crash.program_text = [&s]() { return s.current != nullptr ? program::ToText(*s.current) : std::string(); };
  audit::SetCrashContext(&s.crash);
}

bool CustomMutatorEnabled() { return State().custom_mutator; }

int FuzzOneInput(const uint8_t* data, size_t size) {
  FuzzState& s = State();
  if (s.runner == nullptr) FuzzInitialize(nullptr, nullptr, "fuzzer");
  program::Program p = program::Decode(std::span<const uint8_t>(data, size));
  if (s.force_direct) p.schedule.kind = program::ScheduleKind::kDirect;
  RunnerOptions opts;
  opts.variant = s.variant;
  opts.exec.coverage = s.interleaving_coverage;
  opts.pct_focus = s.pct_focus;
  s.current = &p;
  RunOutcome out = s.runner->Run(p, opts);
  if (!out.finding) {
    s.current = nullptr;
    return 0;
  }

  // Re-run with full tracing: the same finding must happen at the same step.
  audit::Finding first = *out.finding;
  RunnerOptions traced = opts;
  traced.exec.full_trace = true;
  audit::DeterminismCheck det;
  if (first.kind == audit::FindingKind::kDataRace) {
    const uint64_t first_hash = out.exec.trace_hash;
    det = audit::CheckRaceRerun(first, first_hash, s.runner->Run(p, traced).exec.trace_hash);
  } else {
    det = audit::CheckDeterminism(first, out.exec.trace_hash, [&]() {
      RunOutcome again = s.runner->Run(p, traced);
      return audit::Rerun{std::move(again.finding), again.exec.trace_hash};
    });
  }
  audit::ReportContext ctx;
  ctx.program = &p;
  ctx.input_path = "<crash file>";
  ctx.variant = s.variant->name;
  ctx.trace = &s.runner->executor().trace();
  ctx.ledger = &s.runner->ledger();
  ctx.determinism = &det;
  audit::ReportAndAbort(first, ctx);
}

}  // namespace ftf::runner
