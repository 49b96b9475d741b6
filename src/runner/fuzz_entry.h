// fuzz_entry.h - what every fuzz target does with an input.
//
// Harness glue. A fuzz target (fuzzers/<area>_fuzzer.cc) is three lines that
// call these. FuzzInitialize reads `--variant=NAME` from libFuzzer's argv
// (libFuzzer ignores flags that start with "--") or, for drivers that pass
// no flags, the FTF_VARIANT environment variable; an unknown name prints the
// list of variants and exits with status 2. FuzzOneInput decodes the input,
// runs it deterministically, and on a finding re-runs it with full tracing,
// checks the re-run finds the same thing at the same step, prints the one
// report format (audit/report.h) and aborts so libFuzzer saves the input.
//
// Environment switches turn off a search aid, for measuring what it is
// worth (./ftfuzz bench's ablations); a target prints a line when one is off:
//   FTF_INTERLEAVING_COVERAGE=0  the executor does not set the interleaving
//                                counters: libFuzzer sees code coverage only.
//   FTF_SCHEDULE=direct          every input's schedule runs as a direct one,
//                                whatever its PCT flag says (no PCT).
//   FTF_PCT_FOCUS=0              PCT's change points are steps again, not
//                                places inside the operations that can
//                                conflict (program/conflicts.h); a crash file
//                                found this way replays only with it set.
//   FTF_CUSTOM_MUTATOR=0         the structure-aware mutator (mutator.h) hands
//                                every mutation to libFuzzer's byte mutator
//                                and does no cross-over of its own; libFuzzer's
//                                -len_control is back at its usual default
//                                (100) unless the command line sets it.
// Their defaults ("1", "input", "1", "1") are what every fuzzing run should use; any
// other value is a usage error (exit 2).
// FTF_REDUCTION=0 (read by Runner::Run, so by `ftf` too) switches off the
// partial-order reduction (docs/scheduling.md): every core access is a
// scheduling point, as it was before it.

#ifndef FTF_RUNNER_FUZZ_ENTRY_H_
#define FTF_RUNNER_FUZZ_ENTRY_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/variant.h"

namespace ftf::runner {

// Returns the variant chosen on the command line / environment (exits 2 on
// an unknown name).
const core::Variant& ChooseVariant(int* argc, char*** argv);
void FuzzInitialize(int* argc, char*** argv, const char* target_name);
int FuzzOneInput(const uint8_t* data, size_t size);
// False when FTF_CUSTOM_MUTATOR=0 (read by FuzzInitialize).
bool CustomMutatorEnabled();

}  // namespace ftf::runner

#endif  // FTF_RUNNER_FUZZ_ENTRY_H_
