// signature_test.cc - root-cause signatures (audit/signature.h) and reading
// findings back from report lines (audit/report_parse.h).

#include "audit/signature.h"

#include <gtest/gtest.h>

#include <string>

#include "audit/report.h"
#include "audit/report_parse.h"

namespace ftf::audit {
namespace {

TEST(SignatureTest, HashIsFnv1aOfKindAndCause) {
  const Signature s = MakeSignature(FindingKind::kDataRace, "race core/a.cc:1 core/b.cc:2");
  // FNV-1a 64, written out here, of "<KIND> <cause>".
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : std::string("DATA_RACE race core/a.cc:1 core/b.cc:2")) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  EXPECT_EQ(s.hash, h);
  EXPECT_EQ(s.Hex().size(), 16u);
  EXPECT_EQ(s.Hex().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(SignatureLine(s), "SIGNATURE: ftfuzz: DATA_RACE " + s.Hex() + " race core/a.cc:1 core/b.cc:2");
  EXPECT_NE(MakeSignature(FindingKind::kWrongValue, s.cause).hash, s.hash) << "the kind is part of the hash";
}

TEST(SignatureTest, AFindingsOwnCauseWins) {
  Finding f;
  f.kind = FindingKind::kCrash;
  f.site = "core/dict_keys.cc:160";
  EXPECT_EQ(SignatureOf(f, nullptr, nullptr).cause, "crash core/dict_keys.cc:160");
  f.cause = "crash core/x.cc:1";
  EXPECT_EQ(SignatureOf(f, nullptr, nullptr).cause, "crash core/x.cc:1");
}

// The shape of a ThreadSanitizer report (clang 19), trimmed.
constexpr char kTsanReport[] =
    "==================\n"
    "WARNING: ThreadSanitizer: data race (pid=4242)\n"
    "  Write of size 8 at 0x7b0800001234 by main thread:\n"
    "    #0 ftf::core::Cell<ftf::core::Object*>::StorePlain(ftf::core::Object*, ftf::core::Loc) "
    "/src/ftfuzz/src/core/atomics.h:120:5 (slots_fuzzer+0x1)\n"
    "    #1 ftf::core::MemberSetOne(ftf::core::ThreadState&, int) /src/ftfuzz/src/core/member.cc:144:7 "
    "(slots_fuzzer+0x2)\n"
    "    #2 ftf::runner::World::RunThread(int) /src/ftfuzz/src/runner/interpreter.cc:90:3 (slots_fuzzer+0x3)\n"
    "\n"
    "  Previous read of size 8 at 0x7b0800001234 by main thread:\n"
    "    #0 ftf::core::Cell<ftf::core::Object*>::LoadPlain(ftf::core::Loc) const "
    "/src/ftfuzz/src/core/atomics.h:110:12 (slots_fuzzer+0x4)\n"
    "    #1 ftf::core::StoreAttrSlot(ftf::core::ThreadState&) /src/ftfuzz/src/core/slot_access.cc:129:20 "
    "(slots_fuzzer+0x5)\n"
    "\n"
    "SUMMARY: ThreadSanitizer: data race /src/ftfuzz/src/core/atomics.h:120:5 in "
    "ftf::core::Cell<ftf::core::Object*>::StorePlain(ftf::core::Object*, ftf::core::Loc)\n"
    "==================\n";

TEST(SignatureTest, TsanRaceCauseIsTheFirstCoreFrameOfEachStack) {
  EXPECT_EQ(RaceCauseFromTsanReport(kTsanReport), "race core/member.cc:144 core/slot_access.cc:129");
  EXPECT_EQ(RaceCauseFromTsanReport("no report here\n"), "");
}

TEST(ReportParseTest, AnFtfuzzReportAfterTheSanitizerReportIsTheFinding) {
  const std::string log = std::string("INFO: Seed: 1\n") + kTsanReport +
                          "==FTF== ERROR: ThreadSanitizer: DATA_RACE obj#3 at core/member.cc:144 in MEMBER_SET\n"
                          "SIGNATURE: ftfuzz: DATA_RACE 0123456789abcdef race core/member.cc:144 core/slot_access.cc:129\n"
                          "SUMMARY: ftfuzz: DATA_RACE core/member.cc:144 in MEMBER_SET\n"
                          "[ftfuzz:FATAL:member.cc(144)] Check failed: DATA_RACE core/member.cc:144 in MEMBER_SET\n"
                          "SUMMARY: ThreadSanitizer: ABRT (/lib/x86_64-linux-gnu/libc.so.6+0x1) in abort\n";
  std::vector<ParsedFinding> all = ParseReportLines(log);
  ASSERT_EQ(all.size(), 1u) << "the TSan summary and the abort after the report are the same finding";
  EXPECT_EQ(all[0].kind, FindingKind::kDataRace);
  EXPECT_EQ(all[0].summary, "SUMMARY: ftfuzz: DATA_RACE core/member.cc:144 in MEMBER_SET");
  EXPECT_EQ(all[0].signature, "0123456789abcdef");
  EXPECT_EQ(all[0].cause, "race core/member.cc:144 core/slot_access.cc:129");
}

TEST(ReportParseTest, ASanitizerReportAloneIsAFindingWithItsStacksCause) {
  std::optional<ParsedFinding> f = LastFinding(kTsanReport);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kDataRace);
  EXPECT_EQ(f->cause, "race core/member.cc:144 core/slot_access.cc:129");
  EXPECT_EQ(f->signature, MakeSignature(FindingKind::kDataRace, f->cause).Hex());
}

TEST(ReportParseTest, TheLastOfSeveralFindingsAndOldReports) {
  const std::string log =
      "Running: a\n"
      "SIGNATURE: ftfuzz: DEADLOCK 00000000000000aa blocked PyMutex_Lock@core/dict.cc:228\n"
      "SUMMARY: ftfuzz: DEADLOCK PyMutex_Lock@core/dict.cc:228\n"
      "Running: b\n"
      "SUMMARY: ftfuzz: WRONG_VALUE core/refcount.cc:173 in LOAD_GLOBAL\n";
  std::vector<ParsedFinding> all = ParseReportLines(log);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].signature, "00000000000000aa");
  // No SIGNATURE line (an older report): the SUMMARY site without the operation.
  EXPECT_EQ(all[1].kind, FindingKind::kWrongValue);
  EXPECT_EQ(all[1].cause, "site core/refcount.cc:173");
  EXPECT_EQ(all[1].signature, MakeSignature(FindingKind::kWrongValue, "site core/refcount.cc:173").Hex());
  EXPECT_FALSE(LastFinding("INFO: Seed: 1\nDone 100 runs in 1 second(s)\n").has_value());
  EXPECT_FALSE(LastFinding("SUMMARY: ftfuzz: NOT_A_KIND x\n").has_value());
}

