// encoder_test.cc - Encode() inverts Decode() and is canonical.

#include "program/encoder.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program/decoder.h"
#include "program/layout.h"
#include "program/text.h"
#include "program_test_util.h"

namespace ftf::program {
namespace {

using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::Scaled;

std::vector<uint8_t> MustEncode(const Program& p, const Limits& l = Limits()) {
  absl::StatusOr<std::vector<uint8_t>> b = Encode(p, l);
  EXPECT_TRUE(b.ok()) << b.status().message();
  return b.ok() ? *b : std::vector<uint8_t>();
}

TEST(Encoder, DecodeOfEncodeIsTheIdentityOnDecodedPrograms) {
  std::mt19937 rng(8080);
  const Limits limit_sets[] = {Limits(), Limits{8, 64, 255}, Limits{2, 3, 4}};
  for (const Limits& l : limit_sets) {
    for (int i = 0; i < Scaled(2000); ++i) {
      const Program p = Decode(RandomBytes(rng, rng() % 2000), l);
      const std::vector<uint8_t> bytes = MustEncode(p, l);
      ASSERT_EQ(Decode(bytes, l), p) << ToText(p);
      ASSERT_EQ(MustEncode(Decode(bytes, l), l), bytes);  // canonical: a fixed point
    }
  }
}

TEST(Encoder, EmptyProgramIsTwoBytes) {
  EXPECT_EQ(MustEncode(EmptyProgram()), (std::vector<uint8_t>{0x20, 0x00}));  // depth bits 2 (= 3 - 1)
  EXPECT_EQ(Decode(std::vector<uint8_t>{0x20, 0x00}), EmptyProgram());
}

TEST(Encoder, HandBuiltProgramHasTheDocumentedBytes) {
  // The worked example of docs/input-format.md.
  absl::StatusOr<Program> p = ParseText(R"(ftfuzz program v1
threads 2
schedule pct depth 2
bytes 01 00 05
t0 s1: o0.a = fresh
t1 s1: r2 = o0.a
t0:    del globals[g3]
)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const std::vector<uint8_t> expected = {
      0x19, 0x03,                          // 2 threads, PCT, depth 2; 3 schedule bytes
      0x00, 0x01, 0x01, 0x00, 0x00, 0x08,  // t0 STORE_ATTR_SLOT s1 o0 a fresh
      0x01, 0x02, 0x01, 0x00, 0x00, 0x02,  // t1 LOAD_ATTR_SLOT s1 o0 a -> r2
      0x00, 0x0d, 0x00, 0x00, 0x03, 0x00,  // t0 GLOBAL_DELETE g3
      0x01, 0x00, 0x05,                    // schedule
  };
  EXPECT_EQ(MustEncode(*p), expected);
  EXPECT_EQ(Decode(expected), *p);
}

TEST(Encoder, CustomWorldIsWrittenOnlyWhenNeeded) {
  Program p = EmptyProgram();
  EXPECT_EQ(MustEncode(p).size(), 2u);
  p.world.globals_present = 0x0003;
  const std::vector<uint8_t> b = MustEncode(p);
  ASSERT_EQ(b.size(), 2u + layout::kWorldSize);
  EXPECT_TRUE(b[0] & layout::kWorldBit);
  EXPECT_EQ(Decode(b), p);
}

TEST(Encoder, RejectsInvalidPrograms) {
  Program p = EmptyProgram();
  p.threads.resize(5);
  EXPECT_THAT(std::string(Encode(p).status().message()), HasSubstr("5 threads"));
  EXPECT_TRUE(Encode(p, Limits{8, 32, 255}).ok());

  p = EmptyProgram();
  p.threads[0].ops.push_back(Op{.code = OpCode::kDrop, .reg = 7});
  EXPECT_THAT(std::string(Encode(p).status().message()), HasSubstr("register out of range"));

  p = EmptyProgram();
  p.threads[0].ops.push_back(Op{.code = OpCode::kYield, .site = 1});  // yield has no site
  EXPECT_THAT(std::string(Encode(p).status().message()), HasSubstr("unused field site"));

  p = EmptyProgram();
  p.schedule.pct_depth = 5;  // direct schedules carry the canonical depth
  EXPECT_FALSE(Encode(p).ok());

  p = EmptyProgram();
  p.world.types[0].slots.push_back(SlotSpec{0, MemberKind::kObjectEx});  // 'a' twice
  EXPECT_THAT(std::string(Encode(p).status().message()), HasSubstr("appears twice"));

  p = EmptyProgram();
  p.world.objects[2].slots.pop_back();
  EXPECT_THAT(std::string(Encode(p).status().message()), HasSubstr("o2: 1 initial slot values but T2 has 2"));

  p = EmptyProgram();
  p.world.builtins_present |= 1;  // g0 in builtins: not representable
  EXPECT_FALSE(Encode(p).ok());
}

}  // namespace
}  // namespace ftf::program
