// Schedule decoders: specific bytes give specific decisions (sched/schedule_decoder.h).

#include "sched/schedule_decoder.h"

#include <gtest/gtest.h>

#include <vector>

#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using testing::Direct;
using testing::Pct;

constexpr ThreadMask kAll3 = 0b111;

PickContext At(ThreadMask runnable, int current, PickReason reason, uint64_t step = 0, ThreadMask pending = 0) {
  return PickContext{runnable, current, reason, step, pending};
}

TEST(DirectDecoderTest, SelectorPicksThatThreadWhenRunnable) {
  const uint8_t bytes[] = {0x01, 0x02, 0x00};
  DirectDecoder d;
  d.Reset(bytes, sizeof(bytes), 8);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 1);
  // Run length 1 and nothing pending at the start: exactly one access.
  EXPECT_TRUE(d.TryContinue());
  EXPECT_FALSE(d.TryContinue());
  EXPECT_EQ(d.Pick(At(kAll3, 1, PickReason::kPoint, 1, 0b010)), 2);
  EXPECT_TRUE(d.TryContinue());
  EXPECT_FALSE(d.TryContinue());
  EXPECT_EQ(d.Pick(At(kAll3, 2, PickReason::kPoint, 2, 0b110)), 0);
  EXPECT_EQ(d.consumed(), 3u);
}

TEST(DirectDecoderTest, SelectorFallsBackToNthRunnable) {
  // Selector 3 with runnable {0, 1}: 3 % 2 = 1 -> the second runnable thread, T1.
  // Selector 6 with runnable {0, 2, 3}: 6 % 3 = 0 -> T0.
  // Selector 5 with runnable {1, 3}: 5 % 2 = 1 -> T3.
  const uint8_t bytes[] = {0x03, 0x06, 0x05};
  DirectDecoder d;
  d.Reset(bytes, sizeof(bytes), 8);
  EXPECT_EQ(d.Pick(At(0b11, -1, PickReason::kStart)), 1);
  EXPECT_EQ(d.Pick(At(0b1101, 1, PickReason::kFinished, 1)), 0);
  EXPECT_EQ(d.Pick(At(0b1010, 0, PickReason::kBlocked, 2)), 3);
}

TEST(DirectDecoderTest, RunLengthCountsAccesses) {
  // 0x10 | 2: r = 2 -> 3 accesses. Chosen at the start (nothing pending):
  // three scheduling points continue without a decision.
  const uint8_t bytes[] = {0x12, 0x10, 0x00};
  DirectDecoder d;
  d.Reset(bytes, sizeof(bytes), 8);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 2);
  EXPECT_TRUE(d.TryContinue());
  EXPECT_TRUE(d.TryContinue());
  EXPECT_TRUE(d.TryContinue());
  EXPECT_FALSE(d.TryContinue());
  // 0x10: T0, which never ran (not pending): three more scheduling points continue.
  EXPECT_EQ(d.Pick(At(kAll3, 2, PickReason::kPoint, 3, 0b100)), 0);
  EXPECT_TRUE(d.TryContinue());
  EXPECT_TRUE(d.TryContinue());
  EXPECT_TRUE(d.TryContinue());
  EXPECT_FALSE(d.TryContinue());
  // 0x00: T0 again, stopped at an access (pending): its one access is that
  // pending one, so the very next scheduling point decides again.
  EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kPoint, 6, 0b101)), 0);
  EXPECT_FALSE(d.TryContinue());
}

TEST(DirectDecoderTest, RunLengthTableIsMonotoneAndEndsWithForever) {
  for (int i = 1; i < 32; ++i) EXPECT_GT(kRunLengths[i], kRunLengths[i - 1]) << i;
  EXPECT_EQ(kRunLengths[0], 1u);
  EXPECT_EQ(kRunLengths[31], kForever);
}

TEST(DirectDecoderTest, ForeverRunsUntilBlockOrFinish) {
  const uint8_t bytes[] = {0xF9, 0x00};
  DirectDecoder d;
  d.Reset(bytes, sizeof(bytes), 8);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 1);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(d.TryContinue());
  // T1 blocks: a forced decision reads the next byte.
  EXPECT_EQ(d.Pick(At(0b101, 1, PickReason::kBlocked, 100000)), 0);
  EXPECT_EQ(d.consumed(), 2u);
}

TEST(DirectDecoderTest, YieldForcesADecision) {
  const uint8_t bytes[] = {0xF8, 0x01};
  DirectDecoder d;
  d.Reset(bytes, sizeof(bytes), 8);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 0);
  EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kYield, 5)), 1);
}

