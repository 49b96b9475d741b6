// audit_test_util.h - shared helpers for the auditor tests.
//
// A LedgerTest owns a Runtime whose logical threads are started (attached),
// a RefLedger installed as its observer, and TestHolders: a minimal
// HolderSource standing in for the interpreter (per-thread registers and a
// shared-object table). Sequential tests call the core directly with
// several ThreadStates on one OS thread, interleaving them by hand; fiber
// tests run bodies under the FiberExecutor.

#ifndef FTF_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
#define FTF_TESTS_AUDIT_AUDIT_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "audit/finding.h"
#include "audit/holders.h"
#include "audit/ledger.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "program/schedule_spec.h"

namespace ftf::audit::testing {

// Registers r0..r3 per thread and a table o0..o3, as the runner keeps them.
// Each non-null entry holds one strong reference, except a register marked
// `tagged`: a tagged stack reference to a deferred object, with no count.
class TestHolders : public HolderSource {
 public:
  static constexpr int kThreads = 8;
  static constexpr int kRegs = 4;
  static constexpr int kTable = 4;

  void ForEachHolder(const HolderVisitor& visit) const override {
    for (int t = 0; t < kThreads; ++t) {
      for (int r = 0; r < kRegs; ++r) visit(Holder{Holder::Kind::kRegister, t, r, 0, {}, tagged[t][r]}, regs[t][r]);
    }
    for (int i = 0; i < kTable; ++i) visit(Holder{Holder::Kind::kSharedTable, -1, i, 0, {}}, table[i]);
  }

  std::array<std::array<core::Object*, kRegs>, kThreads> regs{};
  std::array<std::array<bool, kRegs>, kThreads> tagged{};
  std::array<core::Object*, kTable> table{};
};

// Clears register `r` of thread `t` first, then drops its reference: the
// order the HolderSource contract asks for.
inline void DropRegister(TestHolders& h, core::ThreadState& ts, int r) {
  core::Object* o = h.regs[ts.index][r];
  h.regs[ts.index][r] = nullptr;
  core::XDecref(ts, o);
}

class LedgerTest : public ::testing::Test {
 protected:
  explicit LedgerTest(int n = 3) : rt_(n), ledger_(rt_) {
    ledger_.set_holders(&holders_);
    ledger_.Install();
    for (int i = 0; i < rt_.num_threads(); ++i) core::ThreadStart(rt_.thread(i));
  }
  ~LedgerTest() override {
    ledger_.set_options(LedgerOptions{false, false, true});  // no throwing in tear-down
    ExitAll();
    ledger_.Uninstall();
  }
  core::ThreadState& T(int i) { return rt_.thread(i); }

  void ExitAll() {
    for (int i = 0; i < rt_.num_threads(); ++i) {
      core::ThreadState& t = rt_.thread(i);
      if (t.Status() != core::ThreadStatus::kExited && t.Status() != core::ThreadStatus::kNotStarted) {
        core::ThreadExit(t);
      }
    }
  }

  // Runs `f`; returns the finding it threw, or nullopt.
  static std::optional<Finding> Catch(const std::function<void()>& f) {
    try {
      f();
    } catch (const FindingException& e) {
      return e.finding();
    }
    return std::nullopt;
  }

  core::Runtime rt_;
  RefLedger ledger_;
  TestHolders holders_;
};

inline program::ScheduleSpec Direct(std::vector<uint8_t> bytes) {
  program::ScheduleSpec s;
  s.kind = program::ScheduleKind::kDirect;
  s.bytes = std::move(bytes);
  return s;
}

}  // namespace ftf::audit::testing

#endif  // FTF_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
