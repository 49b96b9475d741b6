// PCT's FOCUS in a real run: the change point lands inside the operation
// that can conflict with another thread's (program/conflicts.h,
// sched/schedule_decoder.h), however many unrelated steps come before it.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audit/step_note.h"
#include "program/text.h"
#include "runner/runner.h"
#include "sched/trace.h"

namespace ftf::runner {
namespace {

// T0: five stores into o1 (no other thread touches o1), then a store into
// o0.a, which T1 reads. Two focused operations: T0's op 5 (ordinal 0) and
// T1's load (ordinal 1). PCT depth 2: shuffle byte 00 gives T0 the higher
// priority; the change point bytes 02 00 (v = 2) name focused operation
// 2 % 2 = 0, access (2 / 2) % 16 = 1: T0 is preempted right after the first
// access of its store into o0.a.
constexpr char kProgram[] = R"(ftfuzz program v1
threads 2
schedule pct depth 2
bytes 00 02 00

t0 s0: o1.a = fresh
t0 s0: o1.a = fresh
t0 s0: o1.a = fresh
t0 s0: o1.a = fresh
t0 s0: o1.a = fresh
t0 s1: o0.a = fresh
t1 s0: r0 = o0.a
)";

// The operation index of T0's last step before T1's first, and how many
// steps T0 made in that operation.
struct Preemption {
  int op_index = -1;
  int steps_in_op = 0;
};

Preemption FirstPreemption(bool pct_focus) {
  absl::StatusOr<program::Program> p = program::ParseText(kProgram);
  EXPECT_TRUE(p.ok()) << p.status();
  Runner runner;
  RunnerOptions opts;
  opts.exec.full_trace = true;
  opts.pct_focus = pct_focus;
  RunOutcome out = runner.Run(*p, opts);
  EXPECT_FALSE(out.finding.has_value());
  Preemption pre;
  for (const sched::TraceStep& s : runner.executor().trace().Steps()) {
    if (s.thread == 1) break;
    const audit::StepNote n = audit::UnpackStepNote(s.note);
    if (!n.valid) continue;
    if (n.op_index != pre.op_index) pre.steps_in_op = 0;
    pre.op_index = n.op_index;
    ++pre.steps_in_op;
  }
  return pre;
}

TEST(PctFocusTest, TheChangePointLandsInsideTheConflictingOperation) {
  const Preemption focused = FirstPreemption(true);
  EXPECT_EQ(focused.op_index, 5);
  EXPECT_EQ(focused.steps_in_op, 1);
}

TEST(PctFocusTest, WithoutFocusTheSameBytesCountSteps) {
  // v = 2 is step 1 + 2 % 1024 = 3: T0 is preempted long before its store
  // into o0.a (while it starts up: no operation yet).
  const Preemption steps = FirstPreemption(false);
  EXPECT_LT(steps.op_index, 5);
}

}  // namespace
}  // namespace ftf::runner
