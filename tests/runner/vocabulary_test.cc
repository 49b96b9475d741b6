// vocabulary_test.cc - the mutator's vocabulary (src/runner/vocabulary.h):
// a dictionary's 6-byte entries become operations, everything else is
// skipped, the shipped dictionaries name their targets' operations, and the
// mutator draws new operations from the vocabulary about half the time.

#include "runner/vocabulary.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "program/text.h"
#include "runner/mutator.h"
#include "runner_test_util.h"

namespace ftf::runner {
namespace {

program::Op OnlyOp(const char* text) {
  absl::StatusOr<program::Program> p = program::ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p->threads[0].ops[0];
}

TEST(VocabularyTest, SixByteEntriesAreOperationsAndTheRestIsSkipped) {
  const std::vector<program::Op> ops = OperationsFromDictionary(
      "# a comment line, then entries\n"
      "load_global_t0_r0_g7=\"\\x00\\x0a\\x00\\x00\\x07\\x00\"\n"
      "  \"\\x01\\x0f\\x00\\x00\\x00\\x01\"  \n"          // no name, spaces: popitem into r1
      "again=\"\\x03\\x0a\\x00\\x00\\x07\\x00\"\n"         // the first one in another thread: once
      "sched_t0=\"\\xf8\"\n"                               // schedule bytes, not an operation
      "quoted=\"\\x01\\x0b\\x00\\x00\\\\\\\"\"\n"          // \\ and \" escapes: 6 bytes
      "broken=\"\\x0g\\x00\\x00\\x00\\x00\\x00\"\n"        // a bad escape: skipped
      "unterminated=\"\\x00\\x0a\n");
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0], OnlyOp("ftfuzz program v2\nt0 s0: r0 = g7\n"));
  EXPECT_EQ(ops[1], OnlyOp("ftfuzz program v2\nt0: r1 = globals.popitem()\n"));
  // 0x0b: GLOBAL_STORE; its name and value are what the decoder makes of '\\' and '"'.
  EXPECT_EQ(ops[2].code, program::OpCode::kGlobalStore);
}

TEST(VocabularyTest, EveryShippedDictionaryNamesOperations) {
  for (const char* target : {"slots_fuzzer", "globals_fuzzer", "core_fuzzer"}) {
    const std::string path = (testing::SourceDir() / "fuzzers" / (std::string(target) + ".dict")).string();
    const std::vector<program::Op> ops = OperationsFromDictionaryFile(path);
    EXPECT_GE(ops.size(), 10u) << path;
  }
  EXPECT_TRUE(OperationsFromDictionaryFile("/nonexistent/x.dict").empty());
}

TEST(VocabularyTest, TheMutatorDrawsNewOperationsFromItAboutHalfTheTime) {
  const program::Op gc = OnlyOp("ftfuzz program v2\nt0: gc_collect\n");
  const absl::StatusOr<program::Program> base = program::ParseText("ftfuzz program v2\nt0: yield\n");
  ASSERT_TRUE(base.ok());
  auto count_gc = [&] {
    int n = 0;
    for (uint64_t seed = 0; seed < 400; ++seed) {
      program::Program p = *base;
      MutationRng rng(seed);
      EXPECT_TRUE(ApplyMutation(Mutation::kInsertOp, p, rng, nullptr));
      for (const auto& t : p.threads) {
        for (const program::Op& op : t.ops) n += op == gc;
      }
    }
    return n;
  };
  const int without = count_gc();
  SetOperationVocabulary({gc});
  const int with = count_gc();
  SetOperationVocabulary({});
  EXPECT_LT(without, 40);  // about 1 in 28 opcodes
  EXPECT_GT(with, 160);    // about half, plus the random ones
  EXPECT_LT(with, 260);
}

}  // namespace
}  // namespace ftf::runner
