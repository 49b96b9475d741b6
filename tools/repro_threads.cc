// repro_threads.cc - `repro --threads=K`: the program on real threads, K
// times, in forked workers (see repro.h for why and what is counted).
//
// Protocol: a worker runs runs [first, K) and writes one line per finished
// run to a pipe: "<run>\t<KIND or clean>\t<location>\n". Its stderr goes to a
// second pipe. The parent polls both; no line for timeout_ms means a hang
// (the worker is killed), end of file before run K-1 means the worker died
// (a sanitizer report, a signal): either way the run in progress is counted
// and a new worker takes the next one.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "audit/finding.h"
#include "audit/ledger.h"
#include "audit/report.h"
#include "audit/report_parse.h"
#include "audit/sanitizer_report.h"
#include "program/text.h"
#include "runner/world.h"
#include "sched/fiber_executor.h"
#include "sched/thread_executor.h"
#include "tools/child_process.h"
#include "tools/repro.h"

namespace ftf::tools {
namespace {

// Start delays for run `run` (0: none): a few bytes from splitmix64.
sched::DelayPlan DelaysFor(int run) {
  if (run == 0) return {};
  uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(run);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(x >> (8 * i)));
  return sched::DelayPlan(std::move(bytes));
}

std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}

}  // namespace

void ThreadReplayWorker(const program::Program& p, const core::Variant& variant, int first, int runs, int fd) {
  audit::CrashContext crash;
  crash.variant = variant.name;
  crash.input_path = "<real-thread replay>";
  crash.program_text = [&p]() { return program::ToText(p); };
  audit::SetCrashContext(&crash);
  // World takes the fiber executor for step notes and yields; outside a
  // fiber run those calls do nothing, and this one never runs.
  sched::FiberExecutor unused;
  runner::World world(unused);
  // World exposes its ledger read-only; the options must change for real
  // threads (see repro.h). The object itself is not const.
  auto& ledger = const_cast<audit::RefLedger&>(world.ledger());
  sched::ThreadExecutor pool;
  const int n = static_cast<int>(p.threads.size());
  for (int run = first; run < runs; ++run) {
    audit::LedgerOptions opts;
    opts.throw_on_finding = false;
    opts.check_holders = false;
    opts.keep_history = false;
    ledger.set_options(opts);
    world.Build(p, variant, /*record=*/false);
    std::optional<audit::Finding> f;
    try {
      pool.Run(
          n,
          [&](int t) {
            pool.Delay(t);
            world.RunThread(t);
          },
          DelaysFor(run));
      // The ledger's checks assume it sees each event in the order it
      // happened. On real threads its observer calls race with the accesses
      // they describe, so its conclusions are not sound (it reported
      // USE_AFTER_FREE on `locked`, 1 run in a few hundred): a false report
      // is as bad as a missed bug. On real threads only what cannot be
      // misordered counts: sanitizer reports and model aborts (the worker
      // dies; ClassifyCrash) and hangs. The deterministic replay above is
      // where the ledger speaks.
      opts.check_holders = true;
      ledger.set_options(opts);
      (void)world.TearDown();
      f.reset();
      // A TSan report (halt_on_error=0: recorded, the run went on) ends this
      // worker as TSan used to: the parent classifies the death from the
      // ftfuzz SUMMARY line and starts a fresh worker (TSan reports a race
      // once per process, so this worker could not count it again).
      if (std::optional<audit::Finding> race = audit::TakePendingSanitizerFinding()) {
        std::fprintf(stderr, "%s\n", audit::SummaryLine(*race).c_str());
        std::fflush(stderr);
        std::abort();
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ftf repro: real-thread run %d threw: %s\n", run, e.what());
      std::fflush(stderr);
      _exit(3);
    }
    std::string line = std::to_string(run) + "\t" + (f ? audit::FindingKindName(f->kind) : "clean") + "\t" +
                       (f ? f->Location() : "") + "\t" + (f ? OneLine(f->message) : "") + "\n";
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
  }
  _exit(0);
}

namespace {

// The kind and location of a killed worker's run, from its stderr (the
// report it printed, read by audit::LastFinding); CRASH without one.
void ClassifyCrash(const std::string& err, int status, core::FindingKind* kind, std::string* location) {
  if (std::optional<audit::ParsedFinding> f = audit::LastFinding(err)) {
    *kind = f->kind;
    *location = f->cause;
    return;
  }
  *kind = core::FindingKind::kCrash;
  *location = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                  : "exit status " + std::to_string(WEXITSTATUS(status));
}

// `kind` nullopt: a clean run.
void Record(ThreadReplayStats* s, std::optional<core::FindingKind> kind, const std::string& location,
            const std::string& message = "") {
  ++s->runs_done;
  if (!kind.has_value()) {
    ++s->clean;
    return;
  }
  ++s->kinds[*kind];
  s->first_location.emplace(*kind, location);
  s->first_message.emplace(*kind, message);
}

}  // namespace

ThreadReplayStats ReplayOnThreads(const program::Program& p, const ThreadReplayOptions& options) {
  const core::Variant& variant = options.variant != nullptr ? *options.variant : core::LockedVariant();
  ThreadReplayStats stats;
  stats.runs_requested = options.runs;
  int hangs = 0;
#if defined(FTF_TSAN)
  // Workers are exec'd (see ThreadReplayOptions::worker_binary): they read
  // the program from a text file.
  const std::string binary = options.worker_binary.empty() ? "/proc/self/exe" : options.worker_binary;
  char program_path[] = "/tmp/ftf-threads-XXXXXX";
  const int program_fd = mkstemp(program_path);
  if (program_fd >= 0) {
    const std::string text = program::ToText(p);
    ssize_t ignored = write(program_fd, text.data(), text.size());
    (void)ignored;
    close(program_fd);
  }
#endif
  while (stats.runs_done < options.runs) {
    if (hangs >= options.max_hangs) {
      stats.stopped_early = true;
      break;
    }
    std::fflush(stdout);
    const int first = stats.runs_done;
    ChildProcess worker;
    const bool started = worker.Start([&](int result_fd) {
#if defined(FTF_TSAN)
      const std::string spec =
          "--threads-worker=" + std::to_string(first) + ":" + std::to_string(options.runs) + ":" + std::to_string(result_fd);
      const std::string variant_arg = "--variant=" + variant.name;
      execl(binary.c_str(), "ftf", "repro", program_path, variant_arg.c_str(), spec.c_str(), static_cast<char*>(nullptr));
      std::fprintf(stderr, "ftf repro: cannot run the worker %s\n", binary.c_str());
      _exit(5);
#else
      ThreadReplayWorker(p, variant, first, options.runs, result_fd);
#endif
    });
    if (!started) break;
    // One line per run: "<run>\t<KIND or clean>\t<location>\t<message>".
    std::string out;
    bool hung = false;
    while (stats.runs_done < options.runs) {
      const ChildProcess::Event e = worker.Poll(options.timeout_ms, &out);
      if (e == ChildProcess::Event::kTimeout) {
        hung = true;
        break;
      }
      for (size_t nl; (nl = out.find('\n')) != std::string::npos; out.erase(0, nl + 1)) {
        std::string line = out.substr(0, nl);
        size_t t1 = line.find('\t');
        size_t t2 = line.find('\t', t1 + 1);
        size_t t3 = line.find('\t', t2 + 1);
        if (t1 == std::string::npos || t2 == std::string::npos || t3 == std::string::npos) continue;
        const std::string kind = line.substr(t1 + 1, t2 - t1 - 1);
        std::optional<core::FindingKind> k;
        if (kind != "clean") k = audit::ParseFindingKind(kind).value_or(core::FindingKind::kCrash);
        Record(&stats, k, line.substr(t2 + 1, t3 - t2 - 1), line.substr(t3 + 1));
      }
      if (e == ChildProcess::Event::kClosed) break;
    }
    if (hung) {
      worker.Kill();
    } else {
      worker.DrainErrors(2000);  // a dying sanitizer may still be writing
    }
    const int status = worker.Reap();
    const std::string& err = worker.errors();
    if (hung) {
      ++hangs;
      Record(&stats, core::FindingKind::kHang, "no progress for " + std::to_string(options.timeout_ms) + " ms (DEADLOCK or LIVELOCK)");
      continue;
    }
    if (stats.runs_done < options.runs) {
      // The worker died during run runs_done.
      core::FindingKind kind = core::FindingKind::kCrash;
      std::string location;
      ClassifyCrash(err, status, &kind, &location);
      Record(&stats, kind, location);
      if (stats.first_crash_output.empty()) {
        stats.first_crash_output = err.size() > 6000 ? err.substr(0, 6000) + "\n[...]\n" : err;
      }
    }
  }
#if defined(FTF_TSAN)
  if (program_fd >= 0) unlink(program_path);
#endif
  return stats;
}

}  // namespace ftf::tools
