// report.cc - building and printing the one report format (see report.h).

#include "audit/report.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "absl/strings/str_format.h"
#include "audit/ledger.h"
#include "audit/signature.h"
#include "audit/step_note.h"
#include "program/program.h"
#include "program/text.h"
#include "sched/trace.h"

namespace ftf::audit {
namespace {

// Each non-empty line of `text`, prefixed. (Debian's absl has its own
// string_view, so no absl::StrSplit on std::string_view here.)
void AppendIndented(std::string* out, std::string_view text, std::string_view indent) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    if (nl > pos) {
      out->append(indent);
      out->append(text.substr(pos, nl - pos));
      out->push_back('\n');
    }
    pos = nl + 1;
  }
}

std::string ProgramText(const ReportContext& ctx) {
  if (ctx.program != nullptr) return program::ToText(*ctx.program);
  return ctx.program_text;
}

// "DOUBLE_FREE" -> "DoubleFree", "MEMBER_SET" -> "MemberSet".
std::string Camel(std::string_view upper) {
  std::string out;
  bool start = true;
  for (char c : upper) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      start = true;
      continue;
    }
    out += start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                 : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    start = false;
  }
  return out;
}

void AppendSchedule(std::string* out, const sched::Trace& trace) {
  const std::vector<sched::ContextSwitch> sw = trace.Switches();
  absl::StrAppendFormat(out, "== Schedule (thread@step; %d context switch%s) ==\n", sw.size(),
                        sw.size() == 1 ? "" : "es");
  std::string line;
  int n = 0;
  for (const sched::ContextSwitch& s : sw) {
    std::string item = s.to < 0 ? absl::StrFormat("end@%d", s.step) : absl::StrFormat("T%d@%d", s.to, s.step);
    line += (n % 12 == 0 ? "  " : " ") + item;
    if (++n % 12 == 0) {
      *out += line + "\n";
      line.clear();
    }
  }
  if (!line.empty()) *out += line + "\n";
}

void AppendSteps(std::string* out, const Finding& f, const ReportContext& ctx) {
  const std::vector<sched::TraceStep> steps = ctx.trace->Steps();
  // The ledger's event at each (step, thread): object and refcount change.
  std::unordered_map<uint64_t, const LedgerEvent*> by_step;
  if (ctx.ledger != nullptr) {
    for (const LedgerEvent& e : ctx.ledger->events()) {
      if (e.step == 0) continue;
      auto [it, inserted] = by_step.emplace(e.step, &e);
      if (!inserted && it->second->kind != LedgerEventKind::kRef && e.kind == LedgerEventKind::kRef) it->second = &e;
    }
  }
  const size_t first = steps.size() > ctx.max_trace_steps ? steps.size() - ctx.max_trace_steps : 0;
  absl::StrAppendFormat(out, "== Last %d of %d steps ==\n", steps.size() - first, ctx.trace->steps());
  for (size_t i = first; i < steps.size(); ++i) {
    const sched::TraceStep& s = steps[i];
    const StepNote note = UnpackStepNote(s.note);
    std::string obj = note.valid && note.object_id != 0 ? absl::StrFormat("obj#%d", note.object_id) : "";
    std::string refs;
    auto it = by_step.find(s.step);
    if (it != by_step.end() && it->second->thread == s.thread) {
      const LedgerEvent& e = *it->second;
      obj = absl::StrFormat("obj#%d", e.object);
      refs = e.kind == LedgerEventKind::kRef ? RefLedger::FormatEvent(e) : LedgerEventKindName(e.kind);
    }
    std::string line = absl::StrFormat("%s step %5d  T%d  %-24s %-5s %-7s %-28s %-7s %s", s.step == f.step ? ">>" : "  ",
                                       s.step, s.thread, FormatStepNote(note), sched::EventKindName(s.kind),
                                       core::OrderName(s.order),
                                       absl::StrFormat("%s:%d", sched::ShortFile(s.file), s.line), obj, refs);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    *out += line + "\n";
  }
}

}  // namespace

std::string HeaderLine(const Finding& f) {
  std::string obj = f.main_object() != 0 ? absl::StrFormat(" obj#%d", f.main_object()) : "";
  return absl::StrFormat("==FTF== ERROR: %s: %s%s at %s", f.auditor.empty() ? "ftfuzz" : f.auditor,
                         FindingKindName(f.kind), obj, f.Location());
}

std::string SummaryLine(const Finding& f) {
  return absl::StrFormat("SUMMARY: ftfuzz: %s %s", FindingKindName(f.kind), f.Location());
}

std::string ReproduceCommand(const ReportContext& ctx) {
  return absl::StrFormat("./ftfuzz repro %s --variant=%s", ctx.input_path.empty() ? "<input file>" : ctx.input_path,
                         ctx.variant.empty() ? "locked" : ctx.variant);
}