TEST(DirectDecoderTest, FallbackIsRoundRobinWithQuantumWhenBytesRunOut) {
  const uint8_t bytes[] = {0x02};
  DirectDecoder d;
  d.Reset(bytes, sizeof(bytes), /*fallback_quantum=*/2);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 2);
  EXPECT_TRUE(d.TryContinue());
  EXPECT_FALSE(d.TryContinue());
  EXPECT_TRUE(d.exhausted());
  // Fallback: next after T2 cyclically is T0; T2 was pending, T0 not: T0 gets 2 accesses.
  EXPECT_EQ(d.Pick(At(kAll3, 2, PickReason::kPoint, 1, 0b100)), 0);
  EXPECT_FALSE(d.TryContinue());  // fallback mode: every point goes through Pick
  EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kPoint, 2, 0b101)), 0);
  EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kPoint, 3, 0b101)), 0);
  EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kPoint, 3, 0b101)), 1);
  // T1 not pending: 2 accesses; then a block moves on at once.
  EXPECT_EQ(d.Pick(At(kAll3, 1, PickReason::kPoint, 4, 0b111)), 1);
  EXPECT_EQ(d.Pick(At(0b101, 1, PickReason::kBlocked, 5, 0b101)), 2);
  // Only one runnable thread: it keeps being chosen.
  EXPECT_EQ(d.Pick(At(0b100, 2, PickReason::kYield, 6, 0)), 2);
}

TEST(DirectDecoderTest, SameBytesSameDecisions) {
  const std::vector<uint8_t> bytes = testing::RandomBytes(7, 64);
  auto run = [&] {
    DirectDecoder d;
    d.Reset(bytes.data(), bytes.size(), 3);
    std::vector<int> picks;
    ThreadMask runnable = 0b1111;
    int cur = d.Pick(At(runnable, -1, PickReason::kStart));
    for (uint64_t step = 1; step < 500; ++step) {
      if (d.TryContinue()) {
        picks.push_back(cur);
        continue;
      }
      if (step % 97 == 0) runnable ^= 0b0100;  // a thread blocks and wakes now and then
      if (((runnable >> cur) & 1u) == 0) {
        cur = d.Pick(At(runnable, cur, PickReason::kBlocked, step));
      } else {
        cur = d.Pick(At(runnable, cur, PickReason::kPoint, step, ThreadMask{1} << cur));
      }
      picks.push_back(cur);
    }
    return picks;
  };
  const std::vector<int> first = run();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(run(), first);
}

TEST(PctDecoderTest, ShuffleGivesInitialPriorities) {
  // n = 3, bytes {0, 0}: i=2: j=0 -> order [2,1,0]; i=1: j=0 -> order [1,2,0].
  // Priorities (d = 1): T1 = 1, T2 = 2, T0 = 3.
  const uint8_t bytes[] = {0, 0};
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 3, /*depth=*/1, /*horizon=*/100, 8);
  EXPECT_EQ(d.priority(0), 3);
  EXPECT_EQ(d.priority(1), 1);
  EXPECT_EQ(d.priority(2), 2);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 0);
  EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kPoint, 1, 1)), 0);  // highest priority keeps running
  EXPECT_EQ(d.Pick(At(0b110, 0, PickReason::kFinished, 9)), 2);
  EXPECT_EQ(d.Pick(At(0b010, 2, PickReason::kBlocked, 12)), 1);
  EXPECT_EQ(d.Pick(At(0b110, 1, PickReason::kPoint, 13, 0b010)), 2);  // T2 woke up: it preempts T1
}

TEST(PctDecoderTest, PermutationBytesAreUsedModulo) {
  // n = 4, bytes {5, 7, 1}: i=3: j=5%4=1 -> [0,3,2,1]; i=2: j=7%3=1 -> [0,2,3,1];
  // i=1: j=1%2=1 -> unchanged. Priorities (d = 2): T0=2, T2=3, T3=4, T1=5.
  const uint8_t bytes[] = {5, 7, 1};
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 4, 2, 100, 8);
  EXPECT_EQ(d.priority(0), 2);
  EXPECT_EQ(d.priority(2), 3);
  EXPECT_EQ(d.priority(3), 4);
  EXPECT_EQ(d.priority(1), 5);
  // Missing change-point bytes read as 0: k = 1 + 0 % 100 = 1.
  EXPECT_EQ(d.change_point(0), 1u);
}

