// decoder_test.cc - Decode() is total, deterministic, bounded and local.

#include "program/decoder.h"

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "program/layout.h"
#include "program/round_trip.h"
#include "program/text.h"
#include "program_test_util.h"

namespace ftf::program {
namespace {

using testing::kSanitizerDivisor;
using testing::RandomBytes;
using testing::Scaled;

Program DecodeBytes(const std::vector<uint8_t>& b, const Limits& l = Limits()) { return Decode(b, l); }

TEST(Decoder, EmptyInputIsTheEmptyProgram) {
  const Program p = DecodeBytes({});
  EXPECT_EQ(p, EmptyProgram());
  EXPECT_EQ(p.threads.size(), 1u);
  EXPECT_TRUE(p.threads[0].ops.empty());
  EXPECT_EQ(p.schedule.kind, ScheduleKind::kDirect);
  EXPECT_TRUE(p.schedule.bytes.empty());
  EXPECT_EQ(p.world, DefaultWorld());
}

TEST(Decoder, DefaultWorldIsValidAndHasCompatibleAndIncompatibleTypes) {
  const World& w = DefaultWorld();
  EXPECT_TRUE(Validate(EmptyProgram()).ok());
  EXPECT_TRUE(LayoutCompatible(w.types[0], w.types[1]));
  EXPECT_FALSE(LayoutCompatible(w.types[0], w.types[2]));  // same names, other order
  EXPECT_FALSE(LayoutCompatible(w.types[0], w.types[3]));  // one more slot
  EXPECT_EQ(w.types[3].slots[1].kind, MemberKind::kObject);
}

TEST(Decoder, ExhaustiveShortInputsDecodeAndRoundTrip) {
  // Every input of length 0, 1 and 2 (the header alone).
  ASSERT_TRUE(CheckRoundTrips({}).ok());
  for (int a = 0; a < 256; ++a) {
    const std::vector<uint8_t> one = {static_cast<uint8_t>(a)};
    ASSERT_TRUE(CheckRoundTrips(one).ok()) << a;
    for (int b = a % kSanitizerDivisor; b < 256; b += kSanitizerDivisor) {
      const std::vector<uint8_t> two = {static_cast<uint8_t>(a), static_cast<uint8_t>(b)};
      const absl::Status s = CheckRoundTrips(two);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }
}

TEST(Decoder, ExhaustiveOpcodeAndArgumentBytes) {
  // One record after a fixed header: every opcode byte with every value in
  // every argument byte at once (256 x 256 records).
  for (int op = 0; op < 256; ++op) {
    for (int v = op % kSanitizerDivisor; v < 256; v += kSanitizerDivisor) {
      const uint8_t x = static_cast<uint8_t>(v);
      const std::vector<uint8_t> in = {0x03, 0x00, x, static_cast<uint8_t>(op), x, x, x, x};
      const Program p = DecodeBytes(in);
      ASSERT_EQ(TotalOps(p), 1);
      ASSERT_EQ(static_cast<int>(p.threads[v % 4].ops[0].code), op % kNumOpCodes);
      const absl::Status s = CheckRoundTrips(in);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }
}

TEST(Decoder, ExhaustiveWorldBytes) {
  std::mt19937 rng(7);
  std::vector<uint8_t> base = RandomBytes(rng, 2 + layout::kWorldSize + 10 * layout::kRecordSize);
  base[0] |= layout::kWorldBit;
  base[1] = 4;
  for (int pos = 2; pos < 2 + layout::kWorldSize; ++pos) {
    for (int v = pos % kSanitizerDivisor; v < 256; v += kSanitizerDivisor) {
      std::vector<uint8_t> in = base;
      in[pos] = static_cast<uint8_t>(v);
      const absl::Status s = CheckRoundTrips(in);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }
}

TEST(Decoder, RandomInputsOfEveryLengthRoundTrip) {
  std::mt19937 rng(12345);
  for (int i = 0; i < Scaled(4000); ++i) {
    const size_t len = i < Scaled(1500) ? static_cast<size_t>(i * kSanitizerDivisor) : rng() % 2000;
    const std::vector<uint8_t> in = RandomBytes(rng, len);
    const absl::Status s = CheckRoundTrips(in);
    ASSERT_TRUE(s.ok()) << s.message();
  }
}

TEST(Decoder, IsDeterministic) {
  std::mt19937 rng(99);
  for (int i = 0; i < 200; ++i) {
    const std::vector<uint8_t> in = RandomBytes(rng, rng() % 800);
    EXPECT_EQ(DecodeBytes(in), DecodeBytes(in));
  }
}

TEST(Decoder, LimitsAreRespected) {
  std::mt19937 rng(4242);
  const Limits limit_sets[] = {
      Limits(), Limits{1, 1, 0}, Limits{8, 100, 255}, Limits{2, 5, 7}, Limits{8, 0, 255},
      Limits{-3, -1, -9},   // clamped up to 1 thread, 0 ops, 0 schedule bytes
      Limits{99, 99999, 9999},  // clamped down to the hard caps
  };
  for (const Limits& limits : limit_sets) {
    const Limits l = limits.Clamped();
    for (int i = 0; i < Scaled(300) + 10; ++i) {
      // Long inputs too: far more records than the limits admit.
      const size_t len = i < 10 ? 100000 : rng() % 3000;
      const std::vector<uint8_t> in = RandomBytes(rng, len);
      const Program p = DecodeBytes(in, limits);
      ASSERT_TRUE(Validate(p, limits).ok()) << Validate(p, limits).message();
      ASSERT_GE(p.threads.size(), 1u);
      ASSERT_LE(static_cast<int>(p.threads.size()), l.max_threads);
      for (const auto& t : p.threads) ASSERT_LE(static_cast<int>(t.ops.size()), l.max_ops_per_thread);
      ASSERT_LE(static_cast<int>(p.schedule.bytes.size()), l.max_schedule_bytes);
      if (i < 10 && l.max_ops_per_thread > 0 && l.max_ops_per_thread * l.max_threads * 6 * 4 < 100000) {
        // 100 kB of records fill every thread (when the limits are small enough).
        for (const auto& t : p.threads) ASSERT_EQ(static_cast<int>(t.ops.size()), l.max_ops_per_thread);
      }
      const absl::Status s = CheckRoundTrips(in, limits);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }
}

TEST(Decoder, HeaderFields) {
  // flags 0x5b = 0101 1011: threads bits 3 -> 4 threads, PCT, depth 5+1 = 6.
  Program p = DecodeBytes({0x5b, 0x02, 0xaa, 0xbb});
  EXPECT_EQ(p.threads.size(), 4u);
  EXPECT_EQ(p.schedule.kind, ScheduleKind::kPct);
  EXPECT_EQ(p.schedule.pct_depth, 6);
  EXPECT_EQ(p.schedule.bytes, (std::vector<uint8_t>{0xaa, 0xbb}));
  // Thread count bits are reduced modulo Limits::max_threads (default 4).
  EXPECT_EQ(DecodeBytes({0x06}).threads.size(), 3u);  // (6 % 4) + 1
  EXPECT_EQ(DecodeBytes({0x06}, Limits{8, 32, 255}).threads.size(), 7u);
  // A direct schedule always carries the canonical depth.
  p = DecodeBytes({0x70});
  EXPECT_EQ(p.schedule.kind, ScheduleKind::kDirect);
  EXPECT_EQ(p.schedule.pct_depth, kDirectCanonicalDepth);
}

TEST(Decoder, ScheduleComesFromTheEndAndIsCutToWhatIsLeft) {
  // 2 header bytes, one record, 3 schedule bytes.
  const std::vector<uint8_t> in = {0x00, 0x03, 0, 19, 0, 0, 0, 0, 0x10, 0x20, 0x30};
  Program p = DecodeBytes(in);
  EXPECT_EQ(p.schedule.bytes, (std::vector<uint8_t>{0x10, 0x20, 0x30}));
  ASSERT_EQ(TotalOps(p), 1);
  EXPECT_EQ(p.threads[0].ops[0].code, OpCode::kYield);
  // Length byte larger than the rest of the input: everything is schedule.
  p = DecodeBytes({0x00, 0xff, 1, 2, 3});
  EXPECT_EQ(p.schedule.bytes, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(TotalOps(p), 0);
  // ... and cut to Limits::max_schedule_bytes.
  p = DecodeBytes({0x00, 0xff, 1, 2, 3}, Limits{4, 32, 2});
  EXPECT_EQ(p.schedule.bytes, (std::vector<uint8_t>{2, 3}));
  // A trailing partial record (here 5 bytes) is ignored.
  p = DecodeBytes({0x00, 0x01, 0, 19, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0x77});
  EXPECT_EQ(TotalOps(p), 1);
  EXPECT_EQ(p.schedule.bytes, (std::vector<uint8_t>{0x77}));
}

TEST(Decoder, RecordFieldsReduceModuloTheirRange) {
  // t: 0x07 % 2 = 1; opcode 23 % 22 = 1 (STORE_ATTR_SLOT); site 6 % 4 = 2;
  // target 13 % 8 = 5 -> r1; slot 7 % 4 = 3 -> d; value 19 % 10 = 9 -> None.
  const Program p = DecodeBytes({0x01, 0x00, 0x07, 23, 6, 13, 7, 19});
  ASSERT_EQ(p.threads.size(), 2u);
  ASSERT_EQ(p.threads[1].ops.size(), 1u);
  const Op& op = p.threads[1].ops[0];
  EXPECT_EQ(op.code, OpCode::kStoreAttrSlot);
  EXPECT_EQ(op.site, 2);
  EXPECT_EQ(op.target, (Target{Target::Kind::kRegister, 1}));
  EXPECT_EQ(op.slot, 3);
  EXPECT_EQ(op.value, (Value{Value::Kind::kNone, 0}));
  EXPECT_EQ(OpLine(1, op).substr(0, 18), "t1 s2: r1.d = None");
}

TEST(Decoder, UnusedArgumentBytesAreIgnored) {
  // DROP uses only the register byte; other argument bytes must not matter.
  const Program a = DecodeBytes({0x00, 0x00, 0, 9, 0, 0, 0, 2});
  const Program b = DecodeBytes({0x00, 0x00, 0, 9, 0xff, 0x37, 0x99, 6});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.threads[0].ops[0], (Op{.code = OpCode::kDrop, .reg = 2}));
}

TEST(Decoder, WorldBytes) {
  std::vector<uint8_t> in(2 + layout::kWorldSize, 0);
  in[0] = layout::kWorldBit;
  // T0: names byte 0b00'10'01'11 = slots d, b, c, (a); shape: 3 slots, slot 1 OBJ.
  in[2] = 0b00100111;
  in[3] = 0x02 | (1 << (layout::kKindShift + 1));
  // T1: names "a a a a" with 4 slots: repeats become the smallest unused.
  in[4] = 0x00;
  in[5] = 0x03;
  // o0: type 4 % 4 = T0; init slot0 None, slot1 empty, slot2 fresh(3).
  in[10] = 4;
  in[11] = 0b00110010;
  in[18] = 0x81;  // g0 g7 present
  in[19] = 0x35;  // builtins b0 b2; b0 b1 also in globals
  const Program p = DecodeBytes(in);
  const World& w = p.world;
  ASSERT_EQ(w.types[0].slots.size(), 3u);
  EXPECT_EQ(w.types[0].slots[0], (SlotSpec{3, MemberKind::kObjectEx}));
  EXPECT_EQ(w.types[0].slots[1], (SlotSpec{1, MemberKind::kObject}));
  EXPECT_EQ(w.types[0].slots[2], (SlotSpec{2, MemberKind::kObjectEx}));
  ASSERT_EQ(w.types[1].slots.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(w.types[1].slots[i].name, i);
  EXPECT_EQ(w.types[2].slots.size(), 1u);  // zero bytes: one slot 'a'
  EXPECT_EQ(w.objects[0].type, 0);
  EXPECT_EQ(w.objects[0].slots,
            (std::vector<InitValue>{InitValue::kNone, InitValue::kEmpty, InitValue::kFresh}));
  EXPECT_EQ(w.globals_present, 0x0081 | (0x3 << 8));
  EXPECT_EQ(w.builtins_present, 0x5 << 8);
}

TEST(Decoder, TogglingTheWorldBitKeepsRecordsAligned) {
  // 8 records of "t0 yield" then 8 records of "t1 quiescent": with the world
  // bit set, the first 3 records are world bytes and the rest still decode
  // as the same records.
  std::vector<uint8_t> in = {0x01, 0x00};
  for (int i = 0; i < 8; ++i) in.insert(in.end(), {0, 19, 0, 0, 0, 0});
  for (int i = 0; i < 8; ++i) in.insert(in.end(), {1, 18, 0, 0, 0, 0});
  const Program plain = DecodeBytes(in);
  in[0] |= layout::kWorldBit;
  const Program world = DecodeBytes(in);
  EXPECT_EQ(plain.threads[0].ops.size(), 8u);
  EXPECT_EQ(world.threads[0].ops.size(), 5u);
  EXPECT_EQ(world.threads[1], plain.threads[1]);
}

TEST(Decoder, FullThreadsSkipRecords) {
  std::vector<uint8_t> in = {0x01, 0x00};
  for (int i = 0; i < 40; ++i) in.insert(in.end(), {0, 19, 0, 0, 0, 0});
  in.insert(in.end(), {1, 18, 0, 0, 0, 0});
  const Program p = DecodeBytes(in);
  EXPECT_EQ(p.threads[0].ops.size(), 32u);
  ASSERT_EQ(p.threads[1].ops.size(), 1u);  // still read after t0 filled up
  EXPECT_EQ(p.threads[1].ops[0].code, OpCode::kQuiescent);
}

// ---- small byte change -> small program change ------------------------------

// The (thread, op) multiset difference between two programs.
int OpMultisetDistance(const Program& a, const Program& b) {
  std::map<std::pair<int, std::string>, int> count;
  for (size_t t = 0; t < a.threads.size(); ++t)
    for (const Op& op : a.threads[t].ops) ++count[{static_cast<int>(t), OpText(op) + std::to_string(op.site)}];
  for (size_t t = 0; t < b.threads.size(); ++t)
    for (const Op& op : b.threads[t].ops) --count[{static_cast<int>(t), OpText(op) + std::to_string(op.site)}];
  int d = 0;
  for (const auto& [k, c] : count) d += std::abs(c);
  return d;
}

TEST(Decoder, FlippingAnOperationByteChangesAtMostOneOperation) {
  std::mt19937 rng(2024);
  int changed = 0;
  for (int i = 0; i < Scaled(3000); ++i) {
    const size_t nrec = 1 + rng() % 60;
    std::vector<uint8_t> in = RandomBytes(rng, 2 + nrec * layout::kRecordSize + 5);
    in[0] &= static_cast<uint8_t>(~layout::kWorldBit);
    in[1] = 5;
    const size_t rec = rng() % nrec;
    const size_t field = 1 + rng() % (layout::kRecordSize - 1);  // opcode or an argument
    std::vector<uint8_t> mutated = in;
    mutated[2 + rec * layout::kRecordSize + field] ^= static_cast<uint8_t>(1u << (rng() % 8));
    const Program a = DecodeBytes(in), b = DecodeBytes(mutated);
    EXPECT_EQ(a.world, b.world);
    EXPECT_EQ(a.schedule, b.schedule);
    ASSERT_EQ(a.threads.size(), b.threads.size());
    int diffs = 0;
    for (size_t t = 0; t < a.threads.size(); ++t) {
      ASSERT_EQ(a.threads[t].ops.size(), b.threads[t].ops.size());
      for (size_t k = 0; k < a.threads[t].ops.size(); ++k) diffs += !(a.threads[t].ops[k] == b.threads[t].ops[k]);
    }
    ASSERT_LE(diffs, 1);
    changed += diffs;
  }
  EXPECT_GT(changed, Scaled(3000) / 3);  // most flips do change the operation
}

TEST(Decoder, FlippingAThreadByteMovesAtMostOneOperation) {
  std::mt19937 rng(77);
  for (int i = 0; i < Scaled(3000); ++i) {
    const size_t nrec = 1 + rng() % 80;
    std::vector<uint8_t> in = RandomBytes(rng, 2 + nrec * layout::kRecordSize);
    in[0] &= static_cast<uint8_t>(~layout::kWorldBit);
    in[1] = 0;
    std::vector<uint8_t> mutated = in;
    mutated[2 + (rng() % nrec) * layout::kRecordSize] ^= static_cast<uint8_t>(1u << (rng() % 8));
    // The op leaves one thread and joins another; with full threads, one
    // earlier-skipped record may join the first and one record may be
    // pushed out of the second.
    ASSERT_LE(OpMultisetDistance(DecodeBytes(in), DecodeBytes(mutated)), 4);
  }
}

TEST(Decoder, FlippingAScheduleOrWorldByteChangesOnlyThat) {
  std::mt19937 rng(31337);
  for (int i = 0; i < Scaled(2000); ++i) {
    std::vector<uint8_t> in = RandomBytes(rng, 2 + layout::kWorldSize + 20 * layout::kRecordSize + 40);
    in[0] |= layout::kWorldBit;
    in[1] = 40;
    std::vector<uint8_t> sched = in, world = in;
    sched[in.size() - 1 - rng() % 40] ^= static_cast<uint8_t>(1u << (rng() % 8));
    world[2 + rng() % layout::kWorldSize] ^= static_cast<uint8_t>(1u << (rng() % 8));
    const Program p = DecodeBytes(in), ps = DecodeBytes(sched), pw = DecodeBytes(world);
    EXPECT_EQ(p.threads, ps.threads);
    EXPECT_EQ(p.world, ps.world);
    EXPECT_NE(p.schedule, ps.schedule);
    EXPECT_EQ(p.threads, pw.threads);
    EXPECT_EQ(p.schedule, pw.schedule);
  }
}

}  // namespace
}  // namespace ftf::program
