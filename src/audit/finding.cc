// finding.cc - finding kinds, names, and the executor's verdicts as findings.

#include "audit/finding.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sched/fiber_executor.h"
#include "sched/trace.h"

namespace ftf::audit {

std::string Finding::Location() const {
  if (!site.empty() && !operation.empty()) return site + " in " + operation;
  if (!site.empty()) return site;
  if (!operation.empty()) return operation;
  return "end of run";
}

bool SameFinding(const Finding& a, const Finding& b) {
  return a.kind == b.kind && a.step == b.step && a.thread == b.thread;
}

std::string ShortDescription(const Finding& f) {
  std::string s = absl::StrFormat("%s at step %d", FindingKindName(f.kind), f.step);
  if (f.thread >= 0) absl::StrAppendFormat(&s, " on T%d", f.thread);
  return s;
}

FindingException::FindingException(Finding f) : finding_(std::move(f)) {
  what_ = absl::StrFormat("ftfuzz finding: %s %s: %s", FindingKindName(finding_.kind), finding_.Location(),
                          finding_.message);
}

namespace {

// How far back SpinSites looks: the executor's default ring. A full trace
// holds the whole run, the ring only its tail; looking at the same tail in
// both keeps the LIVELOCK location (and the SUMMARY line, the deduplication
// key) the same in the fuzz target's report and in a full-trace replay.
constexpr size_t kSpinWindow = 256;

// The sites of a spin loop: in the last kSpinWindow steps of the trace, the
// thread with the most steps, and every site it passed at least twice.
// Sorted, so the same loop gives the same set whatever step the budget ran
// out at.
std::set<std::string> SpinSites(const sched::Trace& trace) {
  std::vector<sched::TraceStep> steps = trace.Steps();
  if (steps.size() > kSpinWindow) steps.erase(steps.begin(), steps.end() - kSpinWindow);
  std::map<int, int> per_thread;
  for (const sched::TraceStep& s : steps) ++per_thread[s.thread];
  int busiest = -1;
  int most = 0;
  for (auto [t, n] : per_thread) {
    if (n > most) {
      most = n;
      busiest = t;
    }
  }
  std::map<std::string, int> count;
  for (const sched::TraceStep& s : steps) {
    if (s.thread == busiest) ++count[absl::StrFormat("%s:%d", sched::ShortFile(s.file), s.line)];
  }
  std::set<std::string> out;
  for (const auto& [site, n] : count) {
    if (n >= 2 && out.size() < 4) out.insert(site);
  }
  return out;
}

}  // namespace

std::optional<Finding> FindingFromRunResult(const sched::RunResult& r, const sched::Trace* trace) {
  if (r.outcome == sched::Outcome::kOk) return std::nullopt;
  Finding f;
  f.auditor = "executor";
  f.kind = r.outcome == sched::Outcome::kDeadlock ? FindingKind::kDeadlock : FindingKind::kLivelock;
  f.step = r.steps;
  std::set<std::string> where;  // sorted, unique: stable for deduplication
  for (const sched::ThreadReport& t : r.threads) {
    std::string line = absl::StrFormat("T%d: %s", t.thread, sched::ThreadStateName(t.state));
    const bool blocked = t.state == sched::ThreadReport::State::kBlocked;
    if (blocked) {
      absl::StrAppendFormat(&line, " in %s at %s:%d", t.wait_what, sched::ShortFile(t.wait_loc.file),
                            t.wait_loc.line);
      if (f.kind == FindingKind::kDeadlock) {
        where.insert(absl::StrFormat("%s@%s:%d", t.wait_what, sched::ShortFile(t.wait_loc.file), t.wait_loc.line));
      }
    }
    if (t.has_last_step) {
      const sched::TraceStep& l = t.last_step;
      absl::StrAppendFormat(&line, "; last step %d: %s at %s:%d", l.step, sched::EventKindName(l.kind),
                            sched::ShortFile(l.file), l.line);
      if (f.kind == FindingKind::kLivelock && t.state == sched::ThreadReport::State::kRunnable) {
        where.insert(absl::StrFormat("%s:%d", sched::ShortFile(l.file), l.line));
      }
    }
    if (f.thread < 0 && (blocked || t.state == sched::ThreadReport::State::kRunnable)) f.thread = t.thread;
    f.details += line + "\n";
  }
  if (f.kind == FindingKind::kLivelock && trace != nullptr) {
    std::set<std::string> spin = SpinSites(*trace);
    if (!spin.empty()) where = std::move(spin);
  }
  f.site = absl::StrJoin(where, " ");
  // The executor's first line ("DEADLOCK: all 2 unfinished logical threads
  // are blocked (step 9)") without its kind prefix; it has no addresses.
  std::string first = r.description.substr(0, r.description.find('\n'));
  const std::string prefix = std::string(FindingKindName(f.kind)) + ": ";
  if (first.rfind(prefix, 0) == 0) first = first.substr(prefix.size());
  f.message = first.empty() ? std::string(FindingKindName(f.kind)) : first;
  return f;
}

}  // namespace ftf::audit
