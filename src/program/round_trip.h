// round_trip.h - the properties program_fuzzer and the tests check.
//
// For any input bytes b, with p = Decode(b):
//   1. Validate(p) holds;
//   2. ParseText(ToText(p)) == p, and printing that again gives the same text;
//   3. Decode(Encode(p)) == p, and encoding that again gives the same bytes.
// Kept here rather than in the fuzz target so tests run exactly the same
// check (fuzz targets stay small; their logic lives in src/).

#ifndef FTF_PROGRAM_ROUND_TRIP_H_
#define FTF_PROGRAM_ROUND_TRIP_H_

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "program/program.h"

namespace ftf::program {

// OK, or Internal with a report naming the failed property and showing both
// sides (text forms, hex bytes).
absl::Status CheckRoundTrips(std::span<const uint8_t> data, const Limits& limits = Limits());

// Hex dump "00 1f a0 ..." (for reports and tests).
std::string HexBytes(std::span<const uint8_t> data);

}  // namespace ftf::program

#endif  // FTF_PROGRAM_ROUND_TRIP_H_
