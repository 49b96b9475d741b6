// sanitizer_report.cc - sanitizer SUMMARY lines as ftfuzz findings, and the
// runtime hook that prints them (see sanitizer_report.h).

#include "audit/sanitizer_report.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"
#include "audit/audit_scope.h"
#include "audit/report.h"
#include "audit/signature.h"
#include "audit/step_note.h"
#include "sched/fiber_executor.h"
#include "sched/trace.h"

#if defined(FTF_AUDIT_TSAN)
// TSan's report-inspection API and the symbolizer (declared here: older
// compilers' public headers lack the report functions, which their
// runtimes have).
extern "C" {
void* __tsan_get_current_report();
int __tsan_get_report_data(void* report, const char** description, int* count, int* stack_count, int* mop_count,
                           int* loc_count, int* mutex_count, int* thread_count, int* unique_tid_count,
                           void** sleep_trace, unsigned long trace_size);
int __tsan_get_report_mop(void* report, unsigned long idx, int* tid, void** addr, int* size, int* write, int* atomic,
                          void** trace, unsigned long trace_size);
void __sanitizer_symbolize_pc(void* pc, const char* fmt, char* out_buf, size_t out_buf_size);
}
#endif

namespace ftf::audit {
namespace {

const CrashContext* g_crash_context = nullptr;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "/a/b/core/member.cc:88:5" -> "core/member.cc:88"; "" if it is no file:line.
std::string SiteOf(std::string_view token) {
  if (token.empty() || token.front() == '(' || token.find("0x") != std::string_view::npos) return "";
  size_t colon = token.rfind(':');
  if (colon == std::string_view::npos) return "";
  std::string_view last = token.substr(colon + 1);
  std::string_view rest = token.substr(0, colon);
  if (!AllDigits(last)) return "";
  // With a column, the line is the field before it.
  size_t colon2 = rest.rfind(':');
  if (colon2 != std::string_view::npos && AllDigits(rest.substr(colon2 + 1))) {
    last = rest.substr(colon2 + 1);
    rest = rest.substr(0, colon2);
  }
  const std::string file(rest);
  return absl::StrFormat("%s:%s", sched::ShortFile(file.c_str()), last);
}

}  // namespace

void SetCrashContext(const CrashContext* ctx) { g_crash_context = ctx; }
const CrashContext* CurrentCrashContext() { return g_crash_context; }

std::optional<SanitizerSummary> ParseSanitizerSummary(std::string_view line) {
  constexpr std::string_view kPrefix = "SUMMARY: ";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
  const size_t colon = line.find(": ");
  if (colon == std::string_view::npos) return std::nullopt;
  SanitizerSummary s;
  s.tool = std::string(line.substr(0, colon));
  std::string_view rest = line.substr(colon + 2);
  if (s.tool == "ThreadSanitizer") {
    s.kind = FindingKind::kDataRace;
  } else if (s.tool == "AddressSanitizer" || s.tool == "LeakSanitizer") {
    s.kind = FindingKind::kAsan;
  } else if (s.tool == "UndefinedBehaviorSanitizer") {
    s.kind = FindingKind::kUbsan;
  } else {
    return std::nullopt;
  }
  const size_t in = rest.rfind(" in ");
  std::string_view head = rest;
  if (in != std::string_view::npos) {
    s.function = std::string(rest.substr(in + 4));
    head = rest.substr(0, in);
  } else if (rest.size() >= 3 && rest.substr(rest.size() - 3) == " in") {
    head = rest.substr(0, rest.size() - 3);
  }
  const size_t space = head.rfind(' ');
  if (space != std::string_view::npos) {
    std::string site = SiteOf(head.substr(space + 1));
    if (!site.empty()) {
      s.site = std::move(site);
      head = head.substr(0, space);
    }
  }
  s.bug = std::string(head);
  return s;
}

namespace {

// What the TSan hook records (see the header): the first SUMMARY line since
// the last TakePendingSanitizerFinding, and the running thread's last
// scheduling point. Plain data, written only by FTF_NO_SANITIZER_EVENTS code.
struct PendingReport {
  bool set = false;
  char summary[1024] = {};
  bool has_snapshot = false;
  sched::FiberExecutor::StepSnapshot snapshot;
  // A data race's two memory operations as TSan recorded them (current,
  // previous): their stacks' code addresses, symbolized after the run.
  static constexpr unsigned long kFrames = 48;
  struct Mop {
    void* pcs[kFrames] = {};
    int write = 0;
    int atomic = 0;
  };
  bool has_mops = false;
  Mop mops[2];
};
PendingReport g_pending;

#if defined(FTF_AUDIT_TSAN)
FTF_NO_SANITIZER_EVENTS bool IsDataRaceType(const char* d) {
  static const char kType[] = "data-race";
  size_t i = 0;
  for (; kType[i] != '\0'; ++i) {
    if (d[i] != kType[i]) return false;
  }
  return d[i] == '\0';
}

// Inside TSan's report (a data race only): the two accesses' stacks.
FTF_NO_SANITIZER_EVENTS void NoteRaceMops() {
  void* report = __tsan_get_current_report();
  if (report == nullptr) return;
  const char* type = nullptr;
  int count = 0, stacks = 0, mops = 0, locs = 0, mutexes = 0, threads = 0, tids = 0;
  void* sleep_trace[1] = {};
  if (__tsan_get_report_data(report, &type, &count, &stacks, &mops, &locs, &mutexes, &threads, &tids, sleep_trace,
                             1) == 0 ||
      type == nullptr || !IsDataRaceType(type) || mops < 2) {
    return;
  }
  for (unsigned long i = 0; i < 2; ++i) {
    PendingReport::Mop& m = g_pending.mops[i];
    int tid = 0, size = 0;
    void* addr = nullptr;
    if (__tsan_get_report_mop(report, i, &tid, &addr, &size, &m.write, &m.atomic, m.pcs, PendingReport::kFrames) == 0) {
      return;
    }
  }
  g_pending.has_mops = true;
}

// After the run: the frames of one access, as the symbolizer names them.
RaceMop SymbolizedMop(const PendingReport::Mop& m) {
  RaceMop out;
  out.write = m.write != 0;
  out.atomic = m.atomic != 0;
  for (void* pc : m.pcs) {
    if (pc == nullptr) break;
    char buf[2048] = {};
    __sanitizer_symbolize_pc(pc, "%s:%l:%c", buf, sizeof(buf) - 1);  // buf's last byte stays 0
    // Zero or more strings (inlined frames, innermost first), then "".
    for (const char* p = buf; p < buf + sizeof(buf) && *p != '\0'; p += std::strlen(p) + 1) out.frames.emplace_back(p);
  }
  return out;
}
#endif

}  // namespace

// Called by the TSan hook below (not in the header: nothing else may call it).
void NotePendingSanitizerReport(const char* summary);
FTF_NO_SANITIZER_EVENTS void NotePendingSanitizerReport(const char* summary) {
  if (g_pending.set) return;
  size_t n = 0;
  while (summary[n] != '\0' && n + 1 < sizeof(g_pending.summary)) {
    g_pending.summary[n] = summary[n];
    ++n;
  }
  g_pending.summary[n] = '\0';
  g_pending.has_snapshot = sched::FiberExecutor::SnapshotRunningThread(&g_pending.snapshot);
#if defined(FTF_AUDIT_TSAN)
  NoteRaceMops();
#endif
  g_pending.set = true;
}

std::optional<Finding> TakePendingSanitizerFinding() {
  if (!g_pending.set) return std::nullopt;
  const std::string line = g_pending.summary;
  const bool has_snapshot = g_pending.has_snapshot;
  const sched::FiberExecutor::StepSnapshot snap = g_pending.snapshot;
  std::string race_cause;
#if defined(FTF_AUDIT_TSAN)
  // The cause from TSan's own pair of accesses: the run's trace holds only
  // Cell accesses, and a race on a plain field (a model bug, or a mutant's)
  // would be named after the thread's last Cell access instead.
  if (g_pending.has_mops) race_cause = RaceCauseFromMops(SymbolizedMop(g_pending.mops[0]), SymbolizedMop(g_pending.mops[1]));
#endif
  g_pending = PendingReport{};
  std::optional<SanitizerSummary> s = ParseSanitizerSummary(line);
  if (!s.has_value()) {
    // Not a SUMMARY line we know: still a sanitizer report, never dropped.
    s = SanitizerSummary{};
    s->kind = FindingKind::kDataRace;
    s->tool = "ThreadSanitizer";
    s->bug = line;
  }
  Finding f;
  f.kind = s->kind;
  f.auditor = s->tool;
  f.site = s->site;
  f.message = absl::StrFormat("%s reported %s%s", s->tool, s->bug, s->function.empty() ? "" : " in " + s->function);
  if (!race_cause.empty()) f.cause = race_cause;
  if (has_snapshot) {
    f.step = snap.steps;
    f.thread = snap.thread;
    if (snap.has_last) {
      const StepNote note = UnpackStepNote(snap.note);
      f.operation = StepNoteMnemonic(note);
      if (note.valid && note.object_id != 0) f.objects.push_back(note.object_id);
      if (f.site.empty() || f.site.rfind("core/atomics.h:", 0) == 0) {
        f.site = absl::StrFormat("%s:%d", sched::ShortFile(snap.file), snap.line);
      }
    }
  }
  return f;
}

Finding FindingFromSanitizer(const SanitizerSummary& s) {
  Finding f;
  f.kind = s.kind;
  f.auditor = s.tool;
  f.site = s.site;
  f.message = absl::StrFormat("%s reported %s%s", s.tool, s.bug, s.function.empty() ? "" : " in " + s.function);
  if (const sched::FiberExecutor* ex = sched::FiberExecutor::Active()) {
    f.step = ex->step();
    f.thread = ex->current_thread();
    // The running thread's last scheduling point is the access being made
    // (Cell accesses record their step before they happen) or the closest
    // one before it; its note names the operation.
    const std::vector<sched::TraceStep> steps = ex->trace().Steps();
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
      if (it->thread != f.thread) continue;
      const StepNote note = UnpackStepNote(it->note);
      f.operation = StepNoteMnemonic(note);
      if (note.valid && note.object_id != 0) f.objects.push_back(note.object_id);
      // The sanitizer's top frame is often the Cell wrapper itself
      // (core/atomics.h), the same for every access; the step's Loc is the
      // core line that made the access, which is what tells findings apart.
      if (f.site.empty() || f.site.rfind("core/atomics.h:", 0) == 0) {
        f.site = absl::StrFormat("%s:%d", sched::ShortFile(it->file), it->line);
      }
      break;
    }
  }
  return f;
}

