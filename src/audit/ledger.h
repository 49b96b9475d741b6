// ledger.h - the refcount ledger: every object's life, checked at each step.
//
// Not a model of CPython: the auditor of the model. It plays the role of
// CPython's debug-build checks (_Py_NegativeRefcount, the "object freed
// twice" asserts of Objects/obmalloc.c, PyRefTracer of
// Include/cpython/object.h) with full knowledge of who holds what.
//
// A RefLedger is the core::Observer (core/observer.h) of one Runtime. Per
// stable object id (BlockHeader::object_id, never an address: blocks are
// reused, ABA) it keeps the object's life (allocated by which thread at which
// step, dealloc started, block freed, block reused) and its history (every
// refcount transition with the raw field and the true count
// local + (shared >> 2) before and after, BRC queueing, QSBR delayed decrefs,
// stores and loads the interpreter reports). It checks, AT THE STEP where
// things go wrong, and throws FindingException (see LedgerOptions):
//
//   DOUBLE_FREE     dealloc of an object whose dealloc already started, or
//                   whose block is free; a block or raw block freed twice.
//   OVER_RELEASE    a decref (or merge) after which the true count is < 0;
//                   a decref of an object being deallocated; an owner's
//                   local count decremented from 0 (it would wrap to the
//                   immortal marker).
//   RESURRECTION    an incref, or a SUCCESSFUL try-incref, on an object whose
//                   dealloc started or whose block is free. (A failed
//                   try-incref reading a dead object's fields is the design:
//                   docs/cpython-model.md §5.)
//   USE_AFTER_FREE  a decref, queueing, merge or weakref-flag write on a freed
//                   block; with CheckAccess (access_check.h), any store to a
//                   freed block (other than the allocator's free-list link)
//                   and any access to its payload (ob_type and slots). ASan
//                   builds also poison the payload (heap.h).
//   PREMATURE_FREE  a dealloc while the true count is not 0, or while some
//                   holder still holds the object: a slot of a live object,
//                   a BRC queue, a QSBR delayed decref, or whatever the
//                   interpreter's HolderSource lists (holders.h); the cyclic
//                   collector clearing an object a root of the
//                   HolderSource still holds (core/gc.h).
//   LEAK            (CheckEnd) after tear-down, any live object; while the
//                   world is alive, one whose true count differs from the
//                   number of counted references held. Immortal objects and
//                   type objects (deferred, their references not counted by
//                   the model) are exempt.
//
// Deferred objects (core/deferred.h) other than types are accounted: their
// true count is local + (shared >> 2) minus the bias their
// _PyObject_SetDeferredRefcount added (RefOp::kSetDeferred; the collector's
// RefOp::kClearDeferred removes it), and a register holding a tagged
// reference to one (Holder::deferred) is a holder that holds no count: it
// makes a free PREMATURE_FREE but is not compared with the count.
//   WRONG_VALUE     (CheckLoad) a load returned a value never stored there.
//   BAD_LAYOUT      (CheckSpecializedAccess) a specialized slot access used
//                   an offset that is not its member's in the current type.
//
// The step of an event is FiberExecutor::Active()->step() (0 outside a run);
// the site of a finding is the executor's last recorded scheduling point
// (the access the core just made: observer events come right after it).
//
// Thread-safety: callbacks may run on fibers (the normal case) or on real
// threads; every entry point takes the ledger's AuditScope (audit_scope.h).
// The holder scan reads the core's queues and the HolderSource, which is
// only sound when no other OS thread runs core code: set check_holders to
// false for real-thread runs. Query functions (finding(), events(), ...) are
// for the scheduler side, after Run.

#ifndef FTF_AUDIT_LEDGER_H_
#define FTF_AUDIT_LEDGER_H_

#include <climits>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audit/finding.h"
#include "audit/holders.h"
#include "audit/value_log.h"
#include "core/observer.h"
#include "core/sched_hook.h"

