// `start tK` (OpCode::kStartThread): which threads the program starts
// itself (program::StartedThreads), and that every such operation decodes,
// prints and parses back, whatever K.

#include <string>

#include "gtest/gtest.h"
#include "program/decoder.h"
#include "program/encoder.h"
#include "program/layout.h"
#include "program/program.h"
#include "program/text.h"

namespace ftf::program {
namespace {

Program MustParse(const std::string& text) {
  absl::StatusOr<Program> p = ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Program{};
}

TEST(StartThread, OnlyALaterExistingThreadThatOwnsNoDictStartsLate) {
  // t0 starts t2 (later, exists): late. t1 starts t1 (itself) and t0
  // (earlier), t2 starts t3 (exists: later than t2) and t5 (no such thread).
  const Program p = MustParse(
      "ftfuzz program v2\nthreads 4\n"
      "t0: start t2\nt1: start t1\nt1: start t0\nt2: start t3\nt2: start t5\nt3: yield\n");
  EXPECT_EQ(StartedThreads(p), (1u << 2) | (1u << 3));
  // A thread that owns the globals dict ran before the program: never late.
  const Program owned = MustParse("ftfuzz program v2\nthreads 3\nowner globals t2\nt0: start t2\nt0: start t1\n");
  EXPECT_EQ(StartedThreads(owned), 1u << 1);
  // Starting an earlier thread only: nothing starts late.
  EXPECT_EQ(StartedThreads(MustParse("ftfuzz program v2\nthreads 2\nt1: start t0\n")), 0u);
}

TEST(StartThread, EveryThreadByteDecodesAndRoundTrips) {
  for (int b = 0; b < 256; ++b) {
    // flags: 4 threads, direct; one record of thread 0: START_THREAD with byte 2 = b.
    const uint8_t bytes[] = {0x03, 0x00, 0x00, static_cast<uint8_t>(OpCode::kStartThread), static_cast<uint8_t>(b),
                             0x00, 0x00, 0x00};
    const Program p = Decode(bytes);
    ASSERT_EQ(p.threads[0].ops.size(), 1u);
    const Op& op = p.threads[0].ops[0];
    EXPECT_EQ(op.code, OpCode::kStartThread);
    EXPECT_EQ(op.thread, b % kMaxThreads);
    EXPECT_TRUE(Validate(p).ok());
    EXPECT_EQ(MustParse(ToText(p)), p);
    absl::StatusOr<std::vector<uint8_t>> enc = Encode(p);
    ASSERT_TRUE(enc.ok()) << enc.status();
    EXPECT_EQ(Decode(*enc), p);
  }
}

}  // namespace
}  // namespace ftf::program
