// Tests for QSBR and delayed frees (qsbr.h).

#include "core/qsbr.h"

#include <gtest/gtest.h>

#include <atomic>
#include <new>
#include <thread>
#include <vector>

#include "core/heap.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "memory_test_util.h"

namespace ftf::core {
namespace {

using testing::MemoryTest;

class QsbrTest : public MemoryTest {
 protected:
  QsbrTest() { rt_.qsbr.deferred_limit = 1; }  // every retirement advances wr_seq
  uint64_t Wr() { return rt_.qsbr.wr_seq.Peek(); }
  uint64_t Seq(int i) { return T(i).qsbr->seq.Peek(); }
  size_t LiveRaw(int i) { return rt_.heap(i).live_raw_blocks(); }
  size_t Pending(int i) { return T(i).delayed.size() - T(i).delayed_rd; }
};

TEST_F(QsbrTest, SequencesAreOddAndAdvanceByTwo) {
  EXPECT_EQ(Wr(), kQsbrInitial);
  EXPECT_EQ(rt_.qsbr.rd_seq.Peek(), kQsbrInitial);
  EXPECT_EQ(QsbrAdvance(rt_), 3u);
  EXPECT_EQ(QsbrSharedNext(rt_), 5u);
  EXPECT_EQ(Wr(), 3u);  // SharedNext does not write
  EXPECT_EQ(QsbrAdvance(rt_), 5u);
}

TEST_F(QsbrTest, AttachDetachAndQuiescentState) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Seq(i), kQsbrInitial);  // attached at start
  QsbrAdvance(rt_);
  QsbrQuiescentState(T(1));
  EXPECT_EQ(Seq(1), 3u);
  EXPECT_EQ(Seq(0), 1u);
  QsbrDetach(T(2));
  EXPECT_EQ(Seq(2), kQsbrOffline);
  QsbrAttach(T(2));
  EXPECT_EQ(Seq(2), 3u);
}

TEST_F(QsbrTest, PollWaitsForEveryOnlineThread) {
  uint64_t goal = QsbrAdvance(rt_);
  EXPECT_FALSE(QsbrPoll(T(0), goal));
  QsbrQuiescentState(T(0));
  QsbrQuiescentState(T(1));
  EXPECT_FALSE(QsbrPoll(T(0), goal));  // T2 has not passed a quiescent state
  EXPECT_FALSE(QsbrGoalReached(rt_, goal));
  QsbrDetach(T(2));                    // offline = quiescent
  EXPECT_TRUE(QsbrPoll(T(0), goal));
  EXPECT_EQ(rt_.qsbr.rd_seq.Peek(), goal);  // the scan moved rd_seq forward
  EXPECT_TRUE(QsbrGoalReached(rt_, goal));
  QsbrAttach(T(2));
  EXPECT_TRUE(QsbrPoll(T(1), goal));  // a reached goal stays reached
}

TEST_F(QsbrTest, ComparisonsAreWrapSafe) {
  EXPECT_TRUE(QsbrLt(1, 3));
  EXPECT_FALSE(QsbrLt(3, 3));
  EXPECT_TRUE(QsbrLeq(3, 3));
  EXPECT_TRUE(QsbrLt(UINT64_MAX, 1));  // UINT64_MAX is "just before" 1
  EXPECT_FALSE(QsbrLeq(1, UINT64_MAX));
  // Run the scan across the wrap.
  const uint64_t start = UINT64_MAX - 2;  // odd
  rt_.qsbr.wr_seq.Poke(start);
  rt_.qsbr.rd_seq.Poke(start);
  for (int i = 0; i < 3; ++i) QsbrQuiescentState(T(i));
  EXPECT_EQ(QsbrAdvance(rt_), UINT64_MAX);
  uint64_t goal = QsbrAdvance(rt_);
  EXPECT_EQ(goal, 1u);  // wrapped (odd all the way)
  QsbrQuiescentState(T(0));
  QsbrQuiescentState(T(1));
  EXPECT_FALSE(QsbrPoll(T(0), goal));  // T2 still at UINT64_MAX - 2, which is before 1
  QsbrQuiescentState(T(2));
  EXPECT_TRUE(QsbrPoll(T(0), goal));
  EXPECT_EQ(rt_.qsbr.rd_seq.Peek(), 1u);
}

