// ThreadSanitizer in fiber mode (TSan builds only): races between logical
// threads are reported, ordered accesses and set-up/tear-down are not.
//
// TSan aborts the process on a report (halt_on_error=1), so each scenario runs
// in a child process: a gtest death test in "threadsafe" style re-executes
// this binary with TSAN_OPTIONS set in its environment. The child exits 66
// (TSan's exit code) on a report, 0 otherwise, 3 if the scenario did not do
// what it should (so a "not reported" verdict cannot come from a scenario
// that never ran its accesses).

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>

#include "core/atomics.h"
#include "sched/fiber_executor.h"
#include "sched/sanitizer_glue.h"
#include "sched_test_util.h"

namespace ftf::sched {
namespace {

using core::Cell;
using testing::Direct;

class TsanFiberTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if !FTF_SCHED_TSAN
    GTEST_SKIP() << "ThreadSanitizer build only";
#endif
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    setenv("TSAN_OPTIONS", "halt_on_error=1:report_signal_unsafe=0", 1);
  }
};

// Two logical threads: T0 writes `data` plainly, T1 reads it plainly. With
// `sync`, T0 publishes a flag with release and T1 reads it with acquire
// before the data; otherwise both flag accesses are relaxed (no ordering, a
// real bug). The schedule runs T0 to completion first either way, so only
// the memory order differs.
[[noreturn]] void MessagePassing(bool sync) {
  FiberExecutor ex;
  Cell<int> data;
  Cell<int> flag;
  std::array<int, kMaxThreads> read{};
  RunResult r = ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          data.StorePlain(42);
          if (sync) {
            flag.StoreRelease(1);
          } else {
            flag.StoreRelaxed(1);
          }
        } else {
          const int f = sync ? flag.LoadAcquire() : flag.LoadRelaxed();
          if (f == 1) read[1] = data.LoadPlain();
        }
      },
      Direct({0xF8, 0xF9}));
  std::_Exit(r.outcome == Outcome::kOk && read[1] == 42 ? 0 : 3);
}

[[noreturn]] void PlainRace() {
  FiberExecutor ex;
  Cell<int> x;
  std::array<int, kMaxThreads> read{};  // (a discarded plain load could be optimised away)
  ex.Run(
      2,
      [&](int t) {
        if (t == 0) {
          x.StorePlain(1);
        } else {
          read[t] = x.LoadPlain();
        }
      },
      Direct({}));
  std::_Exit(read[1] == 1 ? 0 : 3);
}

[[noreturn]] void SetUpAndTearDown() {
  FiberExecutor ex;
  Cell<int> shared;
  int plain_setup = 0;           // written by the test before Run, read by every thread
  int plain_result[2] = {0, 0};  // written by the threads, read after Run
  int handed_over = 0;           // written by T0 in run k, by T1 in run k+1
  bool ok = true;
  for (int run = 0; run < 5; ++run) {
    plain_setup = 100 + run;
    shared.StorePlain(run);  // hook not installed: a plain write by the test
    RunOptions o;
    o.fallback_quantum = 1;
    ex.Run(
        2,
        [&](int t) {
          plain_result[t] = plain_setup + shared.LoadPlain();
          if (t == run % 2) handed_over += 1;
        },
        Direct({}), o);
    ok = ok && plain_result[0] == 100 + 2 * run && plain_result[1] == 100 + 2 * run;
    shared.StorePlain(-1);  // tear-down after join
  }
  std::_Exit(ok && handed_over == 5 ? 0 : 3);
}

bool NeverReady(const void* c) { return static_cast<const Cell<int>*>(c)->Peek() != 0; }

[[noreturn]] void ManySwitches() {
  FiberExecutor ex;
  for (uint32_t seed = 0; seed < 50; ++seed) {
    Cell<int> counter;
    Cell<int> never;
    ex.Run(
        4,
        [&](int t) {
          for (int i = 0; i < 20; ++i) counter.FetchAddSeqCst(1);
          if (seed % 10 == 0 && t < 2) {
            core::WaitUntil(core::WaitSpec{"never", &never, &NeverReady, &never, core::Loc::Here()});
          }
        },
        Direct(testing::RandomBytes(seed, 32)));
  }
  std::_Exit(0);
}

TEST_F(TsanFiberTest, PlainRaceBetweenLogicalThreadsIsReported) {
  EXPECT_EXIT(PlainRace(), ::testing::ExitedWithCode(66), "ThreadSanitizer: data race.*ftf-logical-thread");
}

TEST_F(TsanFiberTest, ReleaseAcquireOrderedAccessesAreNotReported) {
  EXPECT_EXIT(MessagePassing(/*sync=*/true), ::testing::ExitedWithCode(0), "");
}

TEST_F(TsanFiberTest, RelaxedFlagDoesNotOrderThePlainData) {
  // The same schedule with relaxed flag accesses: the switch itself must not
  // order the threads, so TSan reports the data race.
  EXPECT_EXIT(MessagePassing(/*sync=*/false), ::testing::ExitedWithCode(66), "ThreadSanitizer: data race");
}

TEST_F(TsanFiberTest, SetUpBeforeStartAndTearDownAfterJoinAreNotReported) {
  EXPECT_EXIT(SetUpAndTearDown(), ::testing::ExitedWithCode(0), "");
}

TEST_F(TsanFiberTest, SchedulerBookkeepingIsInvisibleAcrossManySwitches) {
  // Lots of switching, blocking, deadlock abandons and coverage writes, with
  // only properly ordered accesses: no report at all.
  EXPECT_EXIT(ManySwitches(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace ftf::sched
