// holders.h - who holds references: the program's side of the ledger.
//
// Not a model of CPython: the auditor's view of the references a program
// legitimately owns. CPython has no such list (its GC finds references by
// traversal, gcmodule.c subtract_refs); the ledger needs one to tell a
// correct deallocation (nobody holds the object any more) from a premature
// one, and a leak from a live object.
//
// References come from
//   (a) slots of live objects            - enumerated by the ledger itself;
//   (b) the core's queues: BRC merge queues (brc.h), QSBR delayed decrefs
//       (qsbr.h)                         - enumerated by the ledger itself;
//   (c) everything the interpreter (src/runner/) keeps outside objects:
//       per-thread registers, the shared-object table o0..o3, the values of
//       the globals/builtins dicts and the dicts' own objects
//                                        - enumerated by a HolderSource.
//
// Contract for a HolderSource (the runner implements it):
//   - ForEachHolder visits every strong reference of kind (c) exactly once
//     per reference (a register holding o visits o once; o stored in two
//     registers is visited twice).
//   - It must reflect the program at every moment the core can deallocate:
//     take a reference OUT of its holder before dropping it (clear the
//     register, then Decref) or before passing it to a core call that
//     consumes it (StoreAttr's `value`: `s: X.n = move rR` clears rR first,
//     since the generic path drops the reference on error); put a new
//     reference in (a load's result) only after the call returns; and stop
//     listing a dict (its entries and its object) before DictFree.
//     References in flight (taken by the core but not yet in a holder) are
//     fine: they keep the refcount above zero.
//   - It only reads (Peek) and never blocks: it runs inside observer
//     callbacks, in the middle of core operations.
//
// Thread-safety: called inside logical threads with no scheduling point;
// implementations must not touch Cells except with Peek().

#ifndef FTF_AUDIT_HOLDERS_H_
#define FTF_AUDIT_HOLDERS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ftf::core {
struct Object;
struct Dict;
}  // namespace ftf::core

namespace ftf::audit {

// One holder of one reference. Descriptions are rendered only for reports.
struct Holder {
  enum class Kind : uint8_t {
    kSlot,            // slot `index` of object `container`        (ledger)
    kBrcQueue,        // BRC merge queue of thread `thread`        (ledger)
    kDelayedDecref,   // QSBR delayed decref of thread `thread`, -1 = abandoned queue (ledger)
    kRegister,        // register r<index> of thread `thread`       (runner)
    kSharedTable,     // shared object o<index>                     (runner)
    kDictValue,       // value of key `label` in dict `container` (the dict's object id)  (runner)
    kDict,            // a dict's own object; `label` names the dict (runner)
    kOther,           // anything else; `label` says what           (runner)
  };
  Kind kind = Kind::kOther;
  int thread = -1;
  int index = -1;
  uint64_t container = 0;
  // Must outlive the report (a literal, or an interned key's text).
  std::string_view label;
  // A tagged stack reference (core/stackref.h: a register holding a deferred
  // object loaded by a specialized LOAD_GLOBAL): it points to the object
  // but holds no count. It still forbids freeing the object (the collector
  // scans thread stacks for exactly these), but it is not in the refcount.
  bool deferred = false;
};

// "slot 1 of obj#4", "register r2 of T1", "globals['g0'] (dict obj#9)", ...
std::string DescribeHolder(const Holder& h);

using HolderVisitor = std::function<void(const Holder& h, const core::Object* o)>;

class HolderSource {
 public:
  virtual ~HolderSource() = default;
  // Visits every reference of kind (c) (see the banner). `visit` may be
  // called with o == nullptr; such calls are ignored.
  virtual void ForEachHolder(const HolderVisitor& visit) const = 0;
  // How many of those references point to `o` (o != nullptr): exactly the
  // number of ForEachHolder visits with that object. The ledger asks this at
  // every dealloc and builds the full holder list only when it is not 0, so
  // implementations should override it with a loop that allocates nothing
  // (the default goes through ForEachHolder).
  virtual size_t CountHolding(const core::Object* o) const;
};

// For HolderSource implementations: visits the value of every live entry of
// `d` (Peek only) as a kDictValue holder labelled with the entry's key text,
// and, if `include_dict_object`, d->ob as a kDict holder labelled `dict_name`.
void ForEachDictHolder(const core::Dict* d, std::string_view dict_name, bool include_dict_object,
                       const HolderVisitor& visit);
// The number of ForEachDictHolder visits of `d` with object `o`, without
// building holders (no key-text lookups, no allocation).
size_t CountDictHolding(const core::Dict* d, bool include_dict_object, const core::Object* o);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_HOLDERS_H_