TEST_F(QsbrTest, DelayedFreeWaitsForAllThreadsToPassAQuiescentState) {
  void* p = AllocRaw(T(0), 64);
  std::vector<void*> freed;
  obs_.on_raw_free = [&](ThreadState&, void* q) { freed.push_back(q); };
  FreeDelayed(T(0), p);
  EXPECT_EQ(Pending(0), 1u);
  EXPECT_EQ(T(0).delayed[0].goal, 3u);
  EXPECT_EQ(LiveRaw(0), 1u);
  // T1 may hold p (it read the pointer before it was retired) until its
  // next quiescent state: no amount of advancing by others frees it.
  for (int round = 0; round < 5; ++round) {
    QsbrQuiescentState(T(0));
    QsbrQuiescentState(T(2));
    QsbrAdvance(rt_);
    ProcessDelayed(T(0));
    EXPECT_EQ(LiveRaw(0), 1u);
    EXPECT_TRUE(freed.empty());
  }
  QsbrQuiescentState(T(1));
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 0u);
  ASSERT_EQ(freed.size(), 1u);
  EXPECT_EQ(freed[0], p);
  EXPECT_EQ(Pending(0), 0u);
  obs_.on_raw_free = nullptr;
}

TEST_F(QsbrTest, XDecRefDelayedDecrefsAfterTheGoal) {
  Object* o = NewObject(T(0), 0);
  Incref(T(0), o);
  XDecRefDelayed(T(0), nullptr);  // no-op
  XDecRefDelayed(T(0), o);
  EXPECT_EQ(Local(o), 2u);
  for (int i = 0; i < 3; ++i) QsbrQuiescentState(T(i));
  ProcessDelayed(T(0));
  EXPECT_EQ(Local(o), 1u);
  uint64_t id = ObjectId(o);
  XDecRefDelayed(T(0), o);  // the last reference: freed by the processing thread
  for (int i = 0; i < 3; ++i) QsbrQuiescentState(T(i));
  ProcessDelayed(T(0));
  EXPECT_EQ(obs_.Deallocs(id), 1);
}

TEST_F(QsbrTest, DeferredAdvancePolicy) {
  rt_.qsbr.deferred_limit = 10;
  std::vector<void*> ps;
  for (int i = 0; i < 9; ++i) {
    ps.push_back(AllocRaw(T(0), 16));
    FreeDelayed(T(0), ps.back());
    EXPECT_EQ(T(0).delayed.back().goal, 3u);  // wr_seq + 2, not written
  }
  EXPECT_EQ(Wr(), 1u);
  EXPECT_EQ(T(0).eval_breaker.Peek() & kEvalProcessDelayed, 0u);
  ps.push_back(AllocRaw(T(0), 16));
  FreeDelayed(T(0), ps.back());  // the 10th really advances and asks for processing
  EXPECT_EQ(Wr(), 3u);
  EXPECT_EQ(T(0).delayed.back().goal, 3u);
  EXPECT_NE(T(0).eval_breaker.Peek() & kEvalProcessDelayed, 0u);
  EXPECT_TRUE(T(0).qsbr_should_process);
  for (int i = 0; i < 3; ++i) QsbrQuiescentState(T(i));
  ProcessDelayed(T(0));
  EXPECT_EQ(T(0).eval_breaker.Peek() & kEvalProcessDelayed, 0u);
  EXPECT_FALSE(T(0).qsbr_should_process);
  EXPECT_EQ(LiveRaw(0), 0u);
  // The memory threshold advances at once.
  rt_.qsbr.free_mem_limit = 100;
  FreeDelayed(T(0), AllocRaw(T(0), 200));
  EXPECT_EQ(Wr(), 5u);
  rt_.qsbr.free_mem_limit = size_t{1} << 20;
}

TEST_F(QsbrTest, ItemsAreProcessedInOrderUpToTheFirstUnreachedGoal) {
  void* a = AllocRaw(T(0), 8);
  void* b = AllocRaw(T(0), 8);
  FreeDelayed(T(0), a);  // goal 3
  for (int i = 0; i < 3; ++i) QsbrQuiescentState(T(i));  // everyone at 3
  FreeDelayed(T(0), b);  // goal 5
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 1u);  // a freed, b waits
  EXPECT_EQ(Pending(0), 1u);
  EXPECT_EQ(T(0).delayed[T(0).delayed_rd].ptr, b);
  for (int i = 0; i < 3; ++i) QsbrQuiescentState(T(i));
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 0u);
  EXPECT_TRUE(T(0).delayed.empty());
}