namespace ftf::core {
class Runtime;
struct ThreadState;
}  // namespace ftf::core

namespace ftf::sched {
class Trace;
}

namespace ftf::audit {

struct LedgerOptions {
  // Throw FindingException at the failing step (fiber runs). When false the
  // first finding is only recorded (real threads: a throw would terminate).
  bool throw_on_finding = true;
  // Count holders at every dealloc (PREMATURE_FREE) and in CheckEnd.
  bool check_holders = true;
  // Keep per-event history (needed for reports; cheap).
  bool keep_history = true;
};

// What one ledger event records.
enum class LedgerEventKind : uint8_t {
  kCreated,        // OnAlloc
  kRef,            // OnRefChange (see `op`)
  kBrcQueued,      // OnBrcQueued: `other` = owner index + 1 (0: merged by the queuer)
  kDelayedDecref,  // OnDelayed for an object: `other` = goal
  kDeallocStart,   // OnDealloc
  kFreeBlock,      // OnFreeBlock
  kBlockReused,    // OnReuse: the block now holds object `other`
  kStore,          // NoteStore: stored into (`other` = holder id, `key`)
  kLoad,           // CheckLoad: loaded from (`other` = holder id, `key`)
};
const char* LedgerEventKindName(LedgerEventKind k);

inline constexpr int64_t kUnknownCount = INT64_MIN;

struct LedgerEvent {
  uint64_t seq = 0;      // 1-based, per ledger run
  uint64_t step = 0;     // executor step; 0 outside a run
  uint64_t object = 0;   // the object the event is about
  uint64_t other = 0;    // see LedgerEventKind
  int64_t before = 0;    // kRef: the raw field before/after (core/observer.h)
  int64_t after = 0;
  int64_t total_before = kUnknownCount;  // true count local + (shared >> 2)
  int64_t total_after = kUnknownCount;
  int32_t op_index = -1;  // the thread's current operation (BeginOp), -1 if none
  uint32_t key = 0;       // kStore / kLoad
  int8_t thread = -1;
  uint8_t opcode = 0xFF;  // program::OpCode of the current operation, 0xFF if none
  LedgerEventKind kind = LedgerEventKind::kCreated;
  core::RefOp op = core::RefOp::kIncrefLocal;
};

enum class LifeState : uint8_t { kLive, kDying, kFreed };

struct ObjectLife {
  uint64_t id = 0;
  core::Object* ptr = nullptr;  // valid while the block is not reused
  uint32_t nslots = 0;
  LifeState state = LifeState::kLive;
  bool block_reused = false;
  bool immortal = false;
  // Deferred reference counting (RefOp::kSetDeferred): a type object is not
  // accounted at all; any other deferred object is, minus `deferred_bias`
  // while `deferred` (until the collector's RefOp::kClearDeferred).
  bool type_object = false;
  bool deferred = false;
  int64_t deferred_bias = 0;
  int alloc_thread = -1;
  uint64_t alloc_step = 0;
  int alloc_op = -1;
  uint8_t alloc_opcode = 0xFF;
  int dealloc_thread = -1;
  uint64_t dealloc_step = 0;
  int free_thread = -1;
  uint64_t free_step = 0;
  std::vector<uint32_t> events;  // indices into RefLedger::events()
  // Position in the ledger's list of objects whose slots the holder scan
  // reads (block not freed, at least one slot), or -1.
  int32_t scan_pos = -1;
};

class RefLedger final : public core::Observer {
 public:
  explicit RefLedger(core::Runtime& rt, LedgerOptions options = {});
  ~RefLedger() override;
  RefLedger(const RefLedger&) = delete;
  RefLedger& operator=(const RefLedger&) = delete;

  // rt.observer = this / nullptr. Set-up time only.
  void Install();
  void Uninstall();
  // Forget everything (call together with Runtime::Reset, before set-up).
  void Reset();
  const LedgerOptions& options() const { return options_; }
  void set_options(const LedgerOptions& o) { options_ = o; }
  // The interpreter's references (holders.h); nullptr = none. Borrowed.
  void set_holders(const HolderSource* h) { holders_ = h; }