TEST(PctDecoderTest, ChangePointLowersTheRunningThread) {
  // n = 3, d = 2: shuffle bytes {0, 0} -> T0=4, T2=3, T1=2; change point
  // bytes {5, 0} -> k = 1 + 5 % 100 = 6; it sets the running thread to 1.
  const uint8_t bytes[] = {0, 0, 5, 0};
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 3, 2, 100, 8);
  EXPECT_EQ(d.change_point(0), 6u);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 0);
  for (uint64_t step = 1; step < 6; ++step) EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kPoint, step, 1)), 0);
  EXPECT_EQ(d.Pick(At(kAll3, 0, PickReason::kPoint, 6, 1)), 2);
  EXPECT_EQ(d.priority(0), 1);
  // The change point fires once: T2 keeps running afterwards.
  EXPECT_EQ(d.Pick(At(kAll3, 2, PickReason::kPoint, 7, 0b101)), 2);
  EXPECT_EQ(d.Pick(At(0b011, 2, PickReason::kFinished, 8, 0b001)), 1);
}

TEST(PctDecoderTest, LittleEndianChangePointsModuloHorizon) {
  // n = 2, d = 3: shuffle byte {1} -> i=1: j=1 -> identity: T0=3, T1=4.
  // Change points {0x34, 0x12} -> 0x1234 = 4660; 1 + 4660 % 1000 = 661;
  // {0xFF, 0xFF} -> 65535; 1 + 65535 % 1000 = 536.
  const uint8_t bytes[] = {1, 0x34, 0x12, 0xFF, 0xFF};
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 2, 3, 1000, 8);
  EXPECT_EQ(d.priority(0), 3);
  EXPECT_EQ(d.priority(1), 4);
  EXPECT_EQ(d.num_change_points(), 2);
  EXPECT_EQ(d.change_point(0), 661u);
  EXPECT_EQ(d.change_point(1), 536u);
  // At step 536 the second change point sets T1 (running) to 3-1-1 = 1.
  EXPECT_EQ(d.Pick(At(0b11, 1, PickReason::kPoint, 536, 0b10)), 0);
  EXPECT_EQ(d.priority(1), 1);
  // At step 661 the first sets T0 to 2: still above T1.
  EXPECT_EQ(d.Pick(At(0b11, 0, PickReason::kPoint, 661, 0b01)), 0);
  EXPECT_EQ(d.priority(0), 2);
}

TEST(PctDecoderTest, RoundRobinTakesOverAfterTwiceTheHorizon) {
  const uint8_t bytes[] = {0};  // order [1, 0]: T1 = 1, T0 = 2 (highest)
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 2, 1, /*horizon=*/4, /*fallback_quantum=*/1);
  EXPECT_EQ(d.fallback_after(), 8u);
  EXPECT_EQ(d.Pick(At(0b11, 0, PickReason::kPoint, 8, 0b11)), 0);  // still PCT: T0 forever
  EXPECT_EQ(d.Pick(At(0b11, 0, PickReason::kPoint, 9, 0b11)), 1);  // round robin from here on
  EXPECT_EQ(d.Pick(At(0b11, 1, PickReason::kPoint, 10, 0b11)), 0);
  EXPECT_EQ(d.Pick(At(0b11, 0, PickReason::kPoint, 11, 0b11)), 1);
}

PickContext AtKey(ThreadMask runnable, int current, int64_t focus_key, uint64_t step) {
  PickContext c = At(runnable, current, PickReason::kPoint, step, ThreadMask{1} << current);
  c.focus_key = focus_key;
  return c;
}

TEST(PctFocusTest, ChangePointNamesAFocusedOperationAndAnAccessInIt) {
  // 5 focused operations: T0 has ordinals 0-1, T1 has 2-4. Change point
  // bytes {0x0D, 0x00} -> v = 13: operation 13 % 5 = 3 (T1's second),
  // access (13 / 5) % 16 = 2.
  FocusPlan plan;
  plan.focused = 5;
  plan.begin[0] = 0;
  plan.begin[1] = 2;
  plan.begin[2] = 5;
  const uint8_t bytes[] = {1, 0x0D, 0x00};  // shuffle {1}: identity, T0 = 2, T1 = 3 (highest)
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 2, 2, 1024, 8, &plan);
  ASSERT_TRUE(d.focused());
  EXPECT_EQ(d.change_thread(0), 1);
  EXPECT_EQ(d.change_point(0), (uint64_t{3} << 16) | 2);
  EXPECT_EQ(d.Pick(At(0b11, -1, PickReason::kStart)), 1);
  // Not before T1 is two accesses into its focused operation 3, however
  // many steps have passed...
  EXPECT_EQ(d.Pick(AtKey(0b11, 1, (int64_t{2} << 16) | 7, 5000)), 1);
  EXPECT_EQ(d.Pick(AtKey(0b11, 1, (int64_t{3} << 16) | 1, 5001)), 1);
  // ... and never in another thread at the same place.
  EXPECT_EQ(d.priority(1), 3);
  // There it fires: T1 drops to d - 1 = 1, below T0.
  EXPECT_EQ(d.Pick(AtKey(0b11, 1, (int64_t{3} << 16) | 2, 5002)), 0);
  EXPECT_EQ(d.priority(1), 1);
}