TEST_F(QsbrTest, AFullChunkIsProcessedOnTheSpot) {
  QsbrDetach(T(1));
  QsbrDetach(T(2));
  for (size_t i = 0; i < kWorkItemsPerChunk; ++i) {
    FreeDelayed(T(0), AllocRaw(T(0), 8));
    QsbrQuiescentState(T(0));  // reaches the goal of every item but the next one
  }
  // The 254th retirement processed the queue, with no ProcessDelayed call:
  // every item but that last one (whose goal T0 had not reached) was freed.
  EXPECT_EQ(LiveRaw(0), 1u);
  EXPECT_EQ(Pending(0), 1u);
  FreeDelayed(T(0), AllocRaw(T(0), 8));
  EXPECT_EQ(LiveRaw(0), 2u);
  QsbrAttach(T(1));
  QsbrAttach(T(2));
}

TEST_F(QsbrTest, AbandonedItemsAreFinishedByOtherThreads) {
  void* p = AllocRaw(T(0), 32);
  FreeDelayed(T(0), p);
  ThreadExit(T(0));  // BRC drained, items moved to the shared queue
  EXPECT_TRUE(T(0).delayed.empty());
  EXPECT_EQ(rt_.qsbr.queue.size(), 1u);
  EXPECT_EQ(rt_.qsbr.queue_has_work.Peek(), 1);
  ProcessDelayed(T(1));  // T1, T2 have not passed a quiescent state yet
  EXPECT_EQ(LiveRaw(0), 1u);
  QsbrQuiescentState(T(1));
  QsbrQuiescentState(T(2));
  ProcessDelayed(T(1));
  EXPECT_EQ(LiveRaw(0), 0u);
  EXPECT_EQ(rt_.qsbr.queue_has_work.Peek(), 0);
  EXPECT_TRUE(rt_.qsbr.queue.empty());
}

TEST_F(QsbrTest, SharedQueueIsSkippedWhenItsLockIsBusy) {
  void* p = AllocRaw(T(0), 32);
  FreeDelayed(T(0), p);
  ThreadExit(T(0));
  QsbrQuiescentState(T(1));
  QsbrQuiescentState(T(2));
  rt_.qsbr.queue_mutex.Lock(&T(2));
  ProcessDelayed(T(1));  // must not block
  EXPECT_EQ(LiveRaw(0), 1u);
  rt_.qsbr.queue_mutex.Unlock();
  ProcessDelayed(T(1));
  EXPECT_EQ(LiveRaw(0), 0u);
}

TEST_F(QsbrTest, WorldStoppedFreesAtOnce) {
  rt_.stw.world_stopped.Poke(1);
  void* p = AllocRaw(T(0), 8);
  FreeDelayed(T(0), p);
  EXPECT_EQ(LiveRaw(0), 0u);
  EXPECT_TRUE(T(0).delayed.empty());
  rt_.stw.world_stopped.Poke(0);
}

// The input decides when the deferral threshold is reached (qsbr.h): with
// the default limit nothing retired would be due within a program.
TEST_F(QsbrTest, ReachThresholdAdvancesOnlyWhatIsNotCoveredYet) {
  rt_.qsbr.deferred_limit = 10;
  EXPECT_FALSE(QsbrHasPending(T(0)));
  QsbrReachThreshold(T(0));  // nothing pending: nothing happens
  EXPECT_EQ(Wr(), 1u);
  EXPECT_FALSE(T(0).qsbr_should_process);
  FreeDelayed(T(0), AllocRaw(T(0), 16));
  EXPECT_TRUE(QsbrHasPending(T(0)));
  EXPECT_EQ(T(0).delayed.back().goal, 3u);
  EXPECT_EQ(Wr(), 1u);  // the first retirement does not write
  QsbrReachThreshold(T(0));
  EXPECT_EQ(Wr(), 3u);  // now the goal is covered by a write
  EXPECT_TRUE(T(0).qsbr_should_process);
  EXPECT_NE(T(0).eval_breaker.Peek() & kEvalProcessDelayed, 0u);
  QsbrReachThreshold(T(0));
  EXPECT_EQ(Wr(), 3u);  // already covered: no second advance
  // Still the readers decide: T1 and T2 have not passed a quiescent state.
  QsbrQuiescentState(T(0));
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 1u);
  EXPECT_FALSE(T(0).qsbr_should_process);
  QsbrQuiescentState(T(1));
  QsbrDetach(T(2));
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 0u);
  EXPECT_FALSE(QsbrHasPending(T(0)));
  QsbrAttach(T(2));
  rt_.qsbr.deferred_limit = 1;
}

