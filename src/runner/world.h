// world.h - the modelled world one program runs in, and its interpreter.
//
// Harness glue. World owns the Runtime (program threads 0..7 plus the main
// thread, index kMainThread), the type system and the dict state, and per run
// the program's types, shared objects, dicts, registers and inline caches.
// RunThread(t) is the body of logical thread t (a fiber); it executes the
// thread's operations against the core (see runner.h for the mapping).

#ifndef FTF_RUNNER_WORLD_H_
#define FTF_RUNNER_WORLD_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "audit/holders.h"
#include "audit/ledger.h"
#include "core/dict.h"
#include "core/gc.h"
#include "core/load_global.h"
#include "core/runtime.h"
#include "core/slot_access.h"
#include "core/stackref.h"
#include "core/type.h"
#include "core/variant.h"
#include "program/conflicts.h"
#include "program/program.h"
#include "runner/runner.h"
#include "sched/fiber_executor.h"

namespace ftf::runner {

inline constexpr int kMainThread = program::kMaxThreads;  // the ThreadState index of the main thread

class World final : public audit::HolderSource, public core::GcClient {
 public:
  explicit World(sched::FiberExecutor& exec);
  ~World();

  // Resets the core and builds p's world on the main thread, which then
  // detaches (it waits in "join" while the program runs).
  void Build(const program::Program& p, const core::Variant& variant, bool record);
  // The body of logical thread t.
  void RunThread(int t);
  // After a run that completed: the main thread re-attaches, merges, drops
  // the world's references, exits, and the ledger checks for leaks.
  std::optional<audit::Finding> TearDown();

  // audit::HolderSource: registers, the shared-object table, dict entries.
  void ForEachHolder(const audit::HolderVisitor& visit) const override;
  size_t CountHolding(const core::Object* o) const override;
  const audit::RefLedger& ledger() const { return ledger_; }

  std::vector<std::vector<Observation>> TakeObservations();

  // core::GcClient: a type of the world with `__del__` (TypeSpec::finalizer)
  // has a finalizer that runs `global g7; g7 = self` (world.cc).
  bool HasFinalizer(const core::Object* o) const override;
  void Finalize(core::ThreadState& ts, core::Object* o) override;

  core::Runtime& rt() { return rt_; }
  core::TypeSystem& types() { return types_; }
  // The shared object oN, a type TN, a thread's register (borrowed).
  core::Object* object(int i) const { return objects_[static_cast<size_t>(i)]; }
  core::Type* type(int i) const { return prog_types_[static_cast<size_t>(i)]; }
  // PCT's FOCUS: the program's focused operations (borrowed until the next
  // Build; null: none). RunThread tells the executor which one each thread
  // is in.
  void set_focus(const program::ConflictMap* focus) { focus_ = focus; }
  core::Object* reg(int t, int r) const { return core::StackRefBorrow(reg_ref(t, r)); }
  // The register itself: a stack reference, tagged when it holds no count.
  core::StackRef reg_ref(int t, int r) const { return regs_[static_cast<size_t>(t)][static_cast<size_t>(r)]; }
  const core::GlobalsEnv& env() const { return env_; }
  // The dict made during this run whose object is `o` (NEW_DICT), or nullptr.
  core::Dict* run_dict(const core::Object* o) const { return RunDictOf(o); }

 private:
  // A thread's instruction sites. Sites are created on first use in a run;
  // the arrays keep the AttrSite objects across runs and give each one a
  // Reset() (its constructor's state) the first time a run uses it, so a
  // run sees exactly fresh sites without allocating them. Keys outside the
  // decoder's ranges (never produced by Decode) fall back to the maps.
  static constexpr int kAttrSites = 2 * program::kNumSlotNames * program::kNumSites;
  static constexpr int kGlobalSites = program::kNumNames * program::kNumSites;
  struct ThreadCtx {
    std::map<uint32_t, std::unique_ptr<core::AttrSite>> attr_sites;
    std::map<uint32_t, core::LoadGlobalSite> global_sites;
    std::array<std::unique_ptr<core::AttrSite>, kAttrSites> attr{};
    std::array<uint64_t, kAttrSites> attr_run{};  // run_ when last reset; 0 = never
    std::array<core::LoadGlobalSite, kGlobalSites> global{};
    std::array<uint64_t, kGlobalSites> global_run{};
  };

