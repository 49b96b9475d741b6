// program_test_util.h - helpers shared by the tests of src/program.

#ifndef FTF_TESTS_PROGRAM_PROGRAM_TEST_UTIL_H_
#define FTF_TESTS_PROGRAM_PROGRAM_TEST_UTIL_H_

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace ftf::program::testing {

// Sanitizer builds run the round trips about 10x slower: the heavy loops
// do 1/kSanitizerDivisor of their iterations there (and exhaustive loops
// visit every kSanitizerDivisor-th value). The gcc preset runs them in full.
#if defined(FTF_TSAN) || defined(FTF_ASAN)
inline constexpr int kSanitizerDivisor = 8;
#else
inline constexpr int kSanitizerDivisor = 1;
#endif
inline constexpr int Scaled(int iterations) {
  return iterations / kSanitizerDivisor > 0 ? iterations / kSanitizerDivisor : 1;
}

// Deterministic random bytes (fixed seeds in every test: failures replay).
inline std::vector<uint8_t> RandomBytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// The source tree: $FTF_SOURCE_DIR (set by ctest), else derived from this
// file's path (running the test binary directly).
inline std::string SourceDir() {
  if (const char* env = std::getenv("FTF_SOURCE_DIR"); env && *env) return env;
  std::string here = __FILE__;  // .../tests/program/program_test_util.h
  for (int i = 0; i < 3; ++i) here = here.substr(0, here.find_last_of('/'));
  return here;
}

}  // namespace ftf::program::testing

#endif  // FTF_TESTS_PROGRAM_PROGRAM_TEST_UTIL_H_
