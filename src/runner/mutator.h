// mutator.h - structure-aware mutation of fuzz inputs (libFuzzer's custom
// mutator and cross-over).
//
// libFuzzer's byte mutator sees an input as bytes: inserting a byte shifts
// every later operation record out of alignment, and growing a program by
// one operation takes a lucky 6-byte insertion. These functions decode the
// input (program::Decode), change the *program* (insert, delete, duplicate
// or move an operation, move it to another thread, point an operand at a
// shared object, add an operation that may conflict with an existing one,
// splice in a thread of another input, change the schedule's kind, depth or
// bytes) and encode it back (program::Encode, whose output
// decodes to the same program). Part of the time they hand the bytes to
// libFuzzer's own mutator instead, which keeps the dictionary and the
// compare-guided mutations at work.
//
// Guarantees: every result is a byte string (so it decodes: every byte
// string does), no longer than max_size, and a function of (input, seed)
// only: the same seed gives the same mutation. fuzzers/custom_mutator.cc
// binds them to LLVMFuzzerCustomMutator / LLVMFuzzerCustomCrossOver; the
// switch FTF_CUSTOM_MUTATOR=0 (fuzz_entry.h) turns them off.

#ifndef FTF_RUNNER_MUTATOR_H_
#define FTF_RUNNER_MUTATOR_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "program/program.h"

namespace ftf::runner {

// libFuzzer's byte mutator (LLVMFuzzerMutate): mutates data[0, size) in
// place, returns the new size (<= max_size). May be null (no libFuzzer).
using ByteMutator = size_t (*)(uint8_t* data, size_t size, size_t max_size);

enum class Mutation : uint8_t {
  kBytes,          // libFuzzer's byte mutator on the whole input
  kScheduleBytes,  // only the schedule bytes change
  kScheduleKind,   // direct <-> PCT, or another PCT depth
  kInsertOp,       // a new random operation somewhere
  kDeleteOp,       // one operation fewer
  kDuplicateOp,    // an operation repeated right after itself (a loop)
  kMoveOp,         // an operation to another place in its thread
  kMoveOpToThread, // an operation to another (possibly new) thread
  kRetarget,       // an operand of an operation now names a shared object
  kInsertRelated,  // a new operation that may conflict with an existing one
  kCount,
};
const char* MutationName(Mutation m);

// A small deterministic generator (splitmix64): the same seed gives the same
// numbers on every platform and standard library.
class MutationRng {
 public:
  explicit MutationRng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }

 private:
  uint64_t state_;
};

// Operations the mutator draws half of its new operations from (insert-op,
// and the candidates of insert-related), instead of a uniformly random
// record: the records of the fuzz target's dictionary (runner/vocabulary.h;
// FuzzInitialize sets them from libFuzzer's -dict flag). Empty (the
// default): every new operation is random. Set once, before fuzzing starts;
// results are then a function of (input, seed, vocabulary).
void SetOperationVocabulary(std::vector<program::Op> ops);

// Applies mutation `m` to `p` (decoded with the default Limits). Returns
// false, leaving `p` unchanged, when `m` cannot change this program (no
// operation to delete...). kBytes is not a program mutation: false.
// `bytes` (may be null) mutates the schedule bytes for kScheduleBytes.
bool ApplyMutation(Mutation m, program::Program& p, MutationRng& rng, ByteMutator bytes);

// `a` with one of its threads (or a new one) replaced by a non-empty thread
// of `b`. False when `b` has no operation.
bool SpliceThread(program::Program& a, const program::Program& b, MutationRng& rng);

// Encodes `p` into at most max_size bytes, dropping schedule bytes from the
// end and then the last operation of the longest thread until it fits.
std::vector<uint8_t> EncodeWithin(program::Program p, size_t max_size);

// LLVMFuzzerCustomMutator: returns the new size (<= max_size).
size_t MutateInput(uint8_t* data, size_t size, size_t max_size, unsigned int seed, ByteMutator bytes);

// LLVMFuzzerCustomCrossOver: writes into out[0, max_out_size), returns the
// size, or 0 when no cross-over applies (libFuzzer then mutates otherwise).
size_t CrossOverInputs(const uint8_t* data1, size_t size1, const uint8_t* data2, size_t size2, uint8_t* out,
                       size_t max_out_size, unsigned int seed);

}  // namespace ftf::runner

#endif  // FTF_RUNNER_MUTATOR_H_