std::string RegressionTestDraft(const Finding& f, const ReportContext& ctx) {
  const Signature sig = SignatureOf(f, ctx.trace, ctx.ledger);
  const std::string variant = ctx.variant.empty() ? "locked" : ctx.variant;
  std::string name = Camel(FindingKindName(f.kind)) + Camel(f.operation.empty() ? "Run" : f.operation);
  std::string out;
  out += "// Needs #include \"runner/replay.h\" (link ftf_runner).\n";
  absl::StrAppendFormat(&out, "TEST(AuditRegression, %s) {\n", name);
  absl::StrAppendFormat(&out, "  // Found by ftfuzz: %s %s (variant %s).\n", FindingKindName(f.kind), f.Location(),
                        variant);
  absl::StrAppendFormat(&out, "  // Root cause: %s.\n", sig.cause);
  out += "  constexpr char kProgram[] = R\"ftf(\n";
  out += ProgramText(ctx);
  out += ")ftf\";\n";
  absl::StrAppendFormat(&out, "  const ftf::runner::Replayed r = ftf::runner::ReplayText(kProgram, \"%s\");\n", variant);
  out += "  ASSERT_TRUE(r.error.empty()) << r.error;\n";
  absl::StrAppendFormat(&out, "  EXPECT_EQ(r.kind, ftf::core::FindingKind::k%s);\n", Camel(FindingKindName(f.kind)));
  absl::StrAppendFormat(&out, "  EXPECT_EQ(r.signature, \"%s\") << r.cause;\n", sig.Hex());
  out += "}\n";
  return out;
}

std::string BuildReport(const Finding& f, const ReportContext& ctx) {
  const Signature sig = SignatureOf(f, ctx.trace, ctx.ledger);
  std::string out = HeaderLine(f) + "\n";
  absl::StrAppend(&out, "  ", f.message, "\n");
  absl::StrAppendFormat(&out, "  root cause: %s (signature %s)\n", sig.cause, sig.Hex());
  if (f.thread >= 0) {
    // Step 0: before the thread's first scheduling point, or outside a run.
    absl::StrAppendFormat(&out, "  on T%d at step %d\n", f.thread, f.step);
  } else if (f.step != 0) {
    absl::StrAppendFormat(&out, "  at step %d\n", f.step);
  }
  AppendIndented(&out, f.details, "  ");

  const std::string text = ProgramText(ctx);
  if (!text.empty()) {
    out += "== Program ==\n";
    AppendIndented(&out, text, "  ");
  }
  if (ctx.trace != nullptr) {
    AppendSchedule(&out, *ctx.trace);
    AppendSteps(&out, f, ctx);
  }
  if (ctx.ledger != nullptr) {
    size_t shown = 0;
    for (uint64_t id : f.objects) {
      if (shown == ctx.max_histories) break;
      std::string h = ctx.ledger->FormatHistory(id, ctx.trace);
      if (h.empty()) continue;
      absl::StrAppendFormat(&out, "== History of obj#%d ==\n", id);
      AppendIndented(&out, h, "  ");
      ++shown;
    }
  }
  if (ctx.determinism != nullptr) {
    out += "== Determinism ==\n";
    absl::StrAppend(&out, "  ", ctx.determinism->message, "\n");
  }
  absl::StrAppend(&out, "Reproduce with: ", ReproduceCommand(ctx), "\n");
  if (!text.empty()) {
    out += "== Regression test draft ==\n";
    out += RegressionTestDraft(f, ctx);  // not indented: the raw string must parse as is
  }
  out += SignatureLine(sig) + "\n";
  out += SummaryLine(f) + "\n";
  return out;
}

namespace {

std::atomic<bool> g_report_printed{false};

// The first "dir/file.cc:123" in a finding's site ("core/refcount.cc:118",
// "PyMutex_Lock@core/dict.cc:228", "core/a.cc:1 core/b.cc:2"), as
// "file.cc(123)"; "ftfuzz(0)" when the site names no line.
std::string FileParenLine(const std::string& site) {
  size_t start = 0;
  while (start < site.size()) {
    size_t end = site.find(' ', start);
    if (end == std::string::npos) end = site.size();
    std::string token = site.substr(start, end - start);
    if (size_t at = token.find('@'); at != std::string::npos) token = token.substr(at + 1);
    const size_t colon = token.rfind(':');
    if (colon != std::string::npos && colon + 1 < token.size() &&
        token.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
      std::string file = token.substr(0, colon);
      if (size_t slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
      if (!file.empty()) return absl::StrFormat("%s(%s)", file, token.substr(colon + 1));
    }
    start = end + 1;
  }
  return "ftfuzz(0)";
}

}  // namespace

std::string CrashStateLines(const Finding& f) {
  std::string message = absl::StrFormat("%s %s", FindingKindName(f.kind), f.Location());
  for (char& c : message) {
    if (c == ';' || c == '\n') c = ',';
  }
  return absl::StrFormat(
      "[ftfuzz:FATAL:%s] Check failed: %s\n"
      "ftfuzz: the abort below only ends the run: the bug is the finding above, in objects previously allocated "
      "by the model, not in these native frames\n",
      FileParenLine(f.site), message);
}

bool FtfuzzReportPrinted() { return g_report_printed.load(std::memory_order_acquire); }

void ReportAndAbort(const Finding& f, const ReportContext& ctx) {
  const std::string report = BuildReport(f, ctx) + CrashStateLines(f);
  std::fwrite(report.data(), 1, report.size(), stderr);
  std::fflush(stderr);
  g_report_printed.store(true, std::memory_order_release);
  std::abort();
}

}  // namespace ftf::audit
