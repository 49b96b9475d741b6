// corpus_test.cc - the seed corpus of program_fuzzer and its text twins.
//
// Every binary file under corpus/program_fuzzer/ has a text twin under
// corpus/text/program_fuzzer/ (same relative path plus ".txt") and vice
// versa; each twin parses, encodes to exactly its binary, and the binary
// passes the round-trip properties. Regenerate a binary with
//   ./ftfuzz encode corpus/text/program_fuzzer/seeds/X.txt -o corpus/program_fuzzer/seeds/X

#include <filesystem>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "program/decoder.h"
#include "program/encoder.h"
#include "program/io.h"
#include "program/round_trip.h"
#include "program/text.h"
#include "program_test_util.h"

namespace ftf::program {
namespace {

namespace fs = std::filesystem;

std::set<std::string> RelativeFiles(const fs::path& root, const std::string& strip_ext) {
  std::set<std::string> out;
  if (!fs::is_directory(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), root).string();
    if (!strip_ext.empty()) {
      if (rel.size() <= strip_ext.size() || rel.substr(rel.size() - strip_ext.size()) != strip_ext) continue;
      rel.resize(rel.size() - strip_ext.size());
    }
    out.insert(rel);
  }
  return out;
}

TEST(Corpus, TextTwinsEncodeToTheirBinarySeeds) {
  const fs::path src = testing::SourceDir();
  const fs::path bin_root = src / "corpus" / "program_fuzzer";
  const fs::path text_root = src / "corpus" / "text" / "program_fuzzer";
  const std::set<std::string> binaries = RelativeFiles(bin_root, "");
  const std::set<std::string> twins = RelativeFiles(text_root, ".txt");
  EXPECT_GE(binaries.size(), 5u) << "seed corpus missing under " << bin_root;
  EXPECT_EQ(binaries, twins) << "every seed needs a text twin and vice versa";

  for (const std::string& rel : twins) {
    SCOPED_TRACE(rel);
    absl::StatusOr<std::string> text = ReadFileBytes((text_root / (rel + ".txt")).string());
    ASSERT_TRUE(text.ok()) << text.status().message();
    absl::StatusOr<Program> p = ParseText(*text);
    ASSERT_TRUE(p.ok()) << p.status().message();
    absl::StatusOr<std::string> bin = ReadFileBytes((bin_root / rel).string());
    ASSERT_TRUE(bin.ok()) << bin.status().message();
    absl::StatusOr<std::vector<uint8_t>> encoded = Encode(*p);
    ASSERT_TRUE(encoded.ok()) << encoded.status().message();
    EXPECT_EQ(std::string(encoded->begin(), encoded->end()), *bin)
        << "stale binary: re-encode " << rel << " (" << HexBytes(*encoded) << ")";
    EXPECT_EQ(Decode(*bin), *p);
    const auto* data = reinterpret_cast<const uint8_t*>(bin->data());
    EXPECT_TRUE(CheckRoundTrips({data, bin->size()}).ok());
    EXPECT_GT(TotalOps(*p), 0);
  }
}

}  // namespace
}  // namespace ftf::program
