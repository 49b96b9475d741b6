// repository_test.cc - what the repository tells a reader must hold: the
// commands in the finding write-ups name build trees the presets make, and
// every SUMMARY line a binary prints has the one prefix ClusterFuzz and
// `./ftfuzz fuzz` read ("SUMMARY: ftfuzz: ").

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tools_test_util.h"

namespace ftf::tools {
namespace {

namespace fs = std::filesystem;

std::set<std::string> PresetNames() {
  const std::string presets = testing::ReadAll(testing::SourceDir() / "CMakePresets.json");
  std::set<std::string> names;
  const std::regex name(R"re("name"\s*:\s*"([A-Za-z0-9_-]+)")re");
  for (std::sregex_iterator it(presets.begin(), presets.end(), name), end; it != end; ++it) names.insert((*it)[1]);
  return names;
}

TEST(Repository, FindingWriteUpsUseBuildTreesThatExist) {
  const std::set<std::string> presets = PresetNames();
  ASSERT_TRUE(presets.count("tsan")) << "CMakePresets.json was not read";
  const std::regex build_dir(R"(\bbuild/([A-Za-z0-9_-]+)/)");
  int checked = 0;
  for (const fs::directory_entry& f : fs::directory_iterator(testing::SourceDir() / "findings")) {
    if (f.path().extension() != ".md") continue;
    const std::string text = testing::ReadAll(f.path());
    for (std::sregex_iterator it(text.begin(), text.end(), build_dir), end; it != end; ++it) {
      ++checked;
      EXPECT_TRUE(presets.count((*it)[1])) << f.path().filename() << " names build/" << (*it)[1]
                                           << "/, which no preset makes";
    }
  }
  EXPECT_GT(checked, 0) << "no command line in findings/*.md names a build tree";
}

TEST(Repository, EverySummaryLineSaysFtfuzz) {
  const std::regex summary(R"re("[^"\n]*SUMMARY: ([A-Za-z]+):)re");
  for (const char* dir : {"src", "fuzzers", "tools"}) {
    for (const fs::directory_entry& f : fs::recursive_directory_iterator(testing::SourceDir() / dir)) {
      const std::string ext = f.path().extension().string();
      if (ext != ".cc" && ext != ".h") continue;
      const std::string text = testing::ReadAll(f.path());
      for (std::sregex_iterator it(text.begin(), text.end(), summary), end; it != end; ++it) {
        // The sanitizers' and libFuzzer's own lines are parsed, not printed,
        // by ftfuzz (audit/report_parse.cc).
        const std::string tool = (*it)[1].str();
        const bool sanitizer = tool.size() > 9 && tool.compare(tool.size() - 9, 9, "Sanitizer") == 0;
        if (!sanitizer && tool != "libFuzzer") EXPECT_EQ(tool, "ftfuzz") << f.path() << ": " << (*it)[0];
      }
    }
  }
}

}  // namespace
}  // namespace ftf::tools
