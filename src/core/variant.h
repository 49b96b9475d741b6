// variant.h - named strategy choices for the contested paths of the core.
//
// A variant is a set of choices for the paths a lock-free proposal changes:
// `locked` is CPython as it is; the proposals judged are variants;
// mutants reproduce known bugs and name the finding they must produce. The
// core reads the choices from Runtime::variant(). Adding a variant is one
// entry in the table in variant.cc (and, if it needs a new kind of choice, one
// enum value here and one `switch` case where the path is modelled).

#ifndef FTF_CORE_VARIANT_H_
#define FTF_CORE_VARIANT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/finding_kind.h"

namespace ftf::core {

// _STORE_ATTR_SLOT (Python/bytecodes.c).
enum class SlotStoreBytecode : uint8_t {
  kLockObject,      // LOCK_OBJECT (deopt if it fails), plain read of old, release store, UNLOCK
  kExchange,        // the PR: old = atomic_exchange(slot, new)
  kPlainLoadStore,  // mutant: no lock, plain load of old + plain store of new
};

// PyMember_SetOne, object members (Python/structmember.c).
enum class SlotStoreMember : uint8_t {
  kCriticalSection,  // CS on the object, plain read of old, release store, decref old after the CS
  kExchange,         // the PR: atomic_exchange, decref old
};

// PyMember_GetOne's fallback when _Py_TryIncrefCompare fails.
enum class SlotGetFallback : uint8_t {
  kCriticalSectionIncref,  // CS, re-load, plain Py_XINCREF (CPython today)
  kXGetRef,                // the PR: _Py_XGetRef retry loop
};

// How _Py_Specialize_LoadGlobal takes (globals, builtins).
enum class GlobalSpecializeLock : uint8_t {
  kBlocking,          // Py_BEGIN_CRITICAL_SECTION2 (CPython today)
  kTryBegin,          // gh-152075 patch: PyCriticalSection2_TryBegin, unspecialize on failure
  kIsLockedPrecheck,  // review alternative: return early if either mutex is locked, then blocking CS2
  kNone,              // mutant: no critical section at all
};

// What the specializer does with the counter when it gives up because of
// contention (the merged behaviour is unconfirmed: docs/cpython-model.md §15).
enum class ContendedSpecializeCounter : uint8_t {
  kBackoff,     // unspecialize(): exponential backoff
  kRetryNext,   // leave the counter at 0: retry on the next execution
};

struct Variant {
  std::string name;
  std::string description;
  // Mutants only (unset otherwise): the finding (core/finding_kind.h) the
  // harness reports for the mutant's bug in a build without TSan (gcc,
  // asan): what the ledger or the executor sees. kDataRace when only
  // ThreadSanitizer can see the bug at all (then only the tsan preset finds it).
  std::optional<FindingKind> expected_finding;
  // Under the tsan preset, when TSan reports the racing accesses before the
  // ledger sees their consequence: kDataRace. Unset: as expected_finding.
  std::optional<FindingKind> expected_finding_tsan;
  // Other kinds the same bug shows as without TSan, depending on which
  // symptom the interleaving reaches first (e.g. a lost reference is a
  // USE_AFTER_FREE or a PREMATURE_FREE; CRASH: the modelled C code would
  // dereference NULL).
  std::vector<FindingKind> also_found_as;
  bool is_mutant = false;
  // The fuzz targets (fuzzers/CMakeLists.txt) whose bounded campaigns check
  // this variant: a mutant must be found by each, any other variant listed
  // must stay clean on each (the fuzzing.* tests and the benchmark take
  // them from here). Empty: no campaign (lockfree_slots: its livelock).
  std::vector<std::string> fuzz_targets;

  // Slots (docs/cpython-model.md §11, §12).
  SlotStoreBytecode slot_store_bytecode = SlotStoreBytecode::kLockObject;
  SlotStoreMember slot_store_member = SlotStoreMember::kCriticalSection;
  SlotGetFallback slot_get_fallback = SlotGetFallback::kCriticalSectionIncref;
  // Both slot writers (_STORE_ATTR_SLOT and PyMember_SetOne) mark the value
  // they are about to publish MAYBE_WEAKREF (_PyObject_SetMaybeWeakref, i.e.
  // PyUnstable_EnableTryIncRef) while they still hold their reference, so a
  // lock-free reader's _Py_TryIncRefShared never meets a live slot value
  // whose ob_ref_shared is exactly 0 (docs/cpython-model.md §2, §4).
  // lockfree_slots_fixed: it makes the PR's _Py_XGetRef reader terminate.
  bool slot_store_sets_maybe_weakref = false;
  // PyMember_SetOne's delete of a Py_T_OBJECT_EX slot first checks
  // `*addr == NULL` with a plain read outside any lock, as CPython did before
  // gh-146270 (PR #148800): mutant_unlocked_delete_check.
  bool member_delete_checks_unlocked = false;
  bool class_swap_stops_world = true;
  // compatible_with_tp_base compares tp_basicsize (Objects/typeobject.c).
  // Without it (mutant_layout_walk_ignores_size) compatible_for_assignment's
  // walk climbs past a subtype that adds slots, so an instance of the base
  // can be given the subtype: a layout its block does not hold.
  bool tp_base_walk_compares_size = true;
  // Stop-the-world (stw.h): a requester that waits for the stop-the-world
  // mutex re-acquires its suspended critical sections when it re-attaches,
  // as CPython did before gh-158195 (mutant_stw_resumes_sections).
  bool stw_requester_resumes_sections = false;
  // _PyType_SetFlagsRecursive stops the world first and then takes
  // TYPE_LOCK with a lock that blocks even while the world is stopped, as the
  // first version of gh-131174 did (before type_lock_prevent_release and
  // gh-144513): mutant_type_lock_inside_stop.
  bool type_lock_inside_stop = false;

