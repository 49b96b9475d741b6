// ThreadExecutor: the same bodies on a persistent pool of real threads.

#include "sched/thread_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/atomics.h"
#include "core/sched_hook.h"

namespace ftf::sched {
namespace {

TEST(ThreadExecutorTest, RunsBodiesConcurrentlyOnDistinctWorkerThreads) {
  ThreadExecutor ex;
  constexpr int kThreads = 4;
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> inside{0};
  std::atomic<int> saw_all{0};
  ex.Run(kThreads, [&](int t) {
    {
      std::lock_guard<std::mutex> g(mu);
      ids.insert(std::this_thread::get_id());
    }
    // All bodies must be live at the same time (the barrier released them
    // together and they are distinct threads): wait for the others, bounded.
    inside.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (inside.load() < kThreads && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (inside.load() == kThreads) saw_all.fetch_add(1);
  });
  EXPECT_EQ(saw_all.load(), kThreads);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(ThreadExecutorTest, WorkersAreReusedAcrossRuns) {
  const uint64_t before = ThreadExecutor::TotalThreadsCreated();
  std::set<std::thread::id> all_ids;
  {
    ThreadExecutor ex;
    std::mutex mu;
    for (int run = 0; run < 200; ++run) {
      const int n = 1 + run % 4;
      std::atomic<int> ran{0};
      ex.Run(n, [&](int t) {
        ran.fetch_add(1 << t);
        std::lock_guard<std::mutex> g(mu);
        all_ids.insert(std::this_thread::get_id());
      });
      ASSERT_EQ(ran.load(), (1 << n) - 1) << "run " << run;
    }
    EXPECT_EQ(ex.workers(), 4);
    EXPECT_EQ(ex.runs(), 200u);
  }  // joined here
  EXPECT_EQ(ThreadExecutor::TotalThreadsCreated() - before, 4u);
  EXPECT_EQ(all_ids.size(), 4u);
}

TEST(ThreadExecutorTest, BlockingGoesThroughWaitUntilWithoutAHook) {
  ASSERT_EQ(core::CurrentSchedHook(), nullptr);
  ThreadExecutor ex;
  for (int run = 0; run < 50; ++run) {
    core::Cell<int> flag;
    core::Cell<int> data;
    std::atomic<int> got{0};
    ex.Run(2, [&](int t) {
      if (t == 0) {
        core::WaitUntil(core::WaitSpec{"test", &flag,
                                       [](const void* c) { return static_cast<const core::Cell<int>*>(c)->LoadAcquire() != 0; },
                                       &flag, core::Loc::Here()});
        got.store(data.LoadRelaxed());
      } else {
        data.StoreRelaxed(7);
        flag.StoreRelease(1);
      }
    });
    ASSERT_EQ(got.load(), 7);
  }
}

TEST(ThreadExecutorTest, DelayPlanMapsBytesToSpins) {
  const uint8_t bytes[] = {0x00, 0x08, 0x0F, 0xF9};
  DelayPlan plan(bytes, sizeof(bytes));
  // op k of thread t uses byte (k * n + t) % len, low nibble -> kDelaySpins.
  EXPECT_EQ(plan.SpinsFor(0, 2, 0), 0u);     // byte 0x00
  EXPECT_EQ(plan.SpinsFor(1, 2, 0), 1u);     // byte 0x08
  EXPECT_EQ(plan.SpinsFor(0, 2, 1), 4096u);  // byte 0x0F
  EXPECT_EQ(plan.SpinsFor(1, 2, 1), 4u);     // byte 0xF9
  EXPECT_EQ(plan.SpinsFor(0, 2, 2), 0u);     // wraps around
  EXPECT_EQ(DelayPlan().SpinsFor(0, 2, 5), 0u);

  ThreadExecutor ex;
  std::atomic<int> ops{0};
  ex.Run(
      3,
      [&](int t) {
        for (int i = 0; i < 10; ++i) {
          ex.Delay(t);
          ops.fetch_add(1);
        }
      },
      DelayPlan(std::vector<uint8_t>{0x0F, 0x0D, 0x00, 0x0A}));
  EXPECT_EQ(ops.load(), 30);
}

TEST(ThreadExecutorTest, AnExceptionInABodyIsRethrownAfterAllFinish) {
  ThreadExecutor ex;
  std::atomic<int> finished{0};
  EXPECT_THROW(ex.Run(3,
                      [&](int t) {
                        if (t == 2) throw std::runtime_error("boom");
                        finished.fetch_add(1);
                      }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 2);
  // Still usable.
  ex.Run(3, [&](int) { finished.fetch_add(1); });
  EXPECT_EQ(finished.load(), 5);
}

TEST(ThreadExecutorTest, DestroyingAnIdlePoolJoinsPromptly) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    ThreadExecutor ex;
    ex.Run(2, [](int) {});
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  ThreadExecutor never_used;  // no workers: nothing to join
  EXPECT_EQ(never_used.workers(), 0);
}

}  // namespace
}  // namespace ftf::sched
