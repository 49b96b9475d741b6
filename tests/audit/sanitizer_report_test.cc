// Findings that kill the process: a ledger finding printed by
// ReportAndAbort, and the sanitizers' DATA_RACE (tsan preset), ASAN and
// UBSAN (asan preset) with ftfuzz's block after the sanitizer's report.
// Each runs audit_probe (audit_probe.cc) in a subprocess and checks its
// exit status and its stderr; each has a must-not-detect twin.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>

#include "audit/report_parse.h"
#include "audit/signature.h"

namespace {

#ifndef FTF_AUDIT_PROBE
#error "tests/CMakeLists.txt must define FTF_AUDIT_PROBE (the audit_probe binary)"
#endif

struct ProbeResult {
  int status = -1;  // raw wait status
  std::string output;
  bool died() const { return !(WIFEXITED(status) && WEXITSTATUS(status) == 0); }
};

ProbeResult RunProbe(const std::string& mode, const std::string& env = "", int timeout_s = 0) {
  ProbeResult r;
  // `exec`: the probe replaces the shell, so a signal death reaches pclose
  // (`timeout` passes its child's signal death on, and KILLs a hang).
  const std::string cmd = (env.empty() ? "" : "export " + env + "; ") + "exec " +
                          (timeout_s > 0 ? "timeout -s KILL " + std::to_string(timeout_s) + " " : "") +
                          std::string(FTF_AUDIT_PROBE) + " " + mode + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

// The ftfuzz block that follows every finding: program, reproduce line and
// a SUMMARY line without addresses as the last ftfuzz line.
void ExpectFtfuzzBlock(const ProbeResult& r, const std::string& kind) {
  EXPECT_NE(r.output.find("== Program ==\n  ftfuzz program v2\n"), std::string::npos);
  EXPECT_NE(r.output.find("Reproduce with: ./ftfuzz repro crash-probe --variant=locked\n"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("SUMMARY: ftfuzz: " + kind + " ([^\n]*)\n")));
  EXPECT_EQ(m[1].str().find("0x"), std::string::npos) << m[0];
  EXPECT_EQ(m[1].str().find("step"), std::string::npos) << m[0];
}

TEST(SanitizerReportTest, LedgerFindingAbortsWithTheReport) {
  ProbeResult r = RunProbe("ledger");
  SCOPED_TRACE(r.output);
  ASSERT_TRUE(WIFSIGNALED(r.status)) << "abort() so that libFuzzer saves the input";
  EXPECT_EQ(WTERMSIG(r.status), SIGABRT);
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(==FTF== ERROR: ledger: PREMATURE_FREE obj#2 at core/)")));
  EXPECT_NE(r.output.find("held by register r0 of T1"), std::string::npos);
  ExpectFtfuzzBlock(r, "PREMATURE_FREE");
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(SUMMARY: ftfuzz: PREMATURE_FREE core/\S+ in STORE_ATTR_SLOT\n)")));
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// After the report, the CHECK-style line ClusterFuzz builds its crash state
// from (report.h: CrashStateLines), then the abort.
TEST(SanitizerReportTest, LedgerFindingEndsWithTheCrashStateLines) {
  ProbeResult r = RunProbe("ledger");
  SCOPED_TRACE(r.output);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(SUMMARY: ftfuzz: PREMATURE_FREE (core/\S+ in STORE_ATTR_SLOT)\n\[ftfuzz:FATAL:\w+\.cc\([0-9]+\)\] Check failed: PREMATURE_FREE (\S+ in STORE_ATTR_SLOT)\nftfuzz: [^\n]*previously allocated by)")));
  EXPECT_EQ(m[1].str(), m[2].str());
}

// OSS-Fuzz runs with handle_abort=1: the sanitizer then reports our abort.
// The finding must still be named once, by ftfuzz, not a second time as an
// "ASAN"/"DATA_RACE" finding at the abort.
TEST(SanitizerReportTest, AHandledAbortAddsNoSecondFtfuzzSummary) {
  ProbeResult r = RunProbe("ledger", "ASAN_OPTIONS=handle_abort=1 TSAN_OPTIONS=handle_abort=1");
  SCOPED_TRACE(r.output);
  EXPECT_TRUE(r.died());
  EXPECT_EQ(Count(r.output, "SUMMARY: ftfuzz: "), 1u);
  EXPECT_NE(r.output.find("SUMMARY: ftfuzz: PREMATURE_FREE"), std::string::npos);
}

TEST(SanitizerReportTest, CleanProbeExitsNormally) {
  ProbeResult r = RunProbe("clean");
  EXPECT_FALSE(r.died()) << r.output;
  EXPECT_EQ(r.output.find("SUMMARY:"), std::string::npos) << r.output;
}

#if defined(FTF_TSAN)
TEST(SanitizerReportTest, DataRaceIsReportedWithTheFtfuzzSummary) {
  ProbeResult r = RunProbe("race");
  SCOPED_TRACE(r.output);
  EXPECT_TRUE(r.died());
  EXPECT_NE(r.output.find("WARNING: ThreadSanitizer: data race"), std::string::npos);
  EXPECT_NE(r.output.find("SUMMARY: ThreadSanitizer: data race"), std::string::npos);
  EXPECT_NE(r.output.find("==FTF== ERROR: ThreadSanitizer: DATA_RACE"), std::string::npos);
  // The racing access's line (the Cell call in the probe, not the wrapper in
  // core/atomics.h) and the operation from the step note.
  EXPECT_TRUE(std::regex_search(r.output,
                                std::regex(R"(SUMMARY: ftfuzz: DATA_RACE audit/audit_probe\.cc:[0-9]+ in STORE_ATTR_SLOT\n)")));
  EXPECT_NE(r.output.find("== Last "), std::string::npos) << "the schedule of the active run";
  ExpectFtfuzzBlock(r, "DATA_RACE");
}

// Every frame of TSan's report is symbolized: each names its function, and
// each in the probe's own code its file:line, never `<null> <null>`. That
// is what a runtime whose llvm-symbolizer is missing prints ("invalid path
// to external symbolizer": Debian's clang-19 runtime looks for
// /usr/bin/llvm-symbolizer-19, package llvm-19), and what the harness's
// external_symbolizer_path (fuzzers/sanitizer_defaults.cc) prevents.
TEST(SanitizerReportTest, RaceReportFramesNameFunctionsAndFiles) {
  ProbeResult r = RunProbe("race");
  SCOPED_TRACE(r.output);
  ASSERT_NE(r.output.find("WARNING: ThreadSanitizer: data race"), std::string::npos);
  EXPECT_EQ(r.output.find("invalid path to external symbolizer"), std::string::npos);
  EXPECT_EQ(r.output.find("isn't a known symbolizer"), std::string::npos);
  // "    #0 Function /path/file.cc:LINE:COL (module+0x...)".
  const std::regex frame(R"(\n +#[0-9]+ ([^\n]*))");
  int own = 0;
  for (std::sregex_iterator it(r.output.begin(), r.output.end(), frame), end; it != end; ++it) {
    const std::string text = (*it)[1].str();
    EXPECT_NE(text.rfind("<null>", 0), 0u) << "a frame with no function: " << (*it)[0];
    if (text.find("(audit_probe+") == std::string::npos) continue;  // libraries may lack line tables
    ++own;
    EXPECT_TRUE(std::regex_search(text, std::regex(R"(\.(cc|h):[0-9]+)"))) << (*it)[0];
  }
  EXPECT_GE(own, 4);
  // The racing access's frame names the probe's source line.
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(\n +#[0-9]+ \S.* \S*audit_probe\.cc:[0-9]+)")));
}

// The race's signature: its plain write (both threads store plainly at the
// same line: one site), the same whether read from the model's trace (the
// ftfuzz report's SIGNATURE line) or from the first non-wrapper frame of
// each of TSan's two stacks (`ftf classify` of a log with only TSan's report).
TEST(SanitizerReportTest, DataRaceSignatureIsThePlainWrite) {
  ProbeResult r = RunProbe("race");
  SCOPED_TRACE(r.output);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.output, m,
      std::regex(R"(\nSIGNATURE: ftfuzz: DATA_RACE ([0-9a-f]{16}) (race audit/audit_probe\.cc:[0-9]+)\nSUMMARY: ftfuzz: DATA_RACE )")));
  const std::string tsan_part = r.output.substr(0, r.output.find("==FTF== ERROR"));
  EXPECT_EQ(ftf::audit::RaceCauseFromTsanReport(tsan_part), m[2].str());
  std::optional<ftf::audit::ParsedFinding> f = ftf::audit::LastFinding(r.output);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, ftf::audit::FindingKind::kDataRace);
  EXPECT_EQ(f->signature, m[1].str());
  EXPECT_EQ(f->cause, m[2].str());
}

// The report of a race is built after the run, outside TSan's report: a
// long rendering (hundreds of thousands of TSan events) must not hang.
// Built inside the hook it needed a new TSan trace part, whose allocation
// takes the mutex TSan holds during a report (a hang seen in CI).
TEST(SanitizerReportTest, ARaceReportThatMakesManyTsanEventsDoesNotHang) {
  ProbeResult r = RunProbe("race_big", "", /*timeout_s=*/120);
  SCOPED_TRACE(r.output);
  EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT) << "status " << r.status;
  EXPECT_NE(r.output.find("SUMMARY: ftfuzz: DATA_RACE audit/audit_probe.cc:"), std::string::npos);
  ExpectFtfuzzBlock(r, "DATA_RACE");
}

TEST(SanitizerReportTest, AtomicStoresAreNoDataRace) {
  ProbeResult r = RunProbe("norace");
  EXPECT_FALSE(r.died()) << r.output;
  EXPECT_EQ(r.output.find("ThreadSanitizer"), std::string::npos) << r.output;
}

// A deadly signal under TSan is not recorded for after the run (nothing runs
// after it): the hook prints the ftfuzz tail at once, outside TSan's race
// report, and must not hang doing it.
TEST(SanitizerReportTest, ASegvUnderTsanGetsTheFtfuzzTail) {
  ProbeResult r = RunProbe("segv", "", /*timeout_s=*/120);
  SCOPED_TRACE(r.output);
  EXPECT_TRUE(r.died());
  EXPECT_FALSE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL) << "hung";
  EXPECT_NE(r.output.find("SUMMARY: ThreadSanitizer: SEGV"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(SUMMARY: ftfuzz: [A-Z_]+ audit/audit_probe\.cc:[0-9]+)")));
  ExpectFtfuzzBlock(r, "[A-Z_]+");
}
#else
TEST(SanitizerReportTest, DataRaceNeedsTheTsanPreset) { GTEST_SKIP() << "DATA_RACE is reported by TSan: tsan preset"; }
#endif

#if defined(FTF_ASAN)
TEST(SanitizerReportTest, FreedPayloadAccessIsAnAsanFinding) {
  ProbeResult r = RunProbe("uaf");
  SCOPED_TRACE(r.output);
  EXPECT_TRUE(r.died());
  EXPECT_NE(r.output.find("ERROR: AddressSanitizer: use-after-poison"), std::string::npos);
  EXPECT_NE(r.output.find("==FTF== ERROR: AddressSanitizer: ASAN"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(SUMMARY: ftfuzz: ASAN audit/audit_probe\.cc:[0-9]+ in STORE_ATTR_SLOT\n)")));
  ExpectFtfuzzBlock(r, "ASAN");
}

TEST(SanitizerReportTest, UndefinedBehaviourIsAnUbsanFinding) {
  ProbeResult r = RunProbe("ubsan");
  SCOPED_TRACE(r.output);
  EXPECT_TRUE(r.died());
  EXPECT_NE(r.output.find("runtime error: signed integer overflow"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(SUMMARY: ftfuzz: UBSAN audit/audit_probe\.cc:[0-9]+ in STORE_ATTR_SLOT\n)")));
  ExpectFtfuzzBlock(r, "UBSAN");
}

TEST(SanitizerReportTest, AtomicStoresAreNoAsanFinding) {
  ProbeResult r = RunProbe("norace");
  EXPECT_FALSE(r.died()) << r.output;
  EXPECT_EQ(r.output.find("Sanitizer"), std::string::npos) << r.output;
}
#else
TEST(SanitizerReportTest, AsanAndUbsanNeedTheAsanPreset) { GTEST_SKIP() << "ASAN/UBSAN: asan preset"; }
#endif

}  // namespace
