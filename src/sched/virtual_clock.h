// virtual_clock.h - a simulated many-core machine for the model core.
//
// Executor logic, not a model of CPython. The VirtualClockExecutor runs N
// logical threads as fibers, like the FiberExecutor, but instead of letting
// schedule bytes decide who runs it gives each logical thread a virtual
// clock and always resumes the runnable thread with the smallest clock (ties:
// the lower thread index). Every core shared-memory access (Cell) charges the
// thread a cost from a CostTable, with a cache-coherence surcharge when the
// access needs a cache line that another thread wrote last (or, for a write,
// that other threads hold); such transfers of one line are serialized (a
// line is busy while it moves), so many threads hammering one lock byte or
// one version counter queue behind each other. A thread that blocks
// (core::WaitUntil: a parked PyMutex waiter) pays the park syscall, stops its
// clock, and when the thread whose step made its predicate true (the
// unparker) has paid the wake syscall, resumes at the unparker's clock plus
// the wake-up latency. So a program runs on `cpus` virtual CPUs and its
// virtual time says how long it would take on such a machine, under the
// cost table's assumptions.
//
// More runnable threads than CPUs: processor sharing. Every CPU cost a
// thread is charged is multiplied by max(1, runnable / cpus) at the moment it
// is charged (blocked and sleeping threads use no CPU). This is the simplest
// fair-share model; it slows a lock holder down with everyone else rather
// than preempting it at a random point.
//
// Deterministic: decisions depend on the clocks, which depend only on the
// sequence of accesses, the cost table and which accesses share a cache
// line (address / 64), never on host time. Same program with the same
// layout relative to 64-byte lines, same costs => same virtual times and the
// same trace hash (FNV-1a of thread, kind, order, file and line of every
// step). The bench programs get the same layout in every process (checked:
// same hashes across processes); two runs inside one process compare only
// if their shared data are laid out alike (e.g. 64-byte aligned).
//
// Opt-in and separate: it is its own SchedHook; the FiberExecutor and its
// traces are not touched. It supports up to kVcMaxThreads threads (the
// FiberExecutor's masks stop at 16). No DEADLOCK/LIVELOCK reports: a run in
// which every unfinished thread is blocked, or that exceeds max_steps, is
// abandoned (bodies unwind through VcAbandon) and Run returns ok = false.
//
// Thread-safety: one Run at a time per process (the hook is process-wide).
// Bodies may call Advance/Sleep/Now/current_thread; the rest is scheduler side.

#ifndef FTF_SCHED_VIRTUAL_CLOCK_H_
#define FTF_SCHED_VIRTUAL_CLOCK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sched_hook.h"
#include "sched/fiber.h"

namespace ftf::sched {

inline constexpr int kVcMaxThreads = 256;

// Costs in virtual ns. Defaults and their justification: docs/bench.md
// ("The virtual-clock machine").
struct CostTable {
  double load_ns = 1.0;      // a load that hits the thread's own cache (L1)
  double store_ns = 1.0;     // a plain/relaxed/release store that hits
  double rmw_ns = 8.0;       // an atomic RMW (CAS, exchange, add) or seq_cst store: a locked instruction
  double fence_ns = 8.0;     // a seq_cst fence
  double transfer_ns = 70.0; // surcharge: the line must come from another core (last written elsewhere)
  double park_ns = 1500.0;   // the waiter's futex wait: syscall and switch away (CPU)
  double unpark_ns = 1500.0; // the unparker's futex wake syscall (CPU)
  double wake_ns = 4000.0;   // from the wake to the waiter running again (scheduler latency)