  // Globals (docs/cpython-model.md §15).
  GlobalSpecializeLock global_specialize_lock = GlobalSpecializeLock::kBlocking;
  bool trybegin_keeps_first_lock = false;
  ContendedSpecializeCounter contended_counter = ContendedSpecializeCounter::kBackoff;
  bool keys_version_guard = true;
  // The lock-free global reads check again after loading the value: the
  // specialized LOAD_GLOBAL_MODULE/BUILTIN re-read dk_version, the generic
  // lookup re-reads the entry's key (locked_popitem_fixed; see
  // findings/20261122-load-global-module-popitem-entry-reuse.md).
  bool recheck_after_value_load = false;
  // _PyObject_SetDeferredRefcount sets ob_ref_shared with a relaxed atomic
  // store, as new_reference does under TSan since gh-129665, instead of
  // CPython's plain store, which races with a stale lock-free reader of the
  // block's previous object (locked_deferred_fixed; see
  // findings/20261207-set-deferred-refcount-plain-store.md).
  bool deferred_store_relaxed = false;

  // QSBR (qsbr.h): _Py_qbsr_goal_reached compares a goal with wr_seq instead
  // of rd_seq, so a delayed free whose goal the write sequence has passed is
  // done while a reader that never reported a quiescent state still holds
  // the block (mutant_qsbr_goal_vs_wr_seq).
  bool qsbr_goal_reached_reads_wr_seq = false;

  // Dict ownership (dict.h, docs/cpython-model.md §18): dictresize chooses
  // between freeing the old keys at once and retiring them through QSBR by
  // asking "do I own this dict?" (_Py_IsOwnedByCurrentThread) instead of
  // "is it SHARED?" (IS_DICT_SHARED): the owner of a dict that other threads
  // read lock-free frees the keys under them (mutant_dict_resize_tests_owner).
  bool dict_resize_tests_owner = false;
  // Deferred reference counting (deferred.h): the function constructor gives
  // a new function the _Py_REF_DEFERRED bias with its DEFERRED bit. False
  // (mutant_deferred_no_bias): the bit alone, so the last counted reference
  // frees a function that tagged stack references still point to.
  bool deferred_refcount_bias = true;
  // The cyclic collector (gc.h, GcOptions): gc.collect() merges the BRC
  // queues before it stops the world (mutant_gc_merge_before_stop); it
  // skips handle_resurrected_objects (mutant_gc_ignores_resurrection).
  bool gc_merge_before_stop = false;
  bool gc_skips_resurrection_check = false;
  // Threads started during the run (qsbr.h, docs/cpython-model.md §23):
  // _Py_qsbr_reserve grows the QSBR thread array under shared->mutex alone,
  // without stopping the world (mutant_qsbr_grow_without_stop).
  bool qsbr_grow_without_stop = false;
};

// The finding a mutant must produce in a build with (under_tsan) or without
// ThreadSanitizer; unset for non-mutants.
inline std::optional<FindingKind> ExpectedFinding(const Variant& v, bool under_tsan) {
  return under_tsan && v.expected_finding_tsan.has_value() ? v.expected_finding_tsan : v.expected_finding;
}

// Every registered variant, `locked` first.
const std::vector<Variant>& AllVariants();
// The variant named `name`, or nullptr.
const Variant* FindVariant(const std::string& name);
// The baseline (`locked`).
const Variant& LockedVariant();

// `v` with the fixes of the bugs CPython has as it is (findings/known.json,
// each fixed in its `locked_*_fixed` variant) applied on top: what a search
// for bugs of `v`'s own uses, so that it does not stop at known ones
// (FTF_KNOWN_FIXED=1 in the fuzz targets; the clean campaigns).
Variant WithKnownFixes(Variant v);

}  // namespace ftf::core

#endif  // FTF_CORE_VARIANT_H_
