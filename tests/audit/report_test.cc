// The one report format, checked on a real finding from a fiber run: the
// header, every section, the SUMMARY line (no addresses, no step numbers),
// and the whole text identical for two runs of the same input. Also the
// determinism check (same finding / NOT DETERMINISTIC) and the parsing of
// sanitizer SUMMARY lines.

#include "audit/report.h"

#include <gtest/gtest.h>

#include <regex>

#include "audit/determinism.h"
#include "audit/ledger.h"
#include "audit/sanitizer_report.h"
#include "audit/step_note.h"
#include "audit_test_util.h"
#include "core/stw.h"
#include "program/program.h"
#include "program/text.h"
#include "sched/fiber_executor.h"

namespace ftf::audit {
namespace {

using core::Object;
using testing::Direct;
using testing::DropRegister;
using testing::TestHolders;

// `t0: del r0` and `t1: del r0`: both registers hold obj#2, but the copy
// in T1's register was made without Py_INCREF (the injected bug). When T0
// drops its reference, obj#2 is freed while T1's register still holds it.
program::Program TwoDrops() {
  program::Program p = program::EmptyProgram();
  p.threads.resize(2);
  for (auto& t : p.threads) {
    program::Op op;
    op.code = program::OpCode::kDrop;
    op.reg = 0;
    t.ops.push_back(op);
  }
  p.schedule = Direct({0xF8, 0xF9});
  return p;
}

struct ScenarioResult {
  std::optional<Finding> finding;
  uint64_t trace_hash = 0;
  std::string report;
};

// Runs the scenario; on a finding, re-runs it with full tracing (unless this
// is the re-run) and builds the report while the run's state is alive.
ScenarioResult RunScenario(const program::Program& p, bool full_trace) {
  core::Runtime rt(2);
  RefLedger ledger(rt);
  TestHolders h;
  ledger.set_holders(&h);
  ledger.Install();
  Object* o = core::NewObject(rt.thread(0), 0);
  const uint64_t id = core::ObjectId(o);
  h.regs[0][0] = o;
  h.regs[1][0] = o;  // the bug: no Py_INCREF for the second holder

  sched::FiberExecutor ex;
  sched::RunOptions opts;
  opts.full_trace = full_trace;
  ScenarioResult out;
  try {
    ex.Run(
        2,
        [&](int t) {
          core::ThreadState& ts = rt.thread(t);
          core::ThreadStart(ts);
          const program::Op& op = p.threads[t].ops[0];
          ledger.BeginOp(t, 0, static_cast<uint8_t>(op.code));
          ex.SetNote(PackStepNote(0, op.code, id));
          DropRegister(h, ts, op.reg);
          core::ThreadExit(ts);
        },
        p.schedule, opts);
  } catch (const FindingException& e) {
    out.finding = e.finding();
  }
  out.trace_hash = ex.trace().hash();
  if (!out.finding.has_value() || full_trace) return out;
  DeterminismCheck det = CheckDeterminism(*out.finding, out.trace_hash, [&] {
    ScenarioResult again = RunScenario(p, true);
    return Rerun{again.finding, again.trace_hash};
  });
  ReportContext ctx;
  ctx.program = &p;
  ctx.input_path = "crash-premature";
  ctx.variant = "locked";
  ctx.trace = &ex.trace();
  ctx.ledger = &ledger;
  ctx.determinism = &det;
  out.report = BuildReport(*out.finding, ctx);
  return out;
}

TEST(ReportTest, FormatOfALedgerFinding) {
  const program::Program p = TwoDrops();
  ScenarioResult r = RunScenario(p, false);
  ASSERT_TRUE(r.finding.has_value());
  const Finding& f = *r.finding;
  ASSERT_EQ(f.kind, FindingKind::kPrematureFree) << f.message;
  EXPECT_EQ(f.operation, "DROP");
  const std::string& rep = r.report;
  SCOPED_TRACE(rep);

  // Header, message, where.
  EXPECT_TRUE(std::regex_search(
      rep, std::regex(R"(^==FTF== ERROR: ledger: PREMATURE_FREE obj#2 at core/[a-z_]+\.(cc|h):[0-9]+ in DROP\n)")));
  EXPECT_NE(rep.find("  obj#2 deallocated while 1 reference(s) to it are still held\n"), std::string::npos);
  EXPECT_NE(rep.find("  held by register r0 of T1\n"), std::string::npos);
  EXPECT_NE(rep.find("  on T0 at step " + std::to_string(f.step) + "\n"), std::string::npos);
  // The sections, in order.
  size_t pos = 0;
  for (const char* section : {"== Program ==\n  ftfuzz program v2\n", "  t0:    del r0", "  t1:    del r0",
                              "== Schedule (thread@step; 1 context switch) ==\n  T0@0\n",
                              "== Last ", "== History of obj#2 ==\n", "== Determinism ==\n",
                              "Reproduce with: ./ftfuzz repro crash-premature --variant=locked\n",
                              "== Regression test draft ==\n// Needs #include \"runner/replay.h\" (link "
                              "ftf_runner).\nTEST(AuditRegression, PrematureFreeDrop) {\n",
                              "SIGNATURE: ftfuzz: PREMATURE_FREE ", "SUMMARY: ftfuzz: PREMATURE_FREE "}) {
    const size_t at = rep.find(section, pos);
    ASSERT_NE(at, std::string::npos) << "missing or out of order: " << section;
    pos = at;
  }
  // The trace marks the step of the finding, names the operation and the refcount change.
  EXPECT_TRUE(std::regex_search(rep, std::regex(R"(>> step +[0-9]+  T0  op#0 DROP .* obj#2 +merge-zero-local-free shared 0->0)")));
  EXPECT_NE(rep.find("decref-local local 1->0 (refcount 1->0)"), std::string::npos);
  // The history: created during set-up, the drop, the dealloc.
  EXPECT_NE(rep.find("obj#2 (0 slots): allocated by T0 at step 0 (-)"), std::string::npos);
  EXPECT_NE(rep.find("re-run with full tracing: same finding (PREMATURE_FREE at step"), std::string::npos);
  // The regression draft embeds the program text verbatim.
  EXPECT_NE(rep.find("R\"ftf(\nftfuzz program v2\n"), std::string::npos);
  EXPECT_NE(rep.find("  const ftf::runner::Replayed r = ftf::runner::ReplayText(kProgram, \"locked\");\n"
                     "  ASSERT_TRUE(r.error.empty()) << r.error;\n"
                     "  EXPECT_EQ(r.kind, ftf::core::FindingKind::kPrematureFree);\n"
                     "  EXPECT_EQ(r.signature, \""),
            std::string::npos);

  // No addresses anywhere; the SUMMARY line is the last line and has no step number.
  EXPECT_EQ(rep.find("0x"), std::string::npos);
  const std::string summary = SummaryLine(f);
  EXPECT_TRUE(std::regex_match(summary, std::regex(R"(SUMMARY: ftfuzz: PREMATURE_FREE core/[a-z_]+\.(cc|h):[0-9]+ in DROP)")))
      << summary;
  EXPECT_EQ(rep.substr(rep.size() - summary.size() - 1), summary + "\n");
}

// The two lines for ClusterFuzz (report.h): a Chromium-style CHECK line whose
// message is the SUMMARY location, with the first core site in brackets, and
// a line with a stop marker. Checked against the format, written out here:
//   ^[<anything>:<file>(<line>)] Check failed: <message without ';'>$
TEST(CrashStateLinesTest, CheckLineCarriesTheSummaryLocation) {
  const std::regex check(R"(^\[ftfuzz:FATAL:([^\]:(]+)\(([0-9]+)\)\] Check failed: ([^;\n]*)\n)");
  struct Case {
    FindingKind kind;
    std::string site, operation, file, line;
  };
  const Case cases[] = {
      {FindingKind::kUseAfterFree, "core/refcount.cc:118", "STORE_ATTR_SLOT", "refcount.cc", "118"},
      {FindingKind::kDeadlock, "PyMutex_Lock@core/dict.cc:228", "", "dict.cc", "228"},
      {FindingKind::kLivelock, "core/refcount.cc:129 core/refcount.cc:146", "", "refcount.cc", "129"},
      {FindingKind::kLeak, "", "", "ftfuzz", "0"},
      {FindingKind::kWrongValue, "core/dict_keys.cc", "LOAD_GLOBAL (g7; stale)", "ftfuzz", "0"},
  };
  for (const Case& c : cases) {
    Finding f;
    f.kind = c.kind;
    f.site = c.site;
    f.operation = c.operation;
    const std::string lines = CrashStateLines(f);
    SCOPED_TRACE(lines);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(lines, m, check));
    EXPECT_EQ(m[1].str(), c.file);
    EXPECT_EQ(m[2].str(), c.line);
    std::string expected = std::string(FindingKindName(c.kind)) + " " + f.Location();
    for (char& ch : expected) ch = ch == ';' ? ',' : ch;
    EXPECT_EQ(m[3].str(), expected);
    // The second line holds ClusterFuzz's stop marker, so the abort frames
    // that every finding shares stay out of the crash state.
    EXPECT_NE(lines.substr(lines.find('\n') + 1).find("previously allocated by"), std::string::npos);
  }
}

TEST(ReportTest, TwoRunsGiveTheSameReport) {
  const program::Program p = TwoDrops();
  ScenarioResult a = RunScenario(p, false);
  ScenarioResult b = RunScenario(p, false);
  ASSERT_TRUE(a.finding.has_value());
  EXPECT_EQ(a.report, b.report);
}

TEST(ReportTest, NoFindingWithTheIncref) {
  // The must-not-detect twin of the report scenario: run the same program
  // with the reference counted.
  core::Runtime rt(2);
  RefLedger ledger(rt);
  TestHolders h;
  ledger.set_holders(&h);
  ledger.Install();
  Object* o = core::NewObject(rt.thread(0), 0);
  h.regs[0][0] = o;
  core::Incref(rt.thread(0), o);
  h.regs[1][0] = o;
  sched::FiberExecutor ex;
  ex.Run(
      2,
      [&](int t) {
        core::ThreadState& ts = rt.thread(t);
        core::ThreadStart(ts);
        DropRegister(h, ts, 0);
        core::ThreadExit(ts);
      },
      Direct({0xF8, 0xF9}));
  ledger.CheckEnd();
  EXPECT_FALSE(ledger.has_finding()) << ledger.finding()->message;
}

TEST(DeterminismTest, DifferentStepIsReportedLoudly) {
  Finding first;
  first.kind = FindingKind::kDoubleFree;
  first.step = 40;
  first.thread = 1;
  constexpr uint64_t kHash = 0x1234abcd5678ef00;
  DeterminismCheck same = CheckDeterminism(first, kHash, [&] { return Rerun{first, kHash}; });
  EXPECT_TRUE(same.deterministic);
  EXPECT_EQ(same.message,
            "re-run with full tracing: same finding (DOUBLE_FREE at step 40 on T1), same trace (hash "
            "1234abcd5678ef00)");

  DeterminismCheck moved = CheckDeterminism(first, kHash, [&] {
    Finding g = first;
    g.step = 43;
    return Rerun{g, kHash};
  });
  EXPECT_FALSE(moved.deterministic);
  EXPECT_EQ(moved.message,
            "NOT DETERMINISTIC: first run: DOUBLE_FREE at step 40 on T1; re-run with full tracing: DOUBLE_FREE at "
            "step 43 on T1");

  // The same finding from a different interleaving (another trace) is not
  // the same run.
  DeterminismCheck other_trace = CheckDeterminism(first, kHash, [&] { return Rerun{first, kHash ^ 1}; });
  EXPECT_FALSE(other_trace.deterministic);
  EXPECT_EQ(other_trace.message,
            "NOT DETERMINISTIC: trace hash 1234abcd5678ef00, re-run with full tracing 1234abcd5678ef01 (same "
            "finding: DOUBLE_FREE at step 40 on T1)");

  DeterminismCheck gone = CheckDeterminism(first, kHash, [] { return Rerun{}; });
  EXPECT_FALSE(gone.deterministic);
  EXPECT_NE(gone.message.find("NOT DETERMINISTIC"), std::string::npos);
  EXPECT_NE(gone.message.find("no finding"), std::string::npos);

  // A FindingException escaping the re-run counts as its finding.
  DeterminismCheck thrown = CheckDeterminism(first, kHash, []() -> Rerun {
    Finding g;
    g.kind = FindingKind::kUseAfterFree;
    g.step = 40;
    g.thread = 1;
    throw FindingException(g);
  });
  EXPECT_FALSE(thrown.deterministic);
  EXPECT_NE(thrown.message.find("USE_AFTER_FREE at step 40 on T1"), std::string::npos) << thrown.message;

  ReportContext ctx;
  ctx.determinism = &moved;
  EXPECT_NE(BuildReport(first, ctx).find("== Determinism ==\n  NOT DETERMINISTIC: "), std::string::npos);
}

TEST(SanitizerSummaryTest, ParsesTheThreeRuntimes) {
  std::optional<SanitizerSummary> t = ParseSanitizerSummary(
      "SUMMARY: ThreadSanitizer: data race /work/main/src/core/member.cc:88:5 in ftf::core::MemberSetOne(int)");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->kind, FindingKind::kDataRace);
  EXPECT_EQ(t->tool, "ThreadSanitizer");
  EXPECT_EQ(t->bug, "data race");
  EXPECT_EQ(t->site, "core/member.cc:88");
  EXPECT_EQ(t->function, "ftf::core::MemberSetOne(int)");
  EXPECT_EQ(SummaryLine(FindingFromSanitizer(*t)), "SUMMARY: ftfuzz: DATA_RACE core/member.cc:88");

