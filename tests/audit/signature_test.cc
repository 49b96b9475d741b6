// signature_test.cc - root-cause signatures (audit/signature.h) and reading
// findings back from report lines (audit/report_parse.h).

#include "audit/signature.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audit/report.h"
#include "audit/report_parse.h"
#include "sched/trace.h"

namespace ftf::audit {
namespace {

TEST(SignatureTest, HashIsFnv1aOfTheCauseAlone) {
  const Signature s = MakeSignature(FindingKind::kDataRace, "race core/a.cc:1 core/b.cc:2");
  // FNV-1a 64, written out here, of the cause.
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : std::string("race core/a.cc:1 core/b.cc:2")) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  EXPECT_EQ(s.hash, h);
  EXPECT_EQ(s.Hex().size(), 16u);
  EXPECT_EQ(s.Hex().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(SignatureLine(s), "SIGNATURE: ftfuzz: DATA_RACE " + s.Hex() + " race core/a.cc:1 core/b.cc:2");
  EXPECT_EQ(MakeSignature(FindingKind::kUseAfterFree, s.cause).hash, s.hash)
      << "one defect seen as a race and as a use after free is one finding";
  EXPECT_NE(MakeSignature(FindingKind::kDataRace, "race core/a.cc:1").hash, s.hash);
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

TEST(SignatureTest, TsanRaceCauseIsThePlainWriteOfTheTwoFirstCoreFrames) {
  // A plain write and a plain read: the write is where the fix goes.
  EXPECT_EQ(RaceCauseFromTsanReport(kTsanReport), "race core/member.cc:144");
  EXPECT_EQ(RaceCauseFromTsanReport("no report here\n"), "");
}

// The same pair as TSan's report structure hands it over (the live path of a
// fuzz run): the symbolizer's frames, inlined ones expanded, innermost first.
TEST(SignatureTest, TsanRaceCauseFromTheMopsIsTheReportsCause) {
  RaceMop current{{"/src/ftfuzz/src/core/atomics.h:120:5", "/src/ftfuzz/src/core/member.cc:144:7",
                   "/src/ftfuzz/src/runner/interpreter.cc:90:3"},
                  /*write=*/true,
                  /*atomic=*/false};
  RaceMop previous{{"/src/ftfuzz/src/core/atomics.h:110:12", "/src/ftfuzz/src/core/slot_access.cc:129:20"},
                   /*write=*/false,
                   /*atomic=*/false};
  EXPECT_EQ(RaceCauseFromMops(current, previous), RaceCauseFromTsanReport(kTsanReport));
  // An atomic read against the plain write: only the write names the race.
  previous.atomic = true;
  EXPECT_EQ(RaceCauseFromMops(current, previous), "race core/member.cc:144");
  // Two plain writes: both, in a fixed order.
  previous.atomic = false;
  previous.write = true;
  EXPECT_EQ(RaceCauseFromMops(current, previous), RaceCauseFromMops(previous, current));
  // No source line in a stack: no cause (the trace's cause is used).
  previous.frames = {"(slots_fuzzer+0x5)"};
  EXPECT_EQ(RaceCauseFromMops(current, previous), "");
}

// --- one defect, one cause: the plain store of mutant_plain_store ----------

int g_slot, g_refcnt;  // two addresses

struct Access {
  int thread;
  sched::EventKind kind;
  core::Order order;
  const char* file;
  int line;
  const void* addr;
};

// A full trace of `accesses`, one step each (step i+1).
void Fill(sched::Trace& trace, const std::vector<Access>& accesses) {
  trace.Begin(16, /*full=*/true);
  for (const Access& a : accesses) {
    while (!trace.HasStepRoom()) trace.Grow();
    trace.RecordStep(a.thread, a.kind, a.order, a.file, a.line, sched::SiteHash(a.file, a.line), a.addr, 0);
  }
}

Finding At(FindingKind kind, int thread, uint64_t step, std::string site) {
  Finding f;
  f.kind = kind;
  f.thread = thread;
  f.step = step;
  f.site = std::move(site);
  return f;
}

constexpr auto kLoad = sched::EventKind::kLoad;
constexpr auto kStore = sched::EventKind::kStore;
constexpr auto kRmw = sched::EventKind::kRmw;
constexpr auto kPlain = core::Order::kPlain;
constexpr auto kSeqCst = core::Order::kSeqCst;
constexpr auto kRelaxed = core::Order::kRelaxed;
constexpr char kSlotAccess[] = "/src/ftfuzz/src/core/slot_access.cc";
constexpr char kMember[] = "/src/ftfuzz/src/core/member.cc";
constexpr char kRefcount[] = "/src/ftfuzz/src/core/refcount.cc";

// T0 stores the slot plainly (the non-atomic read-modify-write of
// _STORE_ATTR_SLOT); T1 and T2 read it atomically with no order to T0.
const std::vector<Access> kPlainStoreRace = {
    {0, kLoad, kPlain, kSlotAccess, 132, &g_slot},   // step 1
    {0, kStore, kPlain, kSlotAccess, 133, &g_slot},  // step 2
    {1, kLoad, kSeqCst, kMember, 88, &g_slot},       // step 3
    {2, kLoad, kSeqCst, kMember, 88, &g_slot},       // step 4
    {2, kLoad, kPlain, kSlotAccess, 132, &g_slot},   // step 5
};

TEST(SignatureTest, ARaceIsSignedByItsPlainWriteWhoeverNoticedIt) {
  sched::Trace trace;
  Fill(trace, kPlainStoreRace);
  // T2's atomic load at member.cc:88: its last access by another thread is
  // T1's load at the same line, which does not race with it; the store does.
  EXPECT_EQ(RootCause(At(FindingKind::kDataRace, 2, 4, "core/member.cc:88"), &trace, nullptr),
            "race core/slot_access.cc:133");
  EXPECT_EQ(RootCause(At(FindingKind::kDataRace, 1, 3, "core/member.cc:88"), &trace, nullptr),
            "race core/slot_access.cc:133");
  EXPECT_EQ(RootCause(At(FindingKind::kDataRace, 2, 5, "core/slot_access.cc:132"), &trace, nullptr),
            "race core/slot_access.cc:133");
}

// The partner is an access the finding's access races with, not merely the
// last one of another thread: T1's store is ordered before T2's load by the
// flag, T0's is not.
TEST(SignatureTest, ThePartnerIsARacingAccessNotTheLastConflictingOne) {
  const std::vector<Access> steps = {
      {0, kStore, kPlain, kSlotAccess, 133, &g_slot},  // 1: never synchronized with T2
      {1, kStore, kPlain, kMember, 150, &g_slot},      // 2: T1's store ...
      {1, kStore, kSeqCst, kMember, 60, &g_refcnt},    // 3: ... published
      {2, kLoad, kSeqCst, kMember, 61, &g_refcnt},     // 4: T2 acquires it
      {2, kLoad, kSeqCst, kMember, 88, &g_slot},       // 5: races with step 1 only
  };
  sched::Trace trace;
  Fill(trace, steps);
  EXPECT_EQ(RootCause(At(FindingKind::kDataRace, 2, 5, "core/member.cc:88"), &trace, nullptr),
            "race core/slot_access.cc:133");
}

// The plain load of the old value (slot_access.cc:132) racing with another
// writer's atomic store is the read half of the same plain store: one cause.
TEST(SignatureTest, TheReadHalfOfAPlainReadModifyWriteIsNamedByItsWrite) {
  const std::vector<Access> steps = {
      {0, kLoad, kPlain, kSlotAccess, 132, &g_slot},     // 1: T0's whole plain store
      {0, kStore, kPlain, kSlotAccess, 133, &g_slot},    // 2
      {0, kStore, kSeqCst, kMember, 60, &g_refcnt},      // 3: T0 publishes ...
      {2, kLoad, kSeqCst, kMember, 61, &g_refcnt},       // 4: ... to T2: T0's store is ordered
      {1, kRmw, kSeqCst, kMember, 149, &g_slot},         // 5: T1 exchanges
      {2, kLoad, kPlain, kSlotAccess, 132, &g_slot},     // 6: T2's plain read races with it only
  };
  sched::Trace trace;
  Fill(trace, steps);
  EXPECT_EQ(RootCause(At(FindingKind::kDataRace, 2, 6, "core/slot_access.cc:132"), &trace, nullptr),
            "race core/slot_access.cc:133");
}

// ThreadSanitizer's stacks of the same race name it the same way: it says
// which access is atomic.
TEST(SignatureTest, TsanStacksAndTheModelTraceGiveTheSameCause) {
  const std::string report =
      "WARNING: ThreadSanitizer: data race (pid=1)\n"
      "  Atomic read of size 8 at 0x7b0800001234 by main thread:\n"
      "    #0 ftf::core::Cell<ftf::core::Object*>::LoadSeqCst(ftf::core::Loc) const "
      "/src/ftfuzz/src/core/atomics.h:90:12 (slots_fuzzer+0x1)\n"
      "    #1 ftf::core::MemberGetOne(ftf::core::ThreadState&) /src/ftfuzz/src/core/member.cc:88:14 (slots_fuzzer+0x2)\n"
      "\n"
      "  Previous write of size 8 at 0x7b0800001234 by main thread:\n"
      "    #0 ftf::core::Cell<ftf::core::Object*>::StorePlain(ftf::core::Object*, ftf::core::Loc) "
      "/src/ftfuzz/src/core/atomics.h:120:5 (slots_fuzzer+0x3)\n"
      "    #1 ftf::core::StoreAttrSlot(ftf::core::ThreadState&) /src/ftfuzz/src/core/slot_access.cc:133:14 "
      "(slots_fuzzer+0x4)\n"
      "\n"
      "SUMMARY: ThreadSanitizer: data race /src/ftfuzz/src/core/atomics.h:90:12 in LoadSeqCst\n";
  sched::Trace trace;
  Fill(trace, kPlainStoreRace);
  EXPECT_EQ(RaceCauseFromTsanReport(report),
            RootCause(At(FindingKind::kDataRace, 1, 3, "core/member.cc:88"), &trace, nullptr));
  // Both accesses atomic in TSan's words would not be a race; a plain read
  // against an atomic write is named by the read.
  std::string atomic_write = report;
  atomic_write.replace(atomic_write.find("Previous write"), 14, "Previous atomic write");
  atomic_write.replace(atomic_write.find("Atomic read"), 11, "Read");
  EXPECT_EQ(RaceCauseFromTsanReport(atomic_write), "race core/member.cc:88");
}

// A lost update of the plain store breaks a reference count later: the use
// after free, the premature free, the over-release and the leak it causes
// are signed by the store too, with the race's hash.
TEST(SignatureTest, ARefcountFindingIsSignedByTheRacingPlainWrite) {
  std::vector<Access> lost_update = {
      {0, kLoad, kPlain, kSlotAccess, 132, &g_slot},    // 1: T0 reads old
      {1, kLoad, kPlain, kSlotAccess, 132, &g_slot},    // 2: T1 reads old too
      {0, kStore, kPlain, kSlotAccess, 133, &g_slot},   // 3
      {1, kStore, kPlain, kSlotAccess, 133, &g_slot},   // 4
      {0, kRmw, kRelaxed, kRefcount, 60, &g_refcnt},    // 5: both drop old
      {1, kRmw, kRelaxed, kRefcount, 60, &g_refcnt},    // 6
  };
  sched::Trace trace;
  Fill(trace, lost_update);
  const Signature race = MakeSignature(FindingKind::kDataRace, "race core/slot_access.cc:133");
  for (FindingKind kind : {FindingKind::kUseAfterFree, FindingKind::kPrematureFree, FindingKind::kOverRelease,
                           FindingKind::kDoubleFree, FindingKind::kResurrection}) {
    const Signature s = SignatureOf(At(kind, 1, 6, "core/refcount.cc:60"), &trace, nullptr);
    EXPECT_EQ(s.cause, race.cause) << FindingKindName(kind);
    EXPECT_EQ(s.hash, race.hash) << FindingKindName(kind);
  }
  EXPECT_EQ(RootCause(At(FindingKind::kLeak, -1, 0, ""), &trace, nullptr), race.cause);
  // A different plain store is a different defect.
  lost_update[3].file = kMember;
  lost_update[3].line = 149;
  sched::Trace other;
  Fill(other, lost_update);
  EXPECT_EQ(RootCause(At(FindingKind::kUseAfterFree, 1, 6, "core/refcount.cc:60"), &other, nullptr),
            "race core/member.cc:149 core/slot_access.cc:133");
}

// A half-migrated store: one writer exchanges, the other reads the old value
// plainly (under a lock the exchange does not take). Both drop the same old
// value; the race and the use after free are signed by the plain read.
TEST(SignatureTest, APlainReadRacingAnExchangeSignsTheRaceAndTheRefcountFinding) {
  const std::vector<Access> half = {
      {0, kLoad, kPlain, kMember, 147, &g_slot},        // 1: T0 reads old
      {1, kRmw, kSeqCst, kSlotAccess, 129, &g_slot},    // 2: T1 exchanges it out
      {1, kRmw, kRelaxed, kRefcount, 60, &g_refcnt},    // 3: T1 drops old
      {0, kRmw, kRelaxed, kRefcount, 60, &g_refcnt},    // 4: T0 drops old again
  };
  sched::Trace trace;
  Fill(trace, half);
  EXPECT_EQ(RootCause(At(FindingKind::kDataRace, 1, 2, "core/slot_access.cc:129"), &trace, nullptr),
            "race core/member.cc:147");
  EXPECT_EQ(RootCause(At(FindingKind::kUseAfterFree, 0, 4, "core/refcount.cc:60"), &trace, nullptr),
            "race core/member.cc:147");
}

TEST(SignatureTest, ARefcountFindingWithoutARacingPlainWriteKeepsItsOperationSite) {
  // Atomic accesses only, and a racing plain write in the bookkeeping
  // (object initialisation) that is not the defect.
  const std::vector<Access> atomics = {
      {0, kStore, kSeqCst, kSlotAccess, 129, &g_slot},
      {1, kStore, kPlain, "/src/ftfuzz/src/core/object.cc", 72, &g_refcnt},
      {0, kRmw, kRelaxed, kRefcount, 60, &g_refcnt},
      {1, kLoad, kSeqCst, kMember, 88, &g_slot},
  };
  sched::Trace trace;
  Fill(trace, atomics);
  EXPECT_EQ(RootCause(At(FindingKind::kUseAfterFree, 1, 4, "core/member.cc:88"), &trace, nullptr),
            "op core/member.cc:88");
}

TEST(SignatureTest, AWrongValueNeverMissesAWriteOfTheHarness) {
  // T1 inserts into the dict (core), then the interpreter drops a register
  // at the end of T1 (a harness call site); T0's load read no address T1
  // wrote. The missed write is the insert, not the clean-up, whose line
  // moves with every edit of the interpreter.
  static int g_entry, g_reg;
  const std::vector<Access> steps = {
      {1, kStore, kRelaxed, "/src/ftfuzz/src/core/dict.cc", 52, &g_entry},
      {1, kRmw, kRelaxed, "/src/ftfuzz/src/runner/interpreter.cc", 64, &g_reg},
      {0, kLoad, kRelaxed, "/src/ftfuzz/src/core/dict_read.cc", 53, &g_slot},
  };
  sched::Trace trace;
  Fill(trace, steps);
  EXPECT_EQ(RootCause(At(FindingKind::kWrongValue, 0, 3, "core/dict_read.cc:53"), &trace, nullptr),
            "stale-load core/dict_read.cc:53 missed-write core/dict.cc:52");
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
  EXPECT_EQ(all[0].cause, "race core/member.cc:144 core/slot_access.cc:129")
      << "an ftfuzz report's own SIGNATURE line is taken as it is";
}

TEST(ReportParseTest, ASanitizerReportAloneIsAFindingWithItsStacksCause) {
  std::optional<ParsedFinding> f = LastFinding(kTsanReport);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kDataRace);
  EXPECT_EQ(f->cause, "race core/member.cc:144");
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