  void Execute(core::ThreadState& ts, int t, const program::Op& op, Observation& obs);
  // The dict operations (world_dicts.cc): NEW_DICT, DICT_STORE, DICT_LOAD,
  // DICT_DELETE. `value` is the operation's new reference (consumed).
  void ExecuteDictOp(core::ThreadState& ts, int t, const program::Op& op, core::Object* target, core::Object* value,
                     Observation& obs);
  core::Object* Target(int t, const program::Target& target) const;
  // A new reference for the value V of an operation, or nullptr if it names
  // an empty register.
  core::Object* NewValue(core::ThreadState& ts, int t, const program::Value& v);
  // Puts `value` (owned by the register from now on) into register r of
  // thread t and closes what it held (PyStackRef_XCLOSE).
  void SetReg(core::ThreadState& ts, int t, int r, core::StackRef value);
  core::AttrSite& AttrSiteFor(int t, const program::Op& op, bool store);
  core::LoadGlobalSite& GlobalSiteFor(int t, const program::Op& op);
  // The array sites (ThreadCtx); nullptr for a key outside the arrays.
  core::AttrSite* ArrayAttrSite(int t, const program::Op& op, bool store);
  core::LoadGlobalSite* ArrayGlobalSite(int t, const program::Op& op);
  void CheckSpecialized(core::ThreadState& ts, int t, const program::Op& op, core::Object* owner, bool store);

  // Tear-down's stand-in for the cycle collector (world.cc).
  void ClearSlotsForTeardown(core::ThreadState& ts);
  // Tear-down's stand-in for the collector's freeing of unreachable deferred
  // objects (core/deferred.h): every live deferred object nobody references.
  void CollectDeferredForTeardown(core::ThreadState& ts);
  // Tells the ledger a value may now be found at (holder, key).
  void NoteStore(core::ThreadState& ts, const core::Object* holder, uint32_t key, const core::Object* value);

  // Dicts made during the run (NEW_DICT). The table keeps one reference to
  // each dict until tear-down, as a frame would that made it, so a dict is
  // never freed mid-run (world_dicts.cc says why). Thread t's dicts live in
  // run_dicts_[t], one entry per operation of t at most, sized by Build. The
  // entries are written once by their thread and read by any thread looking
  // a target up: relaxed atomics, so the harness adds no happens-before edge
  // between logical threads that the modelled program does not have.
  struct RunDict {
    std::atomic<const core::Object*> ob{nullptr};
    std::atomic<core::Dict*> dict{nullptr};
  };
  struct RunDicts {
    std::unique_ptr<RunDict[]> entries;
    size_t capacity = 0;
    size_t used = 0;  // written and read by the owning thread only
  };
  // The dict whose object is `o`, or nullptr.
  core::Dict* RunDictOf(const core::Object* o) const;
  // Build: empty tables with room for `p`'s operations (an abandoned run's
  // dict structs are deleted; Runtime::Reset freed their memory).
  void ResetRunDicts(const program::Program& p);
  // TearDown: each dict leaves the table, then DictFree drops its entries and
  // the table's reference.
  void FreeRunDicts(core::ThreadState& ts);
  void ForEachRunDictHolder(const audit::HolderVisitor& visit) const;
  size_t CountRunDictHolding(const core::Object* o) const;

  sched::FiberExecutor& exec_;
  core::Runtime rt_;
  audit::RefLedger ledger_;
  core::TypeSystem types_;
  core::DictState dict_state_;

  const program::Program* prog_ = nullptr;
  const program::ConflictMap* focus_ = nullptr;
  uint64_t run_ = 0;  // Build() count, for the per-run site reset
  bool record_ = false;
  std::array<core::Type*, program::kNumTypes> prog_types_{};
  std::array<bool, program::kNumTypes> has_finalizer_{};  // TypeSpec::finalizer
  core::GcOptions gc_options_;                             // from the variant
  std::array<core::Object*, program::kNumObjects> objects_{};
  std::array<core::Object*, program::kNumNames> names_{};
  core::Object* temp_key_ = nullptr;
  core::Dict* globals_ = nullptr;
  core::Dict* builtins_ = nullptr;
  core::GlobalsEnv env_;
  // A thread's registers are its stack: stack references (core/stackref.h).
  std::array<std::array<core::StackRef, program::kNumRegisters>, program::kMaxThreads> regs_{};
  // Threads the program starts with `start tK` (program::StartedThreads):
  // such a thread's fiber waits until `launched_` is set by the starter,
  // after core::ThreadCreate (the release/acquire pair models the
  // happens-before of pthread_create). `start_claimed_` is the Python
  // thread object's "started once" flag: harness bookkeeping, no access of
  // the modelled program.
  uint8_t started_by_program_ = 0;
  std::array<core::Cell<uint8_t>, program::kMaxThreads> launched_{};
  std::array<std::atomic<uint8_t>, program::kMaxThreads> start_claimed_{};
  // `start tK` of the executing thread t (interpreter.cc).
  void StartThread(core::ThreadState& ts, int t, int k, Observation& obs);
  std::array<ThreadCtx, program::kMaxThreads> ctx_;
  std::array<RunDicts, program::kMaxThreads> run_dicts_;
  std::vector<std::vector<Observation>> observations_;
  std::vector<core::SlotDecl> decls_;  // Build's scratch list of a type's slots
};

// "a".."d" for slot name indexes, "g0".."g7", "b0".."b3" for global names.
const char* SlotNameText(int i);
const char* GlobalNameText(int i);

}  // namespace ftf::runner

#endif  // FTF_RUNNER_WORLD_H_