  std::optional<SanitizerSummary> a = ParseSanitizerSummary(
      "SUMMARY: AddressSanitizer: heap-use-after-free /src/core/dict_keys.cc:120:10 in KeysLookupThreadsafe\n");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->kind, FindingKind::kAsan);
  EXPECT_EQ(a->bug, "heap-use-after-free");
  EXPECT_EQ(a->site, "core/dict_keys.cc:120");

  std::optional<SanitizerSummary> u = ParseSanitizerSummary(
      "SUMMARY: UndefinedBehaviorSanitizer: signed-integer-overflow /w/tests/audit/audit_probe.cc:30:12 in ");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->kind, FindingKind::kUbsan);
  EXPECT_EQ(u->bug, "signed-integer-overflow");
  EXPECT_EQ(u->site, "audit/audit_probe.cc:30");

  // Frames without symbols give no site (and never an address).
  std::optional<SanitizerSummary> n =
      ParseSanitizerSummary("SUMMARY: ThreadSanitizer: data race (/lib/libc.so.6+0x8a3f1) in memcpy");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->site, "");
  EXPECT_EQ(SummaryLine(FindingFromSanitizer(*n)).find("0x"), std::string::npos);

  EXPECT_FALSE(ParseSanitizerSummary("SUMMARY: libFuzzer: deadly signal").has_value());
  EXPECT_FALSE(ParseSanitizerSummary("WARNING: ThreadSanitizer: data race").has_value());
  EXPECT_FALSE(ParseSanitizerSummary("").has_value());
}

}  // namespace
}  // namespace ftf::audit
