// RefLedger under the fiber executor: a finding raised inside a logical
// thread stops the run at that step (FindingException out of Run), the
// finding names the core's scheduling point, and the same schedules without
// the fault run clean. The fault: Faults::tryincref_shared_allows_zero
// (INV-RC-2: TryIncRefShared must refuse shared == 0, because the owner may
// be freeing the object with no CAS at all, docs/cpython-model.md §2).

#include <gtest/gtest.h>

#include <random>

#include "audit/ledger.h"
#include "audit_test_util.h"
#include "core/stw.h"
#include "sched/fiber_executor.h"

namespace ftf::audit {
namespace {

using core::Object;
using testing::Direct;
using testing::DropRegister;
using testing::TestHolders;

std::vector<uint8_t> RandomBytes(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// X.a holds o (owned by T0, local 1, shared 0). T0 clears X.a and drops the
// reference: o's local count reaches 0 with shared == 0, the no-CAS free.
// T1 reads X.a lock-free (_Py_TryXGetRef) and keeps what it got in r0.
class StaleReaderWorld {
 public:
  StaleReaderWorld() : rt_(2), ledger_(rt_) {
    // The stale reader's ob_tid load racing with the free-list link store is
    // the race CPython accepts (heap.h); a relaxed link keeps TSan quiet about
    // it so that this test is about the ledger.
    rt_.plain_free_list_link = false;
    ledger_.set_holders(&holders_);
    ledger_.Install();
  }
  ~StaleReaderWorld() { ledger_.Uninstall(); }

  struct Outcome {
    std::optional<Finding> finding;
    uint64_t steps_run = 0;
  };

  Outcome RunOnce(sched::FiberExecutor& ex, const program::ScheduleSpec& schedule, bool fault) {
    rt_.Reset();
    ledger_.Reset();
    holders_ = TestHolders{};
    rt_.faults.tryincref_shared_allows_zero = fault;
    core::ThreadState& t0 = rt_.thread(0);
    Object* x = core::NewObject(t0, 1);
    Object* o = core::NewObject(t0, 0);
    x->slot(0).StorePlain(o);  // moves the creation reference into the slot (no hook yet)
    holders_.table[0] = x;

    Outcome out;
    try {
      ex.Run(
          2,
          [&](int t) {
            core::ThreadState& ts = rt_.thread(t);
            core::ThreadStart(ts);
            if (t == 0) {
              Object* old = x->slot(0).ExchangeSeqCst(nullptr);
              core::XDecref(ts, old);
            } else {
              holders_.regs[1][0] = core::TryXGetRef(ts, x->slot(0));
              DropRegister(holders_, ts, 0);
            }
            core::ThreadExit(ts);
          },
          schedule);
    } catch (const FindingException& e) {
      out.finding = e.finding();
    }
    out.steps_run = ex.trace().steps();
    rt_.faults.tryincref_shared_allows_zero = false;
    if (!out.finding.has_value()) {
      holders_.table[0] = nullptr;
      core::Decref(rt_.thread(0), x);
      ledger_.CheckEnd();
      if (ledger_.finding().has_value()) out.finding = ledger_.finding();
    }
    return out;
  }

 private:
  core::Runtime rt_;
  RefLedger ledger_;
  TestHolders holders_;
};

constexpr int kSchedules = 300;

TEST(LedgerFiberTest, StaleTryIncrefOfAFreeingObjectIsAResurrectionWithTheFault) {
  sched::FiberExecutor ex;
  StaleReaderWorld w;
  int found = 0;
  for (uint32_t seed = 0; seed < kSchedules; ++seed) {
    StaleReaderWorld::Outcome r = w.RunOnce(ex, Direct(RandomBytes(seed, 32)), /*fault=*/true);
    if (!r.finding.has_value()) continue;
    const Finding& f = *r.finding;
    ASSERT_EQ(f.kind, FindingKind::kResurrection) << "seed " << seed << ": " << f.message;
    EXPECT_EQ(f.thread, 1) << f.message;
    // Detected at the step where it happened: the run stopped right there.
    EXPECT_EQ(f.step, r.steps_run) << "seed " << seed;
    EXPECT_EQ(f.site.rfind("core/refcount.cc:", 0), 0u) << f.site;
    EXPECT_NE(f.message.find("try-incref-shared-ok"), std::string::npos) << f.message;
    ++found;
  }
  EXPECT_GT(found, 0) << "no schedule of " << kSchedules << " interleaved T1's CAS with T0's free";
}

TEST(LedgerFiberTest, StaleTryIncrefIsRefusedWithoutTheFault) {
  sched::FiberExecutor ex;
  StaleReaderWorld w;
  for (uint32_t seed = 0; seed < kSchedules; ++seed) {
    StaleReaderWorld::Outcome r = w.RunOnce(ex, Direct(RandomBytes(seed, 32)), /*fault=*/false);
    ASSERT_FALSE(r.finding.has_value()) << "seed " << seed << ": " << FindingKindName(r.finding->kind) << " "
                                        << r.finding->message << "\n"
                                        << r.finding->details;
  }
}

TEST(LedgerFiberTest, TheSameScheduleGivesTheSameFinding) {
  sched::FiberExecutor ex;
  StaleReaderWorld w;
  for (uint32_t seed = 0; seed < kSchedules; ++seed) {
    StaleReaderWorld::Outcome a = w.RunOnce(ex, Direct(RandomBytes(seed, 32)), true);
    if (!a.finding.has_value()) continue;
    StaleReaderWorld::Outcome b = w.RunOnce(ex, Direct(RandomBytes(seed, 32)), true);
    ASSERT_TRUE(b.finding.has_value());
    EXPECT_TRUE(SameFinding(*a.finding, *b.finding));
    EXPECT_EQ(a.finding->Location(), b.finding->Location());
    EXPECT_EQ(a.finding->message, b.finding->message);
    return;
  }
  FAIL() << "no finding to replay";
}

}  // namespace
}  // namespace ftf::audit
