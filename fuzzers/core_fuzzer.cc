// core_fuzzer.cc - libFuzzer target: everything of the slots and globals targets mixed in one program.
//
// Every target decodes the same input format (docs/input-format.md); what
// makes a target focus on its area is its seed corpus (corpus/core_fuzzer/)
// and dictionary. Choose the core variant with --variant=NAME (or the
// FTF_VARIANT environment variable); ./ftfuzz variants lists them.

#include <cstddef>
#include <cstdint>

#include "runner/fuzz_entry.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  ftf::runner::FuzzInitialize(argc, argv, "core_fuzzer");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ftf::runner::FuzzOneInput(data, size);
}