// mutant_qsbr_goal_vs_wr_seq: the goal compared with wr_seq, not rd_seq.
TEST_F(QsbrTest, FaultGoalReachedReadsWrSeq) {
  rt_.qsbr.deferred_limit = 10;
  FreeDelayed(T(0), AllocRaw(T(0), 8));
  QsbrReachThreshold(T(0));
  QsbrQuiescentState(T(0));
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 1u);  // correct: T1 and T2 still hold it
  rt_.faults.qsbr_goal_reached_reads_wr_seq = true;
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 0u);  // T1, T2 never passed a quiescent state: the bug
  rt_.faults.qsbr_goal_reached_reads_wr_seq = false;
  rt_.qsbr.deferred_limit = 1;
}

TEST_F(QsbrTest, FaultFreeImmediately) {
  rt_.faults.qsbr_free_immediately = true;
  FreeDelayed(T(0), AllocRaw(T(0), 8));
  EXPECT_EQ(LiveRaw(0), 0u);  // freed although T1 and T2 may still read it
  rt_.faults.qsbr_free_immediately = false;
}

TEST_F(QsbrTest, FaultPollIgnoresThreads) {
  rt_.faults.qsbr_poll_ignores_threads = true;
  FreeDelayed(T(0), AllocRaw(T(0), 8));
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 0u);  // T1, T2 never passed a quiescent state: the bug
  rt_.faults.qsbr_poll_ignores_threads = false;
}

// Real threads: a reader keeps dereferencing the current block (quiescent
// only between reads) while a writer replaces it and retires the old one
// through QSBR. The free hook scribbles on each block just before it is
// freed, so a block freed too early shows up as a bad canary (and, under
// ASan, as a use after free).
TEST_F(QsbrTest, RealThreadsReaderNeverSeesAFreedBlock) {
  constexpr uint64_t kCanary = 0x600df00d600df00dULL;
  constexpr int kWrites = 4000;
  ThreadExit(T(2));  // only T0 (writer) and T1 (reader) take part
  auto make_block = [&]() {
    void* p = AllocRaw(T(0), sizeof(Cell<uint64_t>));
    new (p) Cell<uint64_t>(kCanary);
    return p;
  };
  obs_.on_raw_free = [&](ThreadState&, void* p) { static_cast<Cell<uint64_t>*>(p)->StoreRelaxed(0xdead); };
  Cell<void*> current(make_block());
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      auto* cell = static_cast<Cell<uint64_t>*>(current.LoadAcquire());
      for (int k = 0; k < 4; ++k) ASSERT_EQ(cell->LoadRelaxed(), kCanary);
      reads.fetch_add(1, std::memory_order_relaxed);
      QsbrQuiescentState(T(1));  // only here may the reader drop `cell`
    }
  });
  // Keep writing until the reader has really overlapped with the writer.
  for (int i = 0; i < kWrites || (reads.load(std::memory_order_relaxed) < 1000 && i < 50 * kWrites); ++i) {
    void* old = current.ExchangeSeqCst(make_block());
    FreeDelayed(T(0), old);
    QsbrQuiescentState(T(0));
    ProcessDelayed(T(0));
  }
  stop.store(true);
  reader.join();
  ThreadExit(T(1));
  QsbrQuiescentState(T(0));
  ProcessDelayed(T(0));
  EXPECT_EQ(LiveRaw(0), 1u);  // only the current block is left
  EXPECT_GT(reads.load(), 0);
  obs_.on_raw_free = nullptr;
  FreeRaw(T(0), current.Peek());
}

}  // namespace
}  // namespace ftf::core