TEST(PctFocusTest, AChangePointPastAShortOperationFiresAtTheThreadsNextPoint) {
  FocusPlan plan;
  plan.focused = 2;
  plan.begin[0] = 0;
  plan.begin[1] = 2;
  plan.begin[2] = 2;
  // v = 0x1E = 30: operation 0, access 15; operation 0 has fewer accesses.
  const uint8_t bytes[] = {0, 0x1E, 0x00};  // shuffle {0}: T1 = 2, T0 = 3 (highest)
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 2, 2, 1024, 8, &plan);
  EXPECT_EQ(d.change_thread(0), 0);
  EXPECT_EQ(d.Pick(AtKey(0b11, 0, (int64_t{0} << 16) | 3, 3)), 0);
  // T0 left operation 0 after 4 accesses (an unfocused one follows).
  EXPECT_EQ(d.Pick(AtKey(0b11, 0, (int64_t{0} << 16) | 0xFFFF, 4)), 1);
}

TEST(PctFocusTest, WithoutFocusedOperationsChangePointsAreSteps) {
  FocusPlan none;  // F = 0: a program with no conflicting pair
  const uint8_t bytes[] = {0, 0, 5, 0};
  PctDecoder d;
  d.Reset(bytes, sizeof(bytes), 3, 2, 100, 8, &none);
  EXPECT_FALSE(d.focused());
  EXPECT_EQ(d.change_point(0), 6u);
  EXPECT_EQ(d.change_thread(0), -1);
}

TEST(ScheduleDecoderTest, KindSelectsTheDecoder) {
  program::ScheduleSpec direct = Direct({0x02});
  program::ScheduleSpec pct = Pct({0, 0}, 1);
  ScheduleDecoder d;
  d.Reset(direct, 3, DecoderOptions{});
  EXPECT_EQ(d.kind(), program::ScheduleKind::kDirect);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 2);
  d.Reset(pct, 3, DecoderOptions{});
  EXPECT_EQ(d.kind(), program::ScheduleKind::kPct);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 0);
  EXPECT_FALSE(d.TryContinue());  // PCT decides at every point
}

// Choices (decoder.h, CHOICES): bit 0 of the bytes from the end, no once
// every byte was used; they never move the picks.
TEST(DirectDecoderTest, ChoicesReadTheBytesFromTheEndAndLeaveThePicksAlone) {
  const uint8_t bytes[] = {0x01, 0x00, 0x02, 0x03};
  DirectDecoder d;
  d.Reset(bytes, sizeof(bytes), 8);
  EXPECT_EQ(d.Pick(At(kAll3, -1, PickReason::kStart)), 1);
  EXPECT_TRUE(d.TakeChoice());   // 0x03
  EXPECT_FALSE(d.TakeChoice());  // 0x02
  EXPECT_EQ(d.Pick(At(kAll3, 1, PickReason::kYield, 1)), 0);  // the second byte, as without choices
  EXPECT_FALSE(d.TakeChoice());  // 0x00
  EXPECT_TRUE(d.TakeChoice());   // 0x01
  EXPECT_FALSE(d.TakeChoice());  // every byte used: no
  EXPECT_EQ(d.consumed(), 2u);
}

TEST(PctDecoderTest, ChoicesReadTheBytesFromTheEndAndLeaveThePrioritiesAlone) {
  // n = 2, depth 2: one shuffle byte and two change-point bytes.
  const uint8_t with[] = {0x01, 0x01, 0x01, 0x00, 0x01};
  const uint8_t without[] = {0x01, 0x01, 0x01};
  PctDecoder d, e;
  d.Reset(with, sizeof(with), 2, /*depth=*/2, /*horizon=*/100, 8);
  e.Reset(without, sizeof(without), 2, /*depth=*/2, /*horizon=*/100, 8);
  EXPECT_TRUE(d.TakeChoice());
  EXPECT_FALSE(d.TakeChoice());
  for (int t = 0; t < 2; ++t) EXPECT_EQ(d.priority(t), e.priority(t));
  EXPECT_EQ(d.change_point(0), e.change_point(0));
  EXPECT_TRUE(d.TakeChoice());
  EXPECT_TRUE(d.TakeChoice());
  EXPECT_TRUE(d.TakeChoice());
  EXPECT_FALSE(d.TakeChoice());  // exhausted
}

}  // namespace
}  // namespace ftf::sched
