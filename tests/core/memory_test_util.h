// memory_test_util.h - shared helpers for the object-memory and refcount
// tests (object_test, refcount_test, brc_test, heap_test, qsbr_test).

#ifndef FTF_TESTS_CORE_MEMORY_TEST_UTIL_H_
#define FTF_TESTS_CORE_MEMORY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "core/object.h"
#include "core/observer.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"

namespace ftf::core::testing {

// Records what the core reports. Thread-safe (real-thread tests share it).
// `on_ref_change` runs inside the core right after the reported access, on
// the reporting thread: single-threaded tests use it to play "another
// thread" at exactly that point of an operation.
class RecordingObserver : public Observer {
 public:
  void OnAlloc(ThreadState& ts, Object* o) override {
    std::lock_guard<std::mutex> g(mu_);
    ++allocs_;
  }
  void OnReuse(ThreadState& ts, Object* o, uint64_t previous_id) override {
    std::lock_guard<std::mutex> g(mu_);
    reuses_.push_back(previous_id);
  }
  void OnDealloc(ThreadState& ts, Object* o) override {
    std::lock_guard<std::mutex> g(mu_);
    ++deallocs_[ObjectId(o)];
    dealloc_thread_[ObjectId(o)] = ts.index;
  }
  void OnFreeBlock(ThreadState& ts, Object* o) override {
    std::lock_guard<std::mutex> g(mu_);
    ++block_frees_;
  }
  void OnRefChange(ThreadState& ts, Object* o, RefOp op, int64_t before, int64_t after) override {
    {
      std::lock_guard<std::mutex> g(mu_);
      ops_.push_back(op);
    }
    if (on_ref_change) on_ref_change(ts, o, op, before, after);
  }
  void OnBrcQueued(ThreadState& ts, Object* o, int owner_index) override {
    std::lock_guard<std::mutex> g(mu_);
    queued_to_.push_back(owner_index);
  }
  void OnRawFree(ThreadState& ts, void* p) override {
    if (on_raw_free) on_raw_free(ts, p);
  }

  int Deallocs(uint64_t id) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = deallocs_.find(id);
    return it == deallocs_.end() ? 0 : it->second;
  }
  int DeallocThread(uint64_t id) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = dealloc_thread_.find(id);
    return it == dealloc_thread_.end() ? -1 : it->second;
  }
  int CountOp(RefOp op) {
    std::lock_guard<std::mutex> g(mu_);
    int n = 0;
    for (RefOp x : ops_) n += x == op ? 1 : 0;
    return n;
  }
  std::map<uint64_t, int> AllDeallocs() {
    std::lock_guard<std::mutex> g(mu_);
    return deallocs_;
  }
  std::vector<uint64_t> Reuses() {
    std::lock_guard<std::mutex> g(mu_);
    return reuses_;
  }
  std::vector<int> QueuedTo() {
    std::lock_guard<std::mutex> g(mu_);
    return queued_to_;
  }
  int allocs() {
    std::lock_guard<std::mutex> g(mu_);
    return allocs_;
  }
  int block_frees() {
    std::lock_guard<std::mutex> g(mu_);
    return block_frees_;
  }

  std::function<void(ThreadState&, Object*, RefOp, int64_t, int64_t)> on_ref_change;
  std::function<void(ThreadState&, void*)> on_raw_free;

 private:
  std::mutex mu_;
  int allocs_ = 0;
  int block_frees_ = 0;
  std::map<uint64_t, int> deallocs_;
  std::map<uint64_t, int> dealloc_thread_;
  std::vector<RefOp> ops_;
  std::vector<uint64_t> reuses_;
  std::vector<int> queued_to_;
};

// Counts deallocations per object id with relaxed atomics only, so that,
// unlike RecordingObserver's mutex, it adds no happens-before edges that
// could hide a race from TSan in real-thread tests.
class AtomicDeallocCounter : public Observer {
 public:
  explicit AtomicDeallocCounter(size_t max_id) : counts_(max_id) {}
  void OnDealloc(ThreadState& ts, Object* o) override {
    uint64_t id = ObjectId(o);
    if (id < counts_.size()) {
      counts_[id].fetch_add(1, std::memory_order_relaxed);
    } else {
      overflow_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  int Deallocs(uint64_t id) const { return counts_.at(id).load(std::memory_order_relaxed); }
  int Total() const {
    int n = 0;
    for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
    return n;
  }
  int overflow() const { return overflow_.load(std::memory_order_relaxed); }

 private:
  std::vector<std::atomic<int>> counts_;
  std::atomic<int> overflow_{0};
};

// A Runtime with `n` started (attached) logical threads and a recording
// observer. Threads still alive at the end exit (draining their queues).
class MemoryTest : public ::testing::Test {
 protected:
  explicit MemoryTest(int n = 3) : rt_(n) {
    rt_.observer = &obs_;
    for (int i = 0; i < rt_.num_threads(); ++i) ThreadStart(rt_.thread(i));
  }
  ~MemoryTest() override {
    for (int i = 0; i < rt_.num_threads(); ++i) {
      ThreadState& t = rt_.thread(i);
      if (t.Status() != ThreadStatus::kExited && t.Status() != ThreadStatus::kNotStarted) ThreadExit(t);
    }
    rt_.observer = nullptr;
  }
  ThreadState& T(int i) { return rt_.thread(i); }

  static intptr_t Shared(const Object* o) { return o->ob_ref_shared.Peek(); }
  static uint32_t Local(const Object* o) { return o->ob_ref_local.Peek(); }
  static uintptr_t Tid(const Object* o) { return o->ob_tid.Peek(); }

  Runtime rt_;
  RecordingObserver obs_;
};

}  // namespace ftf::core::testing

#endif  // FTF_TESTS_CORE_MEMORY_TEST_UTIL_H_
