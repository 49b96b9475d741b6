// repro.h - `ftf repro`: replay one input, deterministically and on real
// threads.
//
// Not a model of CPython: a tool. The deterministic replay is the fiber
// Runner's (runner/runner.h). The real-thread replay (--threads=K) runs the
// same program's thread bodies (runner::World::RunThread) on the persistent
// real-thread pool (sched/thread_executor.h) K times, as a real
// free-threaded CPython process would interleave them, and counts how often
// each finding kind appears. It runs in forked worker processes so that
// nothing a run does can take the tool down:
//   - a ledger finding is recorded, not thrown (LedgerOptions::
//     throw_on_finding = false: a throw on a real thread would leave core
//     locks held), and the holder scan is off while threads run (it is only
//     sound with no other OS thread in the core) and on again for tear-down;
//   - a run that makes no progress for `timeout_ms` (a real DEADLOCK or
//     LIVELOCK spins or waits forever: WaitUntil without a hook yields the OS
//     thread until its predicate holds) is counted as HANG, the worker is
//     killed and a new one continues with the next run;
//   - a sanitizer report kills the worker (ASan halts; a TSan report is
//     recorded and the worker aborts after the run, since TSan reports a
//     race once per process): the run is counted under the report's kind
//     (DATA_RACE, ASAN, UBSAN, from the `SUMMARY:` lines of its stderr), and
//     a new worker continues.
// Run 0 has no delays; run i > 0 delays each thread's start by a spin count
// derived from i (DelayPlan), so runs differ in a reproducible way (the real
// interleaving still depends on the hardware).
//
// Thread-safety: one replay at a time per process (it forks).

#ifndef FTF_TOOLS_REPRO_H_
#define FTF_TOOLS_REPRO_H_

#include <map>
#include <string>

#include "core/finding_kind.h"
#include "core/variant.h"
#include "program/program.h"

namespace ftf::tools {

struct ThreadReplayOptions {
  const core::Variant* variant = nullptr;  // nullptr: locked
  int runs = 100;
  int timeout_ms = 5000;  // per run, without progress: HANG
  int max_hangs = 3;      // stop after this many hangs (each costs timeout_ms)
  // Under TSan a forked child of a process that ran fibers may not start
  // threads ("starting new threads after multi-threaded fork is not
  // supported"), so each worker is a fresh exec of the ftf binary
  // (`ftf repro PROGRAM.txt --threads-worker=FIRST:RUNS:FD`). Empty:
  // /proc/self/exe, right when the caller is the ftf tool itself. Other
  // builds fork without exec and ignore this.
  std::string worker_binary;
};

struct ThreadReplayStats {
  int runs_requested = 0;
  int runs_done = 0;  // including hangs and killed workers
  int clean = 0;
  // Kind (the closed set, core/finding_kind.h: a worker that hangs is HANG,
  // one killed without a report is CRASH) -> runs.
  std::map<core::FindingKind, int> kinds;
  // Kind -> the location of its first occurrence (Finding::Location(), or
  // the root cause read from a killed worker's report).
  std::map<core::FindingKind, std::string> first_location;
  // Kind -> the message of its first occurrence (one line).
  std::map<core::FindingKind, std::string> first_message;
  // The first sanitizer report or crash output of a killed worker (trimmed).
  std::string first_crash_output;
  bool stopped_early = false;  // max_hangs reached
  int with_finding() const { return runs_done - clean; }
};

ThreadReplayStats ReplayOnThreads(const program::Program& p, const ThreadReplayOptions& options);

// The worker body: runs [first, runs) on real threads and writes one line
// per run to `fd` ("<run>\t<KIND or clean>\t<location>\t<message>"), then
// exits the process. Used by ReplayOnThreads and `--threads-worker`.
[[noreturn]] void ThreadReplayWorker(const program::Program& p, const core::Variant& variant, int first, int runs,
                                     int fd);

// `ftf repro FILE [--variant=V] [--runs=N] [--threads=K] [--timeout=SECONDS]`.
// Exit status: 0 no finding, 1 a finding (deterministic or in any
// real-thread run), 2 usage or input error.
int ReproCommand(int argc, char** argv);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_REPRO_H_
