// export_model.h - what `ftf export --python` needs from the model's run.
//
// Harness glue, not a model of CPython. The Python export (export_python.h)
// turns a program into a script whose serial mode asserts what the MODEL
// computed, so every expected value here comes from one deterministic run of
// the program on the core (the `locked` variant by default), never from a
// second interpretation of the operations:
//
//   - the per-operation Observation the interpreter recorded (result kind,
//     loaded object id), runner/runner.h;
//   - which objects each operation created (the ledger's `created` events:
//     thread, operation index), so a loaded id can be named in Python;
//   - the shared objects' and dicts' contents right after set-up and right
//     after the threads finished (read with Peek, like an auditor, before the
//     world is torn down);
//   - the order in which the operations took effect, from the full trace
//     (each step carries its operation's note, audit/step_note.h).
//
// Order. Operations of different threads overlap in the model (a context
// switch can fall inside an operation), so "the order of the operations" is
// a choice. Two preferences are computed:
//   completion: the order of each operation's last step;
//   commit:     the order of each operation's last step in a core file that
//               reads or writes Python-visible state (slots, ob_type, dict
//               entries and keys, type lookups, LOAD_GLOBAL), ignoring the
//               steps in refcount / BRC / heap / QSBR code that come before
//               and after an operation's effect. (A step's file is where the
//               access was written; a lock taken by dict.cc counts as
//               dict.cc, so this is an approximation.)
// An operation with no such step (yield, quiescent, del rR, an operation on
// an empty register) keeps its place right after the previous operation of
// its thread. Both respect each thread's program order. The order is only the
// script's first guess: the script checks it and, when it does not reproduce
// the model's results, searches the other orders the run allows (each
// operation's span [first_step, last_step] says which pairs overlapped), see
// docs/export.md. `commit` is the default (fewer searches).
//
// Thread-safety: a ModelRunner owns a modelled world and an executor; use one
// per OS thread (the executor's hook is process-wide: one Run at a time).

#ifndef FTF_TOOLS_EXPORT_MODEL_H_
#define FTF_TOOLS_EXPORT_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/finding.h"
#include "core/variant.h"
#include "program/program.h"
#include "runner/runner.h"

namespace ftf::tools {

// Object ids as in runner::Observation::loaded_id: -1 nothing/empty, 0 None,
// otherwise the model's stable object id.
inline constexpr int64_t kNoObject = -1;
inline constexpr int64_t kNoneId = 0;

enum class ExportOrder : uint8_t { kCommit, kCompletion };

struct OpRecord {
  int thread = 0;
  int index = 0;
  bool executed = false;  // the model ran it (false after a finding stopped the run)
  runner::Observation obs;
  // Object the operation created that Python can see: the fresh value of a
  // `fresh` operand, or the instance made by NEW; kNoObject if none.
  int64_t created = kNoObject;
  // Steps (1-based) of its first, last and last effect step; 0 = none.
  uint64_t first_step = 0;
  uint64_t last_step = 0;
  uint64_t commit_step = 0;
};

struct ObjectState {
  int type = 0;                  // program type index T0..T3
  std::vector<int64_t> slots;    // per slot of that type, in order; kNoObject = empty (NULL)
};

// (name index 0..11, value id) in dict order; name -1 is a key the program
// cannot name (the `_temp_key` of GLOBAL_TEMP_INSERT_DELETE).
using DictState = std::vector<std::pair<int, int64_t>>;

struct WorldState {
  std::array<ObjectState, program::kNumObjects> objects;
  DictState globals;
  DictState builtins;
};

struct ModelRun {
  std::string variant;
  std::array<int64_t, program::kNumObjects> object_ids{};  // o0..o3
  WorldState initial;
  WorldState final_state;   // valid iff completed
  bool completed = false;   // the threads finished with no finding
  std::optional<audit::Finding> finding;
  std::vector<std::vector<OpRecord>> ops;  // [thread][op index]
  // Executed operations as (thread, index), in the chosen order.
  std::vector<std::pair<int, int>> order;
  uint64_t steps = 0;
  uint64_t trace_hash = 0;
};

class ModelRunner {
 public:
  ModelRunner();
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  // Runs `p` once (full trace, observations recorded) and collects the above.
  ModelRun Run(const program::Program& p, const core::Variant* variant = nullptr,
               ExportOrder order = ExportOrder::kCommit);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True for a core source file whose accesses are Python-visible effects (see
// the banner): "core/slot_access.cc", "core/member.cc", "core/dict.cc"...
bool IsEffectFile(const char* file);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_EXPORT_MODEL_H_
