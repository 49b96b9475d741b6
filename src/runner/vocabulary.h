// vocabulary.h - the operations a fuzz target's dictionary names, for the
// structure-aware mutator.
//
// Each fuzz target ships a libFuzzer dictionary (fuzzers/<target>.dict) whose
// 6-byte entries are whole operation records: the operations of the CPython
// mechanism the target is about (LOAD_GLOBAL and the globals mutations for
// globals_fuzzer...). libFuzzer's byte mutator inserts them at byte
// offsets, so five times in six the record lands out of alignment and means
// something else. The mutator instead draws part of its new operations from
// them, as operations (runner/mutator.h, SetOperationVocabulary). A user who
// fuzzes a proposal of their own steers the search the same way: a
// dictionary with records for the operations the proposal changes.
//
// The file format is libFuzzer's: one entry per line, `name="bytes"` or
// `"bytes"`, with `\\`, `\"` and `\xHH` escapes; `#` starts a comment line.
// Entries of another length (schedule bytes) are not operations and are
// skipped; so is a line this parser does not understand (libFuzzer itself
// rejects a malformed dictionary at start-up, with the line).

#ifndef FTF_RUNNER_VOCABULARY_H_
#define FTF_RUNNER_VOCABULARY_H_

#include <string>
#include <string_view>
#include <vector>

#include "program/program.h"

namespace ftf::runner {

// The operations of the dictionary text's 6-byte entries, decoded as records
// of a one-thread program (the record's thread byte is ignored), in file
// order, each once.
std::vector<program::Op> OperationsFromDictionary(std::string_view text);

// The same for a file; empty if it cannot be read.
std::vector<program::Op> OperationsFromDictionaryFile(const std::string& path);

}  // namespace ftf::runner

#endif  // FTF_RUNNER_VOCABULARY_H_