  // --- interpreter side (fiber side) ---------------------------------------
  // Thread `thread` starts operation `op_index` (program::OpCode `opcode`);
  // later events of that thread are attributed to it. -1 = none.
  void BeginOp(int thread, int op_index, uint8_t opcode);
  // Call BEFORE storing `value` (nullptr = NULL) into `key` of `holder`: from
  // then on a load there may return it (a racing load can see the store
  // before the storing call returns).
  void NoteStore(core::ThreadState& ts, const core::Object* holder, uint32_t key, const core::Object* value);
  // A load from any of `places` returned `value` (a new reference, or None
  // with null_as_none for a NULL _Py_T_OBJECT slot). WRONG_VALUE unless it
  // was stored in one of the places (LOAD_GLOBAL passes globals and builtins).
  void CheckLoad(core::ThreadState& ts, std::initializer_list<ValuePlace> places, const core::Object* value,
                 bool null_as_none = false);
  // A specialized access (LOAD_ATTR_SLOT / STORE_ATTR_SLOT) used `offset` for
  // member `name` on `owner`. BAD_LAYOUT unless valid for its current type.
  void CheckSpecializedAccess(core::ThreadState& ts, const core::Object* owner, std::string_view name,
                              size_t offset);
  // Scheduling-point access check (access_check.h): USE_AFTER_FREE for a
  // store or payload access to a freed object block.
  void CheckAccess(int thread, const core::Access& a);

  // --- end of run (scheduler side, no logical thread running) -------------
  // LEAK, recorded (never thrown). Call after every thread exited and the
  // core's queues were drained (core::ProcessDelayed for the abandoned QSBR
  // items). With `world_torn_down` (the runner dropped its registers, table
  // and dicts, and cleared the live objects' slots) every live object leaks;
  // otherwise only an object whose true count differs from the number of
  // references held (a consistency check while the world is alive).
  void CheckEnd(bool world_torn_down = true);
  // For the runner's tear-down, which clears slots as the cycle collector's
  // tp_clear would (the model has no GC): every live mortal object that has
  // slots, as (id, object), in id order. The ledger only reports them; it
  // never changes core state.
  std::vector<std::pair<uint64_t, core::Object*>> LiveObjectsWithSlots() const;
  // Whether object `id` is still alive at `o` (not freed, block not reused).
  bool IsLive(uint64_t id, const core::Object* o) const;
  // For the runner's tear-down, which frees unreachable deferred objects as
  // the collector would: every live deferred object (not types), as
  // (id, object), in id order.
  std::vector<std::pair<uint64_t, core::Object*>> LiveDeferredObjects() const;

  // --- results ----------------------------------------------------------
  const std::optional<Finding>& finding() const { return finding_; }
  bool has_finding() const { return finding_.has_value(); }
  const std::vector<LedgerEvent>& events() const { return events_; }
  // nullptr for an id the ledger never saw (static objects like None).
  const ObjectLife* Life(uint64_t id) const;
  // Every holder of `id` right now (for reports and tests).
  std::vector<Holder> HoldersOf(uint64_t id) const;
  // The object's life and history, one line per event; `trace` (optional)
  // adds each event's scheduling point. Empty for an unknown id.
  std::string FormatHistory(uint64_t id, const sched::Trace* trace = nullptr) const;
  // One event, e.g. "decref-shared shared 0x4->0x0 (refcount 2->1)".
  static std::string FormatEvent(const LedgerEvent& e);

