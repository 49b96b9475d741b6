// classify_test.cc - `ftf classify`: the finding of a real report, as JSON,
// and its exit statuses; one bug gives one signature.

#include "tools/classify.h"

#include <gtest/gtest.h>

#include <string>

#include "tools_test_util.h"

namespace ftf::tools {
namespace {

std::string Repro(const std::string& seed, const std::string& variant) {
  return testing::RunCommand(testing::ToolBinary() + " repro " + testing::CorpusPath(seed) + " --variant=" + variant)
      .output;
}

// The SIGNATURE line of a report ("" if none).
std::string SignatureLineOf(const std::string& report) {
  const size_t at = report.rfind("\nSIGNATURE: ftfuzz: ");
  if (at == std::string::npos) return "";
  return report.substr(at + 1, report.find('\n', at + 1) - at - 1);
}

TEST(ClassifyCommand, PrintsTheLastFindingOfAReportAsJson) {
  const std::filesystem::path dir = testing::MakeTempDir("classify");
  const std::string report =
      Repro("text/slots_fuzzer/seeds/fallback_reload_vs_exchange.txt", "mutant_cs_fallback_incref");
  ASSERT_NE(report.find("SUMMARY: ftfuzz: RESURRECTION "), std::string::npos) << report;
  const std::string sig = SignatureLineOf(report);
  ASSERT_FALSE(sig.empty()) << report;
  // "SIGNATURE: ftfuzz: RESURRECTION <hex> <cause>"
  const size_t after_kind = sig.find(' ', 19);  // past "SIGNATURE: ftfuzz: "
  const std::string hex = sig.substr(after_kind + 1, 16);
  const std::string cause = sig.substr(after_kind + 18);
  testing::WriteAll(dir / "report.txt", "some libFuzzer noise\n" + report);

  testing::CommandResult r = testing::RunCommand(testing::ToolBinary() + " classify " + (dir / "report.txt").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const size_t summary_at = report.rfind("SUMMARY: ftfuzz: ");
  const std::string summary = report.substr(summary_at, report.find('\n', summary_at) - summary_at);
  EXPECT_EQ(r.output, "{\"kind\":\"RESURRECTION\",\"summary\":\"" + summary + "\",\"signature\":\"" + hex +
                          "\",\"cause\":\"" + cause + "\"}\n");

  // Standard input.
  testing::CommandResult piped =
      testing::RunCommand("cat " + (dir / "report.txt").string() + " | " + testing::ToolBinary() + " classify -");
  EXPECT_EQ(piped.exit_code, 0);
  EXPECT_EQ(piped.output, r.output);

  // No finding: exit 1 and a message; an unreadable file: exit 2.
  testing::WriteAll(dir / "clean.txt", "INFO: Seed: 1\nDone 10 runs in 0 second(s)\n");
  testing::CommandResult clean = testing::RunCommand(testing::ToolBinary() + " classify " + (dir / "clean.txt").string());
  EXPECT_EQ(clean.exit_code, 1);
  EXPECT_NE(clean.output.find("no finding"), std::string::npos) << clean.output;
  testing::CommandResult missing = testing::RunCommand(testing::ToolBinary() + " classify " + (dir / "nope").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("cannot read"), std::string::npos) << missing.output;
  testing::CommandResult usage = testing::RunCommand(testing::ToolBinary() + " classify");
  EXPECT_EQ(usage.exit_code, 2);
  std::filesystem::remove_all(dir);
}

// The signature names core sites only: no operation names, steps, object
// ids or addresses; and the same input gives the same signature.
TEST(ClassifyCommand, SignatureIsCoreSitesOnlyAndStable) {
  struct Case {
    const char* seed;
    const char* variant;
  };
  const Case cases[] = {
      {"text/slots_fuzzer/seeds/fallback_reload_vs_exchange.txt", "mutant_cs_fallback_incref"},
      {"text/globals_fuzzer/seeds/specialized_load_after_entry_reuse.txt", "mutant_no_keys_version_guard"},
      {"text/globals_fuzzer/seeds/trybegin_while_builtins_locked.txt", "mutant_trybegin_keeps_first_lock"},
  };
  for (const Case& c : cases) {
    const std::string sig = SignatureLineOf(Repro(c.seed, c.variant));
    ASSERT_FALSE(sig.empty()) << c.variant;
    EXPECT_EQ(sig, SignatureLineOf(Repro(c.seed, c.variant))) << c.variant;
    const std::string cause = sig.substr(sig.find(' ', 19) + 18);
    for (const char* banned : {"step", "obj#", "0x", "LOAD_", "STORE_", "MEMBER_", " in "}) {
      EXPECT_EQ(cause.find(banned), std::string::npos) << c.variant << ": " << sig;
    }
    EXPECT_NE(cause.find("core/"), std::string::npos) << c.variant << ": " << sig;
  }
}

}  // namespace
}  // namespace ftf::tools
