// Type hierarchies inside a run: worlds with bases, `__slots__ = ()`
// subtypes and __dict__ / __weakref__ layouts are built as CPython would
// (runner/world.cc, core/type.h), slots are reached through inherited
// members, and __class__ assignment between a base and its layout-compatible
// subtype happens MID-RUN under the fiber executor, while another thread's
// specialized loads of an inherited slot are under way.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/class_assign.h"
#include "core/type.h"
#include "audit/step_note.h"
#include "program/io.h"
#include "runner/world.h"
#include "runner_test_util.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {
namespace {

using Result = Observation::Result;

program::Program LoadProgram() {
  absl::StatusOr<program::Program> p = program::LoadProgramFile(
      (testing::SourceDir() / "tests/runner/programs/class_assign_to_subtype_adding_slots.txt").string());
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : program::Program();
}

TEST(TypeHierarchyTest, WorldBuildsBasesAndLayouts) {
  sched::FiberExecutor ex;
  World w(ex);
  const program::Program p = LoadProgram();
  w.Build(p, core::LockedVariant(), /*record=*/false);
  const core::Type* t0 = w.type(0);
  const core::Type* t1 = w.type(1);
  const core::Type* t2 = w.type(2);
  const core::Type* t3 = w.type(3);
  EXPECT_EQ(t1->base, t0);
  EXPECT_EQ(t2->base, t0);
  EXPECT_EQ(t3->base, w.types().object_type());
  EXPECT_EQ(t1->nslots, 3u);
  EXPECT_EQ(t1->slot_names, (std::vector<std::string>{"c"}));  // ht_slots: what T1 adds
  EXPECT_EQ(t2->nslots, 2u);
  EXPECT_TRUE(t2->slot_names.empty());
  EXPECT_EQ(t3->flags & core::kTpFlagsPreheader, core::kTpFlagsManagedDict);
  EXPECT_EQ(t3->dictoffset, core::kManagedDictOffset);
  // The inherited member is the base's, at the base's offset.
  EXPECT_EQ(core::FindMember(t1, "a"), core::FindMember(t0, "a"));
  EXPECT_EQ(core::FindMember(t1, "c")->offset, core::SlotOffset(2));
  EXPECT_TRUE(core::CompatibleForAssignment(t0, t2));
  EXPECT_TRUE(core::CompatibleForAssignment(t2, t0));
  EXPECT_FALSE(core::CompatibleForAssignment(t0, t1));
  EXPECT_FALSE(core::CompatibleForAssignment(t0, t3));  // same names, but a managed __dict__
  // o1 = T1(a=fresh, b=None, c=fresh): every slot of the layout was set.
  const core::Object* o1 = w.object(1);
  ASSERT_EQ(o1->nslots(), 3u);
  EXPECT_NE(o1->slot(0).Peek(), nullptr);
  EXPECT_EQ(o1->slot(1).Peek(), w.rt().none());
  EXPECT_NE(o1->slot(2).Peek(), nullptr);
  EXPECT_FALSE(w.TearDown().has_value());
}

// t1 first runs n yields (n = 0..24), so under the executor's fallback
// policy its swaps land at different points of t0's loads. For every n:
// never a finding; the swap to T2 succeeds, those to T1 and T3 are refused;
// t0's loads of the inherited a always return o0's value. For some n the
// full trace shows the swap to T2 between two of t0's operations: t0 had
// run and was not finished when o0 changed type.
TEST(TypeHierarchyTest, ClassAssignmentToASlotlessSubtypeMidRun) {
  const program::Program base = LoadProgram();
  sched::FiberExecutor ex;
  World w(ex);
  sched::RunOptions options;
  options.full_trace = true;
  int mid_run = 0;
  for (int n = 0; n <= 24; ++n) {
    program::Program p = base;
    std::vector<program::Op>& t1 = p.threads[1].ops;
    t1.insert(t1.begin(), static_cast<size_t>(n), program::Op{.code = program::OpCode::kYield});
    w.Build(p, core::LockedVariant(), /*record=*/true);
    const uint64_t a_id = core::ObjectId(w.object(0)->slot(0).Peek());
    const sched::RunResult r = ex.Run(2, [&](int t) { w.RunThread(t); }, p.schedule, options);
    ASSERT_EQ(r.outcome, sched::Outcome::kOk) << "n=" << n;
    const std::vector<std::vector<Observation>> obs = w.TakeObservations();
    ASSERT_EQ(obs[1].size(), static_cast<size_t>(n) + 3);
    EXPECT_EQ(obs[1][n].result, Result::kOk) << "T0 -> T2: same layout";
    EXPECT_EQ(obs[1][n + 1].result, Result::kTypeError) << "T2 -> T1: T1 adds a slot";
    EXPECT_EQ(obs[1][n + 2].result, Result::kTypeError) << "T2 -> T3: T3 has a __dict__";
    for (size_t i : {0u, 1u, 3u, 4u, 5u}) {
      ASSERT_EQ(obs[0][i].result, Result::kOk) << "n=" << n << " op " << i;
      EXPECT_EQ(obs[0][i].loaded_id, static_cast<int64_t>(a_id)) << "n=" << n << " op " << i;
    }
    EXPECT_EQ(w.object(0)->ob_type.Peek(), w.type(2));
    // t0's operation before and after t1's first __class__ assignment.
    int t0_before = -1, t0_after = -1;
    bool swapped = false;
    for (const sched::TraceStep& st : ex.trace().Steps()) {
      const audit::StepNote note = audit::UnpackStepNote(st.note);
      if (!note.valid) continue;
      if (st.thread == 1 && note.code == program::OpCode::kSetClass) swapped = true;
      if (st.thread != 0) continue;
      if (!swapped) t0_before = note.op_index;
      if (swapped && t0_after < 0) t0_after = note.op_index;
    }
    if (t0_before >= 0 && t0_after > t0_before) ++mid_run;
    EXPECT_FALSE(w.TearDown().has_value()) << "n=" << n;
  }
  EXPECT_GT(mid_run, 0) << "no run put the swap between two of t0's operations";
}

}  // namespace
}  // namespace ftf::runner
