// runner_test_util.h - helpers for the tests of src/runner: loading corpus
// programs and replaying them under a variant.

#ifndef FTF_TESTS_RUNNER_RUNNER_TEST_UTIL_H_
#define FTF_TESTS_RUNNER_RUNNER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/finding.h"
#include "core/variant.h"
#include "program/expectations.h"
#include "program/io.h"
#include "program/program.h"
#include "program/text.h"
#include "runner/runner.h"
#include "runner/world.h"
#include "sched/fiber_executor.h"

namespace ftf::runner::testing {

#if defined(FTF_TSAN)
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif

// The source tree: $FTF_SOURCE_DIR (set by ctest), else derived from this
// file's path (running the test binary directly).
inline std::filesystem::path SourceDir() {
  if (const char* env = std::getenv("FTF_SOURCE_DIR"); env && *env) return env;
  // .../tests/runner/runner_test_util.h, possibly spelled through "..", as
  // in tests/tools' "../runner/runner_test_util.h": normalize first.
  return std::filesystem::path(__FILE__).lexically_normal().parent_path().parent_path().parent_path();
}

// A corpus file (binary or text twin), relative to corpus/.
inline absl::StatusOr<program::Program> LoadCorpusProgram(const std::string& relative) {
  return program::LoadProgramFile((SourceDir() / "corpus" / relative).string());
}

// The regular files under corpus/<relative>, sorted (empty if none).
inline std::vector<std::filesystem::path> CorpusFiles(const std::string& relative) {
  std::vector<std::filesystem::path> out;
  const std::filesystem::path root = SourceDir() / "corpus" / relative;
  if (!std::filesystem::is_directory(root)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The program of a text form; a parse error fails the calling test (and
// gives the empty program).
inline program::Program ParseOrFail(const char* text) {
  absl::StatusOr<program::Program> p = program::ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : program::Program();
}

// One run of `p` in `w` (already built) on `ex`, with default options.
inline sched::RunResult RunAll(sched::FiberExecutor& ex, World& w, const program::Program& p) {
  return ex.Run(static_cast<int>(p.threads.size()), [&](int t) { w.RunThread(t); }, p.schedule, sched::RunOptions());
}

// The variants on which a text twin records a DATA_RACE under TSan. Under
// TSan such a run stops the process (halt_on_error in the fuzz targets, a
// report the test did not expect elsewhere): tests that replay the corpus
// in-process leave those runs to the fuzzing tests, which replay each
// regression in a fresh process.
inline std::set<std::string> VariantsRacingUnderTsan(const std::string& twin) {
  std::set<std::string> out;
  for (const program::Expectation& e : program::ParseExpectations(twin, /*under_tsan=*/true)) {
    if (e.kind == "DATA_RACE") out.insert(e.variant);
  }
  return out;
}

// What one run of a program produced.
struct Replay {
  std::string kind = "clean";  // a FindingKind name, or "clean"
  uint64_t step = 0;
  int thread = -1;
  std::string location;
  uint64_t trace_hash = 0;
  uint64_t steps = 0;
};

inline Replay Run(Runner& runner, const program::Program& p, const std::string& variant) {
  RunnerOptions opts;
  opts.variant = core::FindVariant(variant);
  RunOutcome out = runner.Run(p, opts);
  Replay r;
  r.trace_hash = out.exec.trace_hash;
  r.steps = out.exec.steps;
  if (out.finding) {
    r.kind = audit::FindingKindName(out.finding->kind);
    r.step = out.finding->step;
    r.thread = out.finding->thread;
    r.location = out.finding->Location();
  }
  return r;
}

}  // namespace ftf::runner::testing

#endif  // FTF_TESTS_RUNNER_RUNNER_TEST_UTIL_H_
