// thread_executor.h - the same thread bodies on real OS threads.
//
// Executor, not a model of CPython: real hardware interleavings, as a real
// free-threaded CPython process would see them, for what the deterministic
// fiber executor cannot show (weak memory effects, real timing). A finding
// here is not reproducible by itself; it is confirmed by searching for a fiber
// schedule that reproduces it.
//
// A persistent pool: worker threads are created on first need and reused by
// every Run (creating threads per input is slow and upsets libFuzzer's
// leak/RSS accounting). Between runs the workers sleep on a condition variable;
// the destructor wakes and joins them. In a run, the first `num_threads`
// workers meet at a start barrier (they spin, so they leave it together), then
// each runs body(index). Run returns when all have finished.
//
// No SchedHook may be installed: Cell accesses are plain atomics and
// core::WaitUntil yields the OS thread until its predicate holds.
//
// Delays: an optional DelayPlan derived from input bytes makes a thread spin
// before an operation (the interpreter calls Delay(thread) before each one),
// shifting real interleavings in a way the input controls.
//
// Thread-safety: Run and the destructor from one controlling thread at a time;
// Delay from inside bodies. The pool's own synchronization (mutex, condition
// variable, barrier atomics) creates happens-before edges between the
// controlling thread and the workers exactly like thread start/join, and among
// the workers at the barrier (as std::barrier would).
// Memory ordering: the barrier counter is acq_rel.

#ifndef FTF_SCHED_THREAD_EXECUTOR_H_
#define FTF_SCHED_THREAD_EXECUTOR_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ftf::sched {

// Spin counts before operations, derived from bytes. Operation k of thread t
// (k counted per thread, per run) uses byte bytes[(k * num_threads + t) % len]:
// its low nibble indexes kDelaySpins (half the values mean no delay), so
// random bytes delay about half of the operations by 1 .. 4096 pause
// instructions. No bytes: no delays.
class DelayPlan {
 public:
  static constexpr uint32_t kDelaySpins[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 16, 64, 256, 1024, 2048, 4096};
  DelayPlan() = default;
  DelayPlan(const uint8_t* bytes, size_t len) : bytes_(bytes, bytes + len) {}
  explicit DelayPlan(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  uint32_t SpinsFor(int thread, int num_threads, uint64_t op_index) const;
  bool empty() const { return bytes_.empty(); }

 private:
  std::vector<uint8_t> bytes_;
};

class ThreadExecutor {
 public:
  static constexpr int kMaxThreads = 16;

  ThreadExecutor() = default;
  ~ThreadExecutor();  // wakes and joins every worker
  ThreadExecutor(const ThreadExecutor&) = delete;
  ThreadExecutor& operator=(const ThreadExecutor&) = delete;

  // Runs body(0) .. body(num_threads-1) on pool workers released together by a
  // start barrier, and waits for all of them. The first exception a body
  // throws is rethrown here (after all threads finished).
  void Run(int num_threads, const std::function<void(int thread)>& body, DelayPlan delays = {});

  // From a body, before an operation: spins as the DelayPlan says.
  void Delay(int thread);

  int workers() const;                // worker threads created so far
  uint64_t runs() const { return runs_; }
  static uint64_t TotalThreadsCreated();

 private:
  void WorkerLoop(int index, uint64_t seen);

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // workers wait for a new generation
  std::condition_variable done_cv_;  // Run waits for remaining_ == 0
  std::vector<std::thread> workers_;
  uint64_t generation_ = 0;          // guarded by mu_
  bool shutdown_ = false;            // guarded by mu_
  int num_threads_ = 0;              // guarded by mu_ (set before the generation bump)
  int remaining_ = 0;                // guarded by mu_
  const std::function<void(int)>* body_ = nullptr;  // guarded by mu_
  std::exception_ptr error_;         // guarded by mu_
  uint64_t runs_ = 0;

  std::atomic<int> arrived_{0};      // start barrier
  DelayPlan delays_;                 // set before the generation bump, read-only during a run
  uint64_t op_index_[kMaxThreads] = {};  // per-thread operation counters (each written by its own thread)
};

}  // namespace ftf::sched

#endif  // FTF_SCHED_THREAD_EXECUTOR_H_