TEST(ReportParseTest, ATimeoutIsAHang) {
  std::optional<ParsedFinding> f = LastFinding("ALARM: working on the last Unit for 26 seconds\nSUMMARY: libFuzzer: timeout\n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kHang);
}

// A report built by BuildReport reads back as its own signature.
TEST(ReportParseTest, BuildReportRoundTrips) {
  Finding f;
  f.kind = FindingKind::kDeadlock;
  f.auditor = "executor";
  f.site = "PyMutex_Lock@core/dict.cc:228";
  f.message = "all 2 unfinished logical threads are blocked";
  ReportContext ctx;
  ctx.program_text = "thread 0:\n  yield\n";
  const std::string report = BuildReport(f, ctx);
  const Signature sig = SignatureOf(f, nullptr, nullptr);
  EXPECT_NE(report.find("  root cause: blocked PyMutex_Lock@core/dict.cc:228 (signature " + sig.Hex() + ")\n"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find(SignatureLine(sig) + "\n" + SummaryLine(f) + "\n"), std::string::npos)
      << "the SIGNATURE line comes right before the SUMMARY line:\n"
      << report;
  std::optional<ParsedFinding> p = LastFinding(report);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->signature, sig.Hex());
  EXPECT_EQ(p->cause, sig.cause);
  EXPECT_EQ(p->summary, SummaryLine(f));
}

}  // namespace
}  // namespace ftf::audit
