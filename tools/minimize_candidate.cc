// minimize_candidate.cc - running one candidate program (see minimize.h).
//
// In-process: one Runner, reused for every candidate (the fiber executor is
// deterministic and the world is reset by every Run). Forked (sanitizer
// builds): the child inherits the parent's Runner, runs the candidate and
// writes one result line to a pipe; a sanitizer report kills it first, and
// the `SUMMARY: ftfuzz: <KIND> <location>` line the report hook prints on
// its stderr is the finding. The schedule header of that report gives the
// context switches.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "audit/sanitizer_report.h"
#include "program/text.h"
#include "runner/runner.h"
#include "tools/child_process.h"
#include "tools/minimize.h"

namespace ftf::tools {
namespace {

// "SUMMARY: ftfuzz: DATA_RACE core/member.cc:88 in MEMBER_SET" -> kind and
// location; the first such line wins (one per report).
bool ParseFtfSummary(const std::string& text, CandidateOutcome* out) {
  static constexpr char kPrefix[] = "SUMMARY: ftfuzz: ";
  bool found = false;
  size_t pos = 0;
  while ((pos = text.find(kPrefix, pos)) != std::string::npos) {
    size_t start = pos + sizeof(kPrefix) - 1;
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    size_t space = line.find(' ');
    std::optional<audit::FindingKind> kind = audit::ParseFindingKind(line.substr(0, space));
    if (kind.has_value()) {
      out->has_finding = true;
      out->kind = *kind;
      out->location = space == std::string::npos ? "" : line.substr(space + 1);
      found = true;
      break;  // the first report is the finding
    }
    pos = start;
  }
  // "== Schedule (thread@step; 7 context switches) ==".
  size_t sched = text.find("== Schedule (thread@step; ");
  if (sched != std::string::npos) {
    out->context_switches = std::strtoull(text.c_str() + sched + 26, nullptr, 10);
  }
  return found;
}

CandidateOutcome Crashed() {
  CandidateOutcome o;
  o.crashed = true;
  return o;
}

}  // namespace

struct CandidateRunner::Impl {
  runner::Runner runner;
  audit::CrashContext crash;
  const program::Program* current = nullptr;
};

CandidateRunner::CandidateRunner(const core::Variant* variant, Isolation isolation)
    : impl_(std::make_unique<Impl>()), variant_(variant) {
#if defined(FTF_TSAN) || defined(FTF_ASAN)
  fork_ = isolation != Isolation::kInProcess;
#else
  fork_ = isolation == Isolation::kFork;
#endif
  impl_->crash.variant = variant != nullptr ? variant->name : "locked";
  impl_->crash.input_path = "<candidate>";
  Impl* impl = impl_.get();
  impl_->crash.program_text = [impl]() {
    return impl->current != nullptr ? program::ToText(*impl->current) : std::string();
  };
}

CandidateRunner::~CandidateRunner() = default;

std::vector<std::pair<uint64_t, int>> CandidateRunner::Segments(const program::Program& p) {
  std::vector<std::pair<uint64_t, int>> out;
  if (fork_) return out;
  ++runs_;
  runner::RunnerOptions opts;
  opts.variant = variant_;
  opts.exec.coverage = false;
  impl_->runner.Run(p, opts);
  for (const sched::ContextSwitch& s : impl_->runner.executor().trace().Switches()) {
    if (s.to >= 0) out.push_back({s.step, s.to});
  }
  return out;
}

CandidateOutcome CandidateRunner::Run(const program::Program& p) {
  ++runs_;
  runner::RunnerOptions opts;
  opts.variant = variant_;
  opts.exec.coverage = false;  // feedback only; decisions do not depend on it
  auto in_process = [&]() {
    CandidateOutcome o;
    runner::RunOutcome r = impl_->runner.Run(p, opts);
    // r.exec is empty when an auditor stopped the run: the trace counts.
    o.context_switches = impl_->runner.executor().trace().num_switches();
    if (r.finding) {
      o.has_finding = true;
      o.kind = r.finding->kind;
      o.location = r.finding->Location();
    }
    return o;
  };
  if (!fork_) return in_process();

  ChildProcess child;
  const bool started = child.Start([&](int result_fd) {
    alarm(120);  // a bounded run never takes this long; a hang must not block the tool
    impl_->current = &p;
    audit::SetCrashContext(&impl_->crash);
    CandidateOutcome o = in_process();
    std::string line = o.has_finding ? audit::FindingKindName(o.kind) : "clean";
    line += "\t" + o.location + "\t" + std::to_string(o.context_switches) + "\n";
    ssize_t ignored = write(result_fd, line.data(), line.size());
    (void)ignored;
  });
  if (!started) return Crashed();
  std::string result;
  if (!child.ReadToEnd(150'000, &result)) child.Kill();
  const int status = child.Reap();
  const std::string& err = child.errors();
  CandidateOutcome o;
  // A sanitizer report comes first, even if the child went on and exited
  // normally (halt_on_error=0, e.g. in a test binary without the harness's
  // sanitizer defaults): it happened before anything the ledger saw later.
  if (ParseFtfSummary(err, &o)) return o;
  // A complete result line means the child finished its run. Its exit status
  // may still be TSan's exitcode (66: _exit is intercepted, and a race was
  // reported and recorded, then returned by the Runner as the finding).
  if (!result.empty() && result.back() == '\n' && WIFEXITED(status)) {
    size_t t1 = result.find('\t');
    size_t t2 = result.find('\t', t1 + 1);
    std::string kind = result.substr(0, t1);
    if (kind != "clean") {
      std::optional<audit::FindingKind> k = audit::ParseFindingKind(kind);
      o.has_finding = k.has_value();
      if (k) o.kind = *k;
      o.location = result.substr(t1 + 1, t2 - t1 - 1);
    }
    o.context_switches = std::strtoull(result.c_str() + t2 + 1, nullptr, 10);
    return o;
  }
  o.crashed = true;
  return o;
}

}  // namespace ftf::tools
