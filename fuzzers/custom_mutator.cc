// custom_mutator.cc - libFuzzer's custom mutator and cross-over hooks for the
// fuzz targets that run model programs (linked by ftf_fuzzer() in
// fuzzers/CMakeLists.txt into every target that links ftf_runner).
//
// The work is in src/runner/mutator.h; FTF_CUSTOM_MUTATOR=0 (read by
// FuzzInitialize) leaves every mutation to libFuzzer's byte mutator, for
// measuring what the structure-aware one is worth. LLVMFuzzerMutate is
// declared weak: the standalone replay driver (gcc preset) has no libFuzzer
// and never calls these hooks, but must still link.

#include <cstddef>
#include <cstdint>

#include "runner/fuzz_entry.h"
#include "runner/mutator.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) __attribute__((weak));

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  if (!ftf::runner::CustomMutatorEnabled()) {
    return LLVMFuzzerMutate != nullptr ? LLVMFuzzerMutate(data, size, max_size) : size;
  }
  return ftf::runner::MutateInput(data, size, max_size, seed, LLVMFuzzerMutate);
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1, const uint8_t* data2, size_t size2,
                                            uint8_t* out, size_t max_out_size, unsigned int seed) {
  // 0 = "no cross-over": libFuzzer then picks its other mutator (above).
  if (!ftf::runner::CustomMutatorEnabled()) return 0;
  return ftf::runner::CrossOverInputs(data1, size1, data2, size2, out, max_out_size, seed);
}
