// encoder.h - Program to bytes, the inverse of Decode().
//
// Encode(p) is a byte string with Decode(Encode(p), limits) == p for every
// program that passes Validate(p, limits): in particular for every decoded
// program and every parsed text program. It is how seeds and regressions
// written in the text form become corpus files.
//
// The encoding is canonical: no world bytes when the world is the default
// one, one record per operation with unused argument bytes 0, operations
// interleaved round-robin over the threads (op 0 of t0, op 0 of t1, ...,
// op 1 of t0, ...), so that libFuzzer truncating the tail removes late
// operations of every thread rather than a whole thread.

#ifndef FTF_PROGRAM_ENCODER_H_
#define FTF_PROGRAM_ENCODER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "program/program.h"

namespace ftf::program {

// Fails (InvalidArgument, with Validate()'s message) if `p` is not valid
// under `limits`.
absl::StatusOr<std::vector<uint8_t>> Encode(const Program& p, const Limits& limits = Limits());

}  // namespace ftf::program

#endif  // FTF_PROGRAM_ENCODER_H_