  // --- core::Observer -----------------------------------------------------
  void OnAlloc(core::ThreadState& ts, core::Object* o) override;
  void OnReuse(core::ThreadState& ts, core::Object* o, uint64_t previous_id) override;
  void OnDealloc(core::ThreadState& ts, core::Object* o) override;
  void OnFreeBlock(core::ThreadState& ts, core::Object* o) override;
  void OnRefChange(core::ThreadState& ts, core::Object* o, core::RefOp op, int64_t before, int64_t after) override;
  void OnBrcQueued(core::ThreadState& ts, core::Object* o, int owner_index) override;
  void OnRawAlloc(core::ThreadState& ts, void* p, size_t size) override;
  void OnRawFree(core::ThreadState& ts, void* p) override;
  void OnDelayed(core::ThreadState& ts, void* p, bool is_decref, uint64_t goal) override;
  // BAD_LAYOUT when a __class__ assignment gave `o` a type whose layout is
  // not the one it had (thrown: before any access can use the new layout).
  void OnTypeChanged(core::ThreadState& ts, core::Object* o, const core::Type* oldto, const core::Type* newto) override;
  // PREMATURE_FREE when a root (register, shared table, dict entry) still
  // holds the object the collector clears: it was not garbage (ledger_holders.cc).
  void OnGcClear(core::ThreadState& ts, core::Object* o) override;
  // CRASH at the faulting core site (thrown: the run ends there).
  void OnModelCrash(core::ThreadState& ts, const char* what, const char* file, int line) override;

 private:
  struct FreeBlock {
    uintptr_t start;
    uintptr_t end;
    uint64_t id;
  };
  struct RawBlock {
    uint64_t raw_id;
    size_t size;
  };
  static constexpr int kMaxThreadsTracked = 64;

  ObjectLife* Find(uint64_t id);
  // The life's true count now: local + (shared >> 2) minus its bias.
  static int64_t TrueCount(const ObjectLife& life, const core::Object* o);
  const ObjectLife* Find(uint64_t id) const;
  LedgerEvent& Record(int thread, uint64_t object, LedgerEventKind kind);
  Finding Make(FindingKind kind, int thread, uint64_t object, std::string message) const;
  // Records the first finding and, if configured and safe, throws it.
  void Fail(Finding f);
  void CheckRef(core::ThreadState& ts, ObjectLife& life, core::RefOp op, const LedgerEvent& e);
  // Visits every reference the ledger and the HolderSource know of.
  void ForEachReference(const HolderVisitor& visit) const;
  // The number of ForEachReference visits with object `o`, computed without
  // building holders (the common case at a dealloc is 0; the list is built
  // only when it is not).
  size_t CountReferencesTo(const core::Object* o) const;
  // Keeps scan_objects_ in step with the lives whose slots are scanned.
  void AddToScan(ObjectLife& life);
  void RemoveFromScan(ObjectLife& life);
  std::string FormatHolders(const std::vector<Holder>& hs) const;

  core::Runtime& rt_;
  LedgerOptions options_;
  const HolderSource* holders_ = nullptr;
  mutable std::mutex mu_;

  std::vector<ObjectLife> lives_;       // indexed by object id
  // Ids of the lives with slots whose block is not freed, in no particular
  // order: the slot part of the holder scan (dying ones included).
  std::vector<uint64_t> scan_objects_;
  // How many entries of lives_ are in use this run (the rest keep their
  // event vectors' capacity for the next run).
  size_t lives_used_ = 0;
  std::vector<LedgerEvent> events_;
  // Freed object blocks, sorted by start address (a flat vector: a few
  // dozen entries, and its capacity survives Reset, so no allocation per free).
  std::vector<FreeBlock> free_blocks_;
  std::unordered_map<const void*, RawBlock> raw_live_;
  std::unordered_map<const void*, RawBlock> raw_freed_;
  uint64_t next_raw_id_ = 1;
  uint64_t seq_ = 0;
  int current_op_[kMaxThreadsTracked];
  uint8_t current_opcode_[kMaxThreadsTracked];
  ValueLog values_;
  std::optional<Finding> finding_;
  LedgerEvent scratch_;  // the event being built when keep_history is off
};

}  // namespace ftf::audit

#endif  // FTF_AUDIT_LEDGER_H_
