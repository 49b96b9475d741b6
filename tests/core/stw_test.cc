// Tests for stop-the-world, attach/detach and safe points (stw.h) with real threads.

#include "core/stw.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/critical_section.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

TEST(StwTest, StartAttachesAndExitMarksExited) {
  Runtime rt(2);
  EXPECT_EQ(rt.thread(0).Status(), ThreadStatus::kNotStarted);
  ThreadStart(rt.thread(0));
  EXPECT_EQ(rt.thread(0).Status(), ThreadStatus::kAttached);
  ThreadExit(rt.thread(0));
  EXPECT_EQ(rt.thread(0).Status(), ThreadStatus::kExited);
}

TEST(StwTest, StopWithNoOtherThreadReturnsAtOnce) {
  Runtime rt(2);
  ThreadStart(rt.thread(0));  // thread 1 never started: not counted
  StopTheWorld(rt.thread(0));
  EXPECT_EQ(rt.stw.world_stopped.Peek(), 1);
  StartTheWorld(rt.thread(0));
  EXPECT_EQ(rt.stw.world_stopped.Peek(), 0);
  ThreadExit(rt.thread(0));
}

// Attached workers stop at their next safe point; a detached one is parked by
// the requester; while stopped nobody makes progress; after the restart
// everyone continues (INV-STW-1).
TEST(StwTest, StopsAttachedAndDetachedThreadsAndRestarts) {
  constexpr int kWorkers = 3;
  Runtime rt(kWorkers + 1);
  std::atomic<bool> done{false};
  std::atomic<long> progress[kWorkers] = {};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      ThreadState& ts = rt.thread(w + 1);
      ThreadStart(ts);
      while (!done.load()) {
        if (w == 0) {
          // Worker 0 spends most of its time detached (as if blocked in I/O).
          Detach(ts);
          std::this_thread::yield();
          Attach(ts);
        }
        progress[w].fetch_add(1);
        SafePoint(ts);
      }
      ThreadExit(ts);
    });
  }
  ThreadState& req = rt.thread(0);
  ThreadStart(req);
  for (int w = 0; w < kWorkers; ++w)
    while (progress[w].load() < 10) std::this_thread::yield();
  for (int round = 0; round < 20; ++round) {
    StopTheWorld(req);
    for (int w = 0; w < kWorkers; ++w)
      EXPECT_EQ(rt.thread(w + 1).Status(), ThreadStatus::kSuspended) << "worker " << w << " round " << round;
    long before[kWorkers];
    for (int w = 0; w < kWorkers; ++w) before[w] = progress[w].load();
    for (int i = 0; i < 1000; ++i) std::this_thread::yield();
    for (int w = 0; w < kWorkers; ++w) EXPECT_LE(progress[w].load(), before[w] + 1) << "worker " << w;
    StartTheWorld(req);
    for (int w = 0; w < kWorkers; ++w) {
      long target = progress[w].load() + 5;
      while (progress[w].load() < target) std::this_thread::yield();
    }
  }
  done.store(true);
  for (auto& t : workers) t.join();
  ThreadExit(req);
  EXPECT_EQ(rt.stw.requested.Peek(), 0);
}

// A thread blocked on a mutex (detached) counts as stopped; when the mutex
// is released during the stop it must not re-attach before the restart.
TEST(StwTest, ThreadBlockedOnMutexIsSuspendedAndWaitsForRestart) {
  Runtime rt(2);
  ThreadState& req = rt.thread(0);
  ThreadState& blocked = rt.thread(1);
  ThreadStart(req);
  Mutex m;
  m.Lock(&req);
  std::atomic<int> state{0};
  std::thread t([&] {
    ThreadStart(blocked);
    state.store(1);
    m.Lock(&blocked);  // parks, detached
    state.store(2);
    m.Unlock();
    ThreadExit(blocked);
  });
  while (state.load() < 1 || blocked.Status() != ThreadStatus::kDetached) std::this_thread::yield();
  StopTheWorld(req);
  EXPECT_EQ(blocked.Status(), ThreadStatus::kSuspended);
  m.Unlock();
  for (int i = 0; i < 2000; ++i) std::this_thread::yield();
  EXPECT_EQ(state.load(), 1) << "a suspended thread must not run before the world restarts";
  StartTheWorld(req);
  t.join();
  EXPECT_EQ(state.load(), 2);
  ThreadExit(req);
}

}  // namespace
}  // namespace ftf::core
