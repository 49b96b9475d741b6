// program_fuzzer.cc - fuzzes the program decoder, text form and encoder.
//
// For every input b: p = Decode(b) is valid, ParseText(ToText(p)) == p and
// Decode(Encode(p)) == p (program/round_trip.h). Any mismatch prints both
// sides and aborts, so libFuzzer saves the input. Every input is valid, so
// nothing is rejected from the corpus.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "program/round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Status s = ftf::program::CheckRoundTrips(std::span<const uint8_t>(data, size));
  if (!s.ok()) {
    std::fprintf(stderr, "==FTF== ERROR: program_fuzzer: ROUND_TRIP\n%.*s\nSUMMARY: ftfuzz: ROUND_TRIP program_fuzzer\n",
                 static_cast<int>(s.message().size()), s.message().data());
    std::abort();
  }
  return 0;
}
