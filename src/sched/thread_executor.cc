// thread_executor.cc - a persistent pool of real threads (see thread_executor.h).

#include "sched/thread_executor.h"

#include <cstdio>
#include <cstdlib>

#include "core/sched_hook.h"

namespace ftf::sched {
namespace {

std::atomic<uint64_t> g_threads_created{0};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "ftfuzz: ThreadExecutor: %s\n", what);
  std::abort();
}

}  // namespace

uint32_t DelayPlan::SpinsFor(int thread, int num_threads, uint64_t op_index) const {
  if (bytes_.empty()) return 0;
  const uint64_t i = (op_index * static_cast<uint64_t>(num_threads) + static_cast<uint64_t>(thread)) % bytes_.size();
  return kDelaySpins[bytes_[i] & 15];
}

ThreadExecutor::~ThreadExecutor() {
  {
    std::lock_guard<std::mutex> g(mu_);
    shutdown_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

int ThreadExecutor::workers() const {
  std::lock_guard<std::mutex> g(mu_);
  return static_cast<int>(workers_.size());
}

uint64_t ThreadExecutor::TotalThreadsCreated() { return g_threads_created.load(std::memory_order_relaxed); }

void ThreadExecutor::Run(int num_threads, const std::function<void(int)>& body, DelayPlan delays) {
  if (num_threads < 1 || num_threads > kMaxThreads) Fatal("num_threads out of range");
  if (core::CurrentSchedHook() != nullptr) Fatal("Run with a SchedHook installed (real threads need none)");
  std::unique_lock<std::mutex> lk(mu_);
  while (static_cast<int>(workers_.size()) < num_threads) {
    const int index = static_cast<int>(workers_.size());
    workers_.emplace_back(&ThreadExecutor::WorkerLoop, this, index, generation_);
    g_threads_created.fetch_add(1, std::memory_order_relaxed);
  }
  delays_ = std::move(delays);
  for (int i = 0; i < kMaxThreads; ++i) op_index_[i] = 0;
  num_threads_ = num_threads;
  remaining_ = num_threads;
  body_ = &body;
  error_ = nullptr;
  arrived_.store(0, std::memory_order_relaxed);
  ++generation_;
  lk.unlock();
  work_cv_.notify_all();

  lk.lock();
  done_cv_.wait(lk, [this] { return remaining_ == 0; });
  body_ = nullptr;
  ++runs_;
  std::exception_ptr error = error_;
  error_ = nullptr;
  lk.unlock();
  if (error) std::rethrow_exception(error);
}

// `seen`: the generation when the worker was created (inside Run, under mu_,
// before the bump), so the run being prepared is still ahead of it.
void ThreadExecutor::WorkerLoop(int index, uint64_t seen) {
  for (;;) {
    std::unique_lock<std::mutex> lk(mu_);
    work_cv_.wait(lk, [&] { return shutdown_ || generation_ != seen; });
    if (shutdown_) return;
    seen = generation_;
    if (index >= num_threads_) continue;  // not part of this run
    const int n = num_threads_;
    const std::function<void(int)>* body = body_;
    lk.unlock();

    // Start barrier: spin so that all workers leave it at nearly the same time
    // (yield now and then: the machine may have fewer cores than workers).
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    for (int spins = 0; arrived_.load(std::memory_order_acquire) < n; ++spins) {
      if (spins < 256) {
        CpuRelax();
      } else {
        std::this_thread::yield();
      }
    }

    std::exception_ptr error;
    try {
      (*body)(index);
    } catch (...) {
      error = std::current_exception();
    }

    lk.lock();
    if (error && !error_) error_ = error;
    if (--remaining_ == 0) done_cv_.notify_one();
  }
}

void ThreadExecutor::Delay(int thread) {
  if (thread < 0 || thread >= kMaxThreads || delays_.empty()) return;
  const uint32_t spins = delays_.SpinsFor(thread, num_threads_, op_index_[thread]++);
  for (uint32_t i = 0; i < spins; ++i) CpuRelax();
}

}  // namespace ftf::sched
