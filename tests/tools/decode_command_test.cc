// decode_command_test.cc - the decode / encode subcommands, including every error path.

#include "tools/decode_command.h"

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program/decoder.h"
#include "program/io.h"
#include "program/text.h"

namespace ftf::tools {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using program::Decode;
using program::LoadProgramFile;
using program::ParseText;
using program::ReadFileBytes;
using program::WriteFileBytes;

struct Result {
  int code;
  std::string out, err;
};

Result RunCli(bool decode, std::vector<std::string> args) {
  args.insert(args.begin(), decode ? "decode" : "encode");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  const int code = decode ? DecodeCommand(static_cast<int>(args.size()), argv.data(), out, err)
                          : EncodeCommand(static_cast<int>(args.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("ftf_cli_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = (dir_ / name).string();
    const auto* d = reinterpret_cast<const uint8_t*>(contents.data());
    EXPECT_TRUE(WriteFileBytes(path, {d, contents.size()}).ok());
    return path;
  }
  fs::path dir_;
};

TEST_F(CliTest, DecodeBinaryPrintsText) {
  const std::string bin = Write("seed", std::string("\x01\x00\x00\x01\x01\x00\x00\x08", 8));
  const Result r = RunCli(true, {bin});
  EXPECT_EQ(r.code, kCliOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ftfuzz program v2\n"));
  EXPECT_THAT(r.out, HasSubstr("t0 s1: o0.a = fresh"));
  EXPECT_EQ(*ParseText(r.out), Decode(std::string("\x01\x00\x00\x01\x01\x00\x00\x08", 8)));
}

TEST_F(CliTest, DecodeTextPrintsNormalisedForm) {
  const std::string txt = Write("p.txt", "# hand written\nftfuzz program v1\nt1:   del    r0\n");
  const Result r = RunCli(true, {txt});
  EXPECT_EQ(r.code, kCliOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("threads 2\n"));
  EXPECT_THAT(r.out, HasSubstr("t1:    del r0"));
}

TEST_F(CliTest, EncodeThenDecodeRoundTrips) {
  const std::string txt = Write("p.txt", "ftfuzz program v1\nschedule pct depth 4\nbytes 07\nt0 s0: r1 = g2\n");
  const std::string out = (dir_ / "p.bin").string();
  Result r = RunCli(false, {txt, "-o", out});
  ASSERT_EQ(r.code, kCliOk) << r.err;
  EXPECT_THAT(r.err, HasSubstr("wrote 9 bytes"));
  r = RunCli(true, {out});
  ASSERT_EQ(r.code, kCliOk) << r.err;
  EXPECT_EQ(*ParseText(r.out), *LoadProgramFile(txt));
  // decode -o writes the text to a file.
  const std::string text_out = (dir_ / "p2.txt").string();
  ASSERT_EQ(RunCli(true, {out, "-o", text_out}).code, kCliOk);
  EXPECT_EQ(*ReadFileBytes(text_out), r.out);
}

TEST_F(CliTest, Errors) {
  const std::string missing = (dir_ / "missing").string();
  Result r = RunCli(true, {missing});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("cannot open " + missing + ": No such file or directory"));

  r = RunCli(true, {dir_.string()});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("is a directory"));

  r = RunCli(true, {});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("no input file"));

  r = RunCli(true, {"a", "b"});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("one input file, please"));

  r = RunCli(true, {"--bogus"});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("unknown option '--bogus'"));

  const std::string bad = Write("bad.txt", "ftfuzz program v1\nthreads 2\nt0: o0.q = r1\n");
  r = RunCli(true, {bad});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr(bad + ": line 3: unknown operation 'o0.q = r1'"));

  r = RunCli(false, {bad, "-o", (dir_ / "x").string()});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("line 3: unknown operation"));
  EXPECT_FALSE(fs::exists(dir_ / "x"));  // nothing written on error

  const std::string good = Write("good.txt", "ftfuzz program v1\n");
  r = RunCli(false, {good});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("no output file"));

  r = RunCli(false, {good, "-o"});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("-o needs a value"));

  r = RunCli(false, {good, "-o", (dir_ / "no" / "such" / "dir" / "out").string()});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("cannot create"));

  const std::string binary = Write("binary", std::string("\x00\x01\x02", 3));
  r = RunCli(false, {binary, "-o", (dir_ / "y").string()});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("is not a text program"));

  r = RunCli(false, {missing, "-o", (dir_ / "z").string()});
  EXPECT_EQ(r.code, kCliError);
  EXPECT_THAT(r.err, HasSubstr("No such file"));

  EXPECT_EQ(RunCli(true, {"--help"}).code, kCliOk);
  EXPECT_EQ(RunCli(false, {"-h"}).code, kCliOk);
}

TEST_F(CliTest, EmptyAndGarbageFilesDecode) {
  EXPECT_EQ(RunCli(true, {Write("empty", "")}).code, kCliOk);
  std::string garbage;
  for (int i = 0; i < 5000; ++i) garbage += static_cast<char>(i * 7919 % 251);
  const Result r = RunCli(true, {Write("garbage", garbage)});
  EXPECT_EQ(r.code, kCliOk) << r.err;
  EXPECT_TRUE(ParseText(r.out).ok());
}

}  // namespace
}  // namespace ftf::tools