  // Every class multiplied by `f` where `which` names it ("load", "store",
  // "rmw", "fence", "transfer", "park", "unpark", "wake"), or a group
  // ("access" = load+store, "atomic" = rmw+fence, "syscall" = park+unpark,
  // "all"); false if the name is unknown.
  bool Scale(const std::string& which, double f);
  std::string ToString() const;
};

struct VcOptions {
  int cpus = 8;
  CostTable costs;
  uint64_t max_steps = 2'000'000'000;
};

// Where the time went, per wait key (a mutex address), summed over threads.
struct VcWaitStats {
  const void* key = nullptr;
  int64_t parks = 0;
  double blocked_ns = 0;  // virtual ns from blocking to running again
};

struct VcThreadStats {
  double clock_ns = 0;     // the thread's clock when it finished
  double cpu_ns = 0;       // charged CPU (accesses, syscalls, Advance), after sharing
  double transfer_ns = 0;  // of which: cache-line transfers (including waiting for a busy line)
  double blocked_ns = 0;   // parked
  double slept_ns = 0;     // Sleep()
  int64_t parks = 0;
  int64_t accesses = 0;
};

// Cache-line transfers charged at one source location (the accessing code).
struct VcHotSite {
  const char* file = "";
  int line = 0;
  int64_t transfers = 0;
  double transfer_ns = 0;  // including the wait for a busy line
};

struct VcResult {
  bool ok = true;
  std::string error;        // why a run was abandoned
  double virtual_ns = 0;    // the largest clock at the end (the run's makespan)
  uint64_t steps = 0;       // scheduling points
  uint64_t switches = 0;    // fiber switches
  uint64_t trace_hash = 0;
  std::vector<VcThreadStats> threads;
  std::vector<VcWaitStats> waits;  // in order of first park
  std::vector<VcHotSite> hot_sites;  // the costliest transfer sites, most expensive first (up to 8)
};

struct VcAbandon {};

class VirtualClockExecutor final : public core::SchedHook {
 public:
  using Body = std::function<void(int thread)>;

  explicit VirtualClockExecutor(size_t stack_size = 256 * 1024);
  ~VirtualClockExecutor() override;
  VirtualClockExecutor(const VirtualClockExecutor&) = delete;
  VirtualClockExecutor& operator=(const VirtualClockExecutor&) = delete;

  // Runs body(0..num_threads-1) from virtual time 0. Call from outside any
  // fiber with no SchedHook installed. 1 <= num_threads <= kVcMaxThreads.
  VcResult Run(int num_threads, const Body& body, const VcOptions& options);

  // --- for bodies ------------------------------------------------------------
  // CPU work outside the modelled core (e.g. interpreter dispatch): `ns` of CPU.
  void Advance(double ns);
  // Sleeps `ns` without using a CPU (time.sleep); a scheduling point.
  void Sleep(double ns);
  // The running thread's clock (0 outside a run).
  double Now() const;
  int current_thread() const { return cur_; }

  // --- core::SchedHook -------------------------------------------------------
  void OnAccess(const core::Access& a) override;
  void WaitUntil(const core::WaitSpec& spec) override;

 private:
  struct Thread;
  struct Line;
  static void FiberMain(Fiber* self, void* arg);
  [[noreturn]] void FiberLoop(Fiber* self);
  void Charge(int me, double cpu_ns);
  double ShareFactor() const;
  void Schedule(int me);
  void SwitchTo(int me, int next);
  void Wakeups(int me);
  void Step(int me, uint8_t kind, uint8_t order, const core::Loc& loc);
  void AbandonPoint();
  void EnsureFibers(int n);
  void Abandon(const std::string& why);

  size_t stack_size_;
  std::vector<std::unique_ptr<Fiber>> pool_;
  Context main_ctx_;
  std::vector<Thread> threads_;
  std::unordered_map<uintptr_t, Line> lines_;
  std::unordered_map<const void*, size_t> wait_index_;
  std::unordered_map<uint64_t, VcHotSite> hot_;
  VcResult result_;
  VcOptions options_;
  const Body* body_ = nullptr;
  int num_threads_ = 0;
  int cur_ = -1;
  int unfinished_ = 0;
  int computing_ = 0;  // unfinished, not blocked, not sleeping
  int blocked_ = 0;
  bool abandoning_ = false;
  bool in_run_ = false;
  bool terminating_ = false;
};

}  // namespace ftf::sched

#endif  // FTF_SCHED_VIRTUAL_CLOCK_H_
