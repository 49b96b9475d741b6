// decoder.h - bytes to Program: total, deterministic, bounded.
//
// Every byte string, including the empty one, decodes to a valid Program
// (Validate() holds) within the given Limits; nothing is rejected. The
// layout (layout.h, docs/input-format.md) uses fixed-width 6-byte operation
// records, each argument reduced modulo its range, so flipping one byte of
// an operation record changes at most that operation (or, for the thread
// byte, moves it to another thread), and the schedule bytes are taken from
// the end of the input so mutations of operations and of the schedule do
// not disturb each other. This follows FuzzedDataProvider's rules
// (llvm-project compiler-rt/include/fuzzer/FuzzedDataProvider.h): missing
// bytes read as 0, never an error.
//
// Normalisation (so that Encode(Decode(b)) decodes to the same program and
// the text form is canonical): fields an opcode does not use are left at
// their defaults, a direct schedule gets pct_depth 3, a repeated slot name
// in a type becomes the smallest unused name, init value 3 reads as fresh,
// and records for a thread that already has Limits::max_ops_per_thread
// operations are skipped.

#ifndef FTF_PROGRAM_DECODER_H_
#define FTF_PROGRAM_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "program/program.h"

namespace ftf::program {

Program Decode(std::span<const uint8_t> data, const Limits& limits = Limits());

inline Program Decode(std::string_view data, const Limits& limits = Limits()) {
  return Decode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()), limits);
}

}  // namespace ftf::program

#endif  // FTF_PROGRAM_DECODER_H_