std::string SanitizerFindingReport(std::string_view summary_line) {
  std::optional<SanitizerSummary> s = ParseSanitizerSummary(summary_line);
  if (!s.has_value()) return "";
  const Finding f = FindingFromSanitizer(*s);
  ReportContext ctx;
  if (const CrashContext* c = g_crash_context) {
    if (c->program_text) ctx.program_text = c->program_text();
    ctx.input_path = c->input_path;
    ctx.variant = c->variant;
  }
  if (const sched::FiberExecutor* ex = sched::FiberExecutor::Active()) ctx.trace = &ex->trace();
  return BuildReport(f, ctx);
}

}  // namespace ftf::audit

#if defined(FTF_AUDIT_TSAN)
namespace {
FTF_NO_SANITIZER_EVENTS void WriteStderr(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  while (n > 0) {
    const long w = syscall(SYS_write, 2, s, n);  // not intercepted (write() is)
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

// "SUMMARY: ThreadSanitizer: SEGV ..." (or BUS, FPE, ILL, ABRT, TRAP): a
// deadly signal, reported by sanitizer_common's signal handler, not by
// TSan's race report (no TSan mutex held), and the process dies after it.
FTF_NO_SANITIZER_EVENTS bool IsDeadlySignalSummary(const char* s) {
  static const char kTool[] = "SUMMARY: ThreadSanitizer: ";
  size_t i = 0;
  for (; kTool[i] != '\0'; ++i) {
    if (s[i] != kTool[i]) return false;
  }
  size_t n = 0;
  while (s[i + n] >= 'A' && s[i + n] <= 'Z') ++n;
  return n >= 3 && s[i + n] == ' ';
}

// The whole ftfuzz tail, for a deadly signal: nothing will run after it.
// (Instrumented code is safe here: no TSan mutex is held.)
void PrintFtfuzzTailBeforeDeath(const char* error_summary) {
  // TSan reporting our own abort (handle_abort=1): the finding is printed.
  if (ftf::audit::FtfuzzReportPrinted()) return;
  __tsan_ignore_thread_begin();
  const std::string extra = ftf::audit::SanitizerFindingReport(error_summary);
  if (!extra.empty()) std::fwrite(extra.data(), 1, extra.size(), stderr);
  std::fflush(stderr);
  __tsan_ignore_thread_end();
}
}  // namespace

// Overrides the runtime's weak default, which only prints the line. Inside
// TSan's race report: print and record, nothing else (see the header).
extern "C" FTF_NO_SANITIZER_EVENTS void __sanitizer_report_error_summary(const char* error_summary) {
  WriteStderr(error_summary);
  WriteStderr("\n");
  if (IsDeadlySignalSummary(error_summary)) {
    PrintFtfuzzTailBeforeDeath(error_summary);
    return;
  }
  ftf::audit::NotePendingSanitizerReport(error_summary);
}
#elif defined(FTF_ASAN)
// Overrides the sanitizer runtimes' weak default, which only prints the line.
extern "C" void __sanitizer_report_error_summary(const char* error_summary) {
  std::fprintf(stderr, "%s\n", error_summary);
  // After ReportAndAbort the sanitizer reports the abort itself (its
  // handle_abort=1, OSS-Fuzz's default): the finding is already printed, and
  // a second ftfuzz tail would name it "ASAN" at the abort.
  if (!ftf::audit::FtfuzzReportPrinted()) {
    const std::string extra = ftf::audit::SanitizerFindingReport(error_summary);
    if (!extra.empty()) std::fwrite(extra.data(), 1, extra.size(), stderr);
  }
  std::fflush(stderr);
}
#endif
