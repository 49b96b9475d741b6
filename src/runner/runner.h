// runner.h - runs a decoded program on the core under an executor.
//
// Harness glue, not a model of CPython. A Runner owns one modelled world that
// it reuses for every input: the Runtime (8 logical threads plus the main
// thread), the type system, the dict state and the fiber executor. Run()
// resets the world, builds the program's World on the main thread (types,
// shared objects o0..o3, the globals and builtins dicts), detaches the main
// thread (it "joins"), runs each logical thread's operations as a fiber under
// the program's schedule, then re-attaches the main thread, merges what was
// queued to it, tears the world down and reports what happened.
//
// Operation semantics (program/op.h -> core):
//   NEW                 NewInstance, into a register
//   STORE_ATTR/LOAD_ATTR through a per-thread AttrSite (slot_access.h)
//   member get/set/del  GenericGetAttr / GenericSetAttr (PyMember_GetOne/SetOne)
//   __class__ =         SetClass (stop-the-world), type modified: TypeModified
//   LOAD_GLOBAL         through a per-thread LoadGlobalSite (load_global.h)
//   globals/builtins    StoreGlobal, DeleteGlobal, InvalidateGlobals, DictPopItem...
//   quiescent           SafePoint (eval-breaker check: STW, BRC merge, QSBR)
//   yield               an executor scheduling point
//   gc_collect          GcCollect (gc.h): stop the world, merge every queue,
//                       collect cycles; a `__del__` type's finalizer is
//                       World::Finalize (g7 = self)
// Safe points happen at `quiescent`, thread start and thread exit, as in
// CPython only some instructions check the eval breaker; and, while the
// thread has QSBR-delayed frees pending, at an operation boundary where the
// schedule says their threshold is reached (core/qsbr.h), so reclamation
// can happen anywhere in a run.

#ifndef FTF_RUNNER_RUNNER_H_
#define FTF_RUNNER_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <optional>

#include "audit/finding.h"
#include "core/variant.h"
#include "program/program.h"
#include "sched/fiber_executor.h"

namespace ftf::audit {
class RefLedger;
}

namespace ftf::runner {

// What one operation observably did (for reports, export and the
// differential check against CPython).
struct Observation {
  enum class Result : uint8_t {
    kOk,               // completed
    kAttributeError,
    kTypeError,
    kNameError,
    kKeyError,         // del of an absent key, popitem of an empty dict
    kEmptyRegister,    // the operation needed a register that held nothing: skipped
  };
  Result result = Result::kOk;
  // For loads and popitem: what was loaded. -1 none/no value, 0 None, else an object id.
  int64_t loaded_id = -1;
  bool specialized = false;  // answered by a specialized instruction
};
const char* ObservationResultName(Observation::Result r);

struct RunnerOptions {
  const core::Variant* variant = nullptr;  // nullptr: locked
  sched::RunOptions exec;
  bool record_observations = false;
  // PCT schedules place their change points inside the operations that can
  // conflict with another thread's (program/conflicts.h, sched decoder's
  // FOCUS). Off: change points are steps (FTF_PCT_FOCUS=0, an ablation).
  bool pct_focus = true;
};

struct RunOutcome {
  sched::RunResult exec;
  // The first finding of the run: an auditor's (thrown at the step where a
  // check failed), the executor's DEADLOCK/LIVELOCK, or the end-of-run LEAK.
  std::optional<audit::Finding> finding;
  // Per thread, per operation actually executed (when recorded).
  std::vector<std::vector<Observation>> observations;
};

class Runner {
 public:
  Runner();
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  RunOutcome Run(const program::Program& p, const RunnerOptions& options);

  sched::FiberExecutor& executor();
  const audit::RefLedger& ledger() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ftf::runner

#endif  // FTF_RUNNER_RUNNER_H_
