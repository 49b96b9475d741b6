// input_rules_test.cc - the rules every ftf subcommand shares for its input
// file and its output path (tools/input.h), checked on the real binary.

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/input.h"
#include "tools_test_util.h"

namespace ftf::tools {
namespace {

namespace fs = std::filesystem;

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// A parse error names the file once and the line once.
TEST(InputRules, ParseErrorsNameTheFileOnce) {
  const fs::path dir = testing::MakeTempDir("rules-parse");
  const std::string bad = (dir / "broken_program.txt").string();
  testing::WriteAll(bad, "ftfuzz program v1\nthreads 2\nt0 s0: o0.a = fre");
  const std::string html = (dir / "out.html").string();
  const std::string py = (dir / "out.py").string();
  for (const std::string& args : {"repro " + bad, "trace " + bad + " --html " + html, "decode " + bad,
                                 "minimize " + bad + " -o " + (dir / "m").string(),
                                 "export " + bad + " --python -o " + py}) {
    testing::CommandResult r = testing::RunCommand(testing::ToolBinary() + " " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_EQ(Count(r.output, "broken_program.txt"), 1u) << args << ": " << r.output;
    EXPECT_EQ(Count(r.output, "line 3"), 1u) << args << ": " << r.output;
    EXPECT_EQ(Count(r.output, "\n"), 1u) << args << ": one line: " << r.output;
  }
  fs::remove_all(dir);
}

// One rule for an empty file: every tool reads it as the empty input (it is
// one, and libFuzzer may save it) and says that the file is empty.
TEST(InputRules, AnEmptyFileIsTheEmptyInputEverywhere) {
  const fs::path dir = testing::MakeTempDir("rules-empty");
  const std::string empty = (dir / "empty").string();
  testing::WriteAll(empty, "");
  struct Case {
    std::string args;
    int exit_code;
  };
  const std::vector<Case> cases = {
      {"decode " + empty, 0},
      {"repro " + empty, 0},
      {"trace " + empty + " --html " + (dir / "t.html").string(), 0},
      {"export " + empty + " --python -o " + (dir / "e.py").string(), 0},
      {"minimize " + empty + " -o " + (dir / "m").string(), 1},  // nothing to keep: no finding
  };
  const std::string note = "is empty; it is read as the empty input";
  for (const Case& c : cases) {
    testing::CommandResult r = testing::RunCommand(testing::ToolBinary() + " " + c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << ": " << r.output;
    EXPECT_EQ(Count(r.output, note), 1u) << c.args << ": " << r.output;
  }
  fs::remove_all(dir);
}

// An output that cannot be written fails at once, before the work.
TEST(InputRules, AnUnwritableOutputFailsBeforeAnyWork) {
  const std::string input =
      testing::CorpusPath("text/slots_fuzzer/regressions/20261122_lockfree_slots_xgetref_livelock.txt");
  const std::string nowhere = "/nonexistent-ftf-dir/out";
  struct Case {
    std::string args;
    std::string work_line;  // printed only once the work has started
  };
  const std::vector<Case> cases = {
      {"minimize " + input + " --variant=lockfree_slots -o " + nowhere, "minimizing"},
      {"trace " + input + " --variant=lockfree_slots --html " + nowhere, "steps on"},
      {"export " + input + " --python -o " + nowhere, "wrote"},
  };
  for (const Case& c : cases) {
    testing::CommandResult r = testing::RunCommand(testing::ToolBinary() + " " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find("cannot create /nonexistent-ftf-dir/out"), std::string::npos) << c.args << ": " << r.output;
    EXPECT_EQ(r.output.find(c.work_line), std::string::npos) << c.args << ": " << r.output;
  }
}

TEST(InputRules, CheckWritableLeavesNoFileBehind) {
  const fs::path dir = testing::MakeTempDir("rules-w");
  const fs::path out = dir / "new";
  EXPECT_TRUE(CheckWritable(out.string()).ok());
  EXPECT_FALSE(fs::exists(out));
  testing::WriteAll(out, "keep");
  EXPECT_TRUE(CheckWritable(out.string()).ok());
  EXPECT_EQ(testing::ReadAll(out), "keep");
  EXPECT_FALSE(CheckWritable(dir.string()).ok()) << "a directory";
  EXPECT_FALSE(CheckWritable((dir / "no" / "such").string()).ok());
  EXPECT_FALSE(CheckWritable("").ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ftf::tools
