// variant.cc - the one table of variants (see variant.h).

#include "core/variant.h"

namespace ftf::core {
namespace {

std::vector<Variant> MakeVariants() {
  std::vector<Variant> v;
  auto add = [&](Variant x) { v.push_back(std::move(x)); };

  {
    Variant x;
    x.name = "locked";
    x.fuzz_targets = {"slots_fuzzer"};
    x.description = "CPython as it is: LOCK_OBJECT/critical sections on slot stores, blocking CS2 in the LOAD_GLOBAL specializer";
    add(x);
  }
  {
    Variant x;
    x.name = "lockfree_slots";
    x.description = "lock-free STORE_ATTR_SLOT proposal (eendebakpt/cpython#62): atomic exchange in both writers, _Py_XGetRef in PyMember_GetOne";
    x.slot_store_bytecode = SlotStoreBytecode::kExchange;
    x.slot_store_member = SlotStoreMember::kExchange;
    x.slot_get_fallback = SlotGetFallback::kXGetRef;
    add(x);
  }
  {
    // findings/20261122-lockfree-slots-xgetref-livelock.md: the PR's reader
    // spins forever on a value whose owner holds it with shared == 0.
    Variant x;
    x.name = "lockfree_slots_fixed";
    x.fuzz_targets = {"slots_fuzzer"};
    x.description = "lockfree_slots + both writers set MAYBE_WEAKREF on the value before publishing it, so _Py_XGetRef terminates";
    x.slot_store_bytecode = SlotStoreBytecode::kExchange;
    x.slot_store_member = SlotStoreMember::kExchange;
    x.slot_get_fallback = SlotGetFallback::kXGetRef;
    x.slot_store_sets_maybe_weakref = true;
    add(x);
  }
  {
    Variant x;
    x.name = "trybegin_globals";
    x.fuzz_targets = {"globals_fuzzer"};
    x.description = "gh-152075 patch: PyCriticalSection2_TryBegin in _Py_Specialize_LoadGlobal, unspecialize when it would block";
    x.global_specialize_lock = GlobalSpecializeLock::kTryBegin;
    add(x);
  }
  {
    Variant x;
    x.name = "islocked_globals";
    x.fuzz_targets = {"globals_fuzzer"};
    x.description = "review alternative for gh-152075: skip specializing if either dict mutex is locked, else the blocking CS2";
    x.global_specialize_lock = GlobalSpecializeLock::kIsLockedPrecheck;
    add(x);
  }
  // --- mutants: each must produce its expected finding -------------------
  {
    Variant x;
    x.name = "locked_popitem_fixed";
    x.fuzz_targets = {"globals_fuzzer", "core_fuzzer"};
    x.description =
        "locked + lock-free global reads re-check after the value load (dk_version in LOAD_GLOBAL_MODULE/BUILTIN, "
        "the entry's key in the generic lookup): popitem + insert cannot hand them another name's value";
    x.recheck_after_value_load = true;
    add(x);
  }
  {
    // findings/20261207-set-deferred-refcount-plain-store.md.
    Variant x;
    x.name = "locked_deferred_fixed";
    x.fuzz_targets = {"slots_fuzzer", "globals_fuzzer"};
    x.description =
        "locked + _PyObject_SetDeferredRefcount stores ob_ref_shared with a relaxed atomic store (as new_reference "
        "does under TSan, gh-129665): a stale reader of the block's previous object no longer races with it";
    x.deferred_store_relaxed = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_half_migrated";
    x.fuzz_targets = {"slots_fuzzer"};
    // Also a RESURRECTION: the readers' fallback (critical section + incref)
    // is unchanged and relies on every writer holding ob_mutex, which the
    // lock-free bytecode store no longer takes.
    x.also_found_as = {FindingKind::kPrematureFree, FindingKind::kLeak, FindingKind::kDoubleFree,
                       FindingKind::kOverRelease, FindingKind::kResurrection};
    x.description = "bytecode store uses the exchange, PyMember_SetOne keeps the CS with a plain read of the old value";
    // Both writers drop the same old value: the second decref hits the block
    // the first one freed. TSan first sees the plain read race the exchange.
    x.expected_finding = FindingKind::kUseAfterFree;
    x.expected_finding_tsan = FindingKind::kDataRace;
    x.is_mutant = true;
    x.slot_store_bytecode = SlotStoreBytecode::kExchange;
    x.slot_store_member = SlotStoreMember::kCriticalSection;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_cs_fallback_incref";
    x.fuzz_targets = {"slots_fuzzer"};
    x.description = "lock-free writers, but PyMember_GetOne keeps the CS + plain Py_XINCREF fallback";
    x.expected_finding = FindingKind::kResurrection;  // also under TSan: every access involved is atomic
    x.is_mutant = true;
    x.slot_store_bytecode = SlotStoreBytecode::kExchange;
    x.slot_store_member = SlotStoreMember::kExchange;
    x.slot_get_fallback = SlotGetFallback::kCriticalSectionIncref;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_plain_store";
    x.fuzz_targets = {"slots_fuzzer"};
    x.also_found_as = {FindingKind::kPrematureFree, FindingKind::kLeak, FindingKind::kDoubleFree, FindingKind::kOverRelease};
    x.description = "lock-free slot store done as a plain load of the old value and a plain store, no exchange (otherwise lockfree_slots_fixed)";
    // Two writers read the same old value; the second decref hits the freed
    // block (and one new value leaks). TSan sees the plain accesses first.
    x.expected_finding = FindingKind::kUseAfterFree;
    x.expected_finding_tsan = FindingKind::kDataRace;
    x.is_mutant = true;
    x.slot_store_bytecode = SlotStoreBytecode::kPlainLoadStore;
    x.slot_store_member = SlotStoreMember::kExchange;
    x.slot_get_fallback = SlotGetFallback::kXGetRef;
    // Built on lockfree_slots_fixed, so that its one defect is the store:
    // on the PR's reader, fuzzed inputs would mostly end in its LIVELOCK.
    x.slot_store_sets_maybe_weakref = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_unlocked_delete_check";
    x.fuzz_targets = {"slots_fuzzer"};
    x.description = "PyMember_SetOne checks a deleted slot for NULL with a plain read outside the lock (CPython before gh-146270)";
    // Two deletes can both succeed, which no auditor counts as a memory
    // error; the plain read racing with a writer's store is TSan's.
    x.expected_finding = FindingKind::kDataRace;
    x.is_mutant = true;
    x.member_delete_checks_unlocked = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_class_swap_no_stw";
    x.fuzz_targets = {"slots_fuzzer"};
    x.description = "__class__ assignment stores the type pointer without stopping the world";
    // Only TSan can see it: the layout rule keeps every cached slot offset
    // valid, and heap types' refcounts are deferred (the ledger exempts them).
    x.expected_finding = FindingKind::kDataRace;
    x.is_mutant = true;
    x.class_swap_stops_world = false;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_layout_walk_ignores_size";
    x.fuzz_targets = {"slots_fuzzer"};
    x.description =
        "compatible_with_tp_base compares the dict/weaklist offsets and GC flag but not tp_basicsize: __class__ "
        "assignment gives an instance of a base a subtype that adds slots";
    // The auditor checks every __class__ assignment's layout with the world
    // still stopped, before any access can go past the block.
    x.expected_finding = FindingKind::kBadLayout;
    x.is_mutant = true;
    x.tp_base_walk_compares_size = false;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_trybegin_keeps_first_lock";
    x.fuzz_targets = {"globals_fuzzer"};
    x.description = "TryBegin that does not release the first mutex when the second fails";
    x.expected_finding = FindingKind::kDeadlock;
    x.is_mutant = true;
    x.global_specialize_lock = GlobalSpecializeLock::kTryBegin;
    x.trybegin_keeps_first_lock = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_no_keys_version_guard";
    x.fuzz_targets = {"globals_fuzzer"};
    x.description = "specialized LOAD_GLOBAL skips the keys-version guard";
    x.expected_finding = FindingKind::kWrongValue;  // a reused entry's value comes back for the old name
    x.is_mutant = true;
    x.keys_version_guard = false;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_unlocked_specializer";
    x.fuzz_targets = {"globals_fuzzer"};
    x.also_found_as = {FindingKind::kCrash};
    x.description = "LOAD_GLOBAL specializes without the critical section";
    // The cache pairs an index read before a writer reused the entry with the
    // version taken after: the specialized load returns another name's value.
    x.expected_finding = FindingKind::kWrongValue;
    x.expected_finding_tsan = FindingKind::kDataRace;
    x.is_mutant = true;
    x.global_specialize_lock = GlobalSpecializeLock::kNone;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_qsbr_goal_vs_wr_seq";
    x.description =
        "_Py_qbsr_goal_reached reads wr_seq instead of rd_seq: dict keys retired by a resize are freed once the "
        "write sequence passed their goal, under a LOAD_GLOBAL that still reads them";
    // The keys are raw memory (malloc/free): no refcount event shows the
    // early free to the ledger. TSan sees the free race with the reader's
    // accesses; ASan sees the reader's next load of the freed keys.
    x.expected_finding = FindingKind::kDataRace;
    x.also_found_as = {FindingKind::kAsan};
    x.fuzz_targets = {"globals_fuzzer"};
    x.is_mutant = true;
    x.qsbr_goal_reached_reads_wr_seq = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_dict_resize_tests_owner";
    x.description =
        "dictresize frees the old keys at once when the resizing thread owns the dict (ob_tid) instead of when the "
        "dict is not SHARED: the owner's resize frees keys another thread is reading lock-free";
    // As mutant_qsbr_goal_vs_wr_seq: the keys are raw memory, so no refcount
    // event shows the early free to the ledger. TSan sees the free race with
    // the reader's accesses; ASan sees the reader's next load of the keys.
    x.expected_finding = FindingKind::kDataRace;
    x.also_found_as = {FindingKind::kAsan};
    x.fuzz_targets = {"core_fuzzer"};
    x.is_mutant = true;
    x.dict_resize_tests_owner = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_stw_resumes_sections";
    x.description =
        "a stop-the-world requester that waits for the stop-the-world mutex re-acquires its critical sections when it "
        "re-attaches (CPython before gh-158195): type_set_abstract's TYPE_LOCK, held by a type_set_flags queued "
        "behind it with TYPE_LOCK pinned";
    // The requester blocks on TYPE_LOCK, whose holder waits for the
    // stop-the-world mutex only the requester could release or pass on.
    x.expected_finding = FindingKind::kDeadlock;
    x.fuzz_targets = {"slots_fuzzer"};
    x.is_mutant = true;
    x.stw_requester_resumes_sections = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_gc_merge_before_stop";
    x.description =
        "gc.collect() merges every thread's queued refcounts (merge_all_queued_objects) before "
        "_PyEval_StopTheWorld, while the owners still run and count their objects";
    // The merge's plain stores of ob_tid, ob_ref_local and ob_ref_shared race
    // with the owner's own refcounting (TSan); a lost update of the owner's
    // local count then shows as a wrong count to the ledger.
    x.expected_finding = FindingKind::kDataRace;
    x.also_found_as = {FindingKind::kOverRelease, FindingKind::kLeak, FindingKind::kPrematureFree,
                       FindingKind::kUseAfterFree, FindingKind::kDoubleFree};
    x.fuzz_targets = {"core_fuzzer"};
    x.is_mutant = true;
    x.gc_merge_before_stop = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_deferred_no_bias";
    x.description =
        "the function constructor sets _PyGC_BITS_DEFERRED without the _Py_REF_DEFERRED bias: a function is freed "
        "by Py_DECREF when its counted references are gone, while a LOAD_GLOBAL's tagged stack reference (which "
        "holds no count) still points to it";
    // The ledger sees the free while a register still holds the tagged
    // reference; a later use of that register touches the freed block.
    x.expected_finding = FindingKind::kPrematureFree;
    x.also_found_as = {FindingKind::kUseAfterFree, FindingKind::kResurrection};
    x.fuzz_targets = {"globals_fuzzer"};
    x.is_mutant = true;
    x.deferred_refcount_bias = false;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_gc_ignores_resurrection";
    x.description =
        "gc.collect() skips handle_resurrected_objects: an object whose __del__ stored it in a global is "
        "cleared (tp_clear) and its reference dropped as if it were still garbage";
    x.expected_finding = FindingKind::kPrematureFree;
    // Under TSan, tp_clear's plain stores may meet another thread's load of
    // the resurrected object first.
    x.also_found_as = {FindingKind::kDataRace};
    x.fuzz_targets = {"core_fuzzer"};
    x.is_mutant = true;
    x.gc_skips_resurrection_check = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_type_lock_inside_stop";
    x.description =
        "type_set_flags stops the world first and then locks TYPE_LOCK, blocking even with the world stopped (the "
        "first gh-131174, before type_lock_prevent_release and gh-144513): a TYPE_LOCK handed off to a thread parked "
        "for the stop is never released (gh-133130)";
    // The requester waits for a mutex owned by a suspended thread, which
    // waits for the requester's StartTheWorld.
    x.expected_finding = FindingKind::kDeadlock;
    x.fuzz_targets = {"slots_fuzzer"};
    x.is_mutant = true;
    x.type_lock_inside_stop = true;
    add(x);
  }
  {
    Variant x;
    x.name = "mutant_qsbr_grow_without_stop";
    x.description =
        "_Py_qsbr_reserve grows the QSBR thread array (grow_thread_array) under shared->mutex alone, without "
        "_PyEval_StopTheWorld: a thread started while others run replaces the array and the threads' tstate->qsbr "
        "pointers, and frees the old array, under a poll scan or a thread attaching or reporting a quiescent state";
    // Under TSan the grower's plain write of a running thread's qsbr pointer
    // (or its free of the old array) races with that thread's read (or a
    // poller's scan). Without TSan: ASan's use after free of the old array,
    // or a quiescent state written into it and lost, so a delayed free
    // happens under a reader (the ledger).
    x.expected_finding = FindingKind::kDataRace;
    x.also_found_as = {FindingKind::kAsan, FindingKind::kUseAfterFree, FindingKind::kPrematureFree};
    x.fuzz_targets = {"core_fuzzer"};
    x.is_mutant = true;
    x.qsbr_grow_without_stop = true;
    add(x);
  }
  return v;
}

}  // namespace

const std::vector<Variant>& AllVariants() {
  static const std::vector<Variant>* all = new std::vector<Variant>(MakeVariants());
  return *all;
}

const Variant* FindVariant(const std::string& name) {
  for (const Variant& v : AllVariants())
    if (v.name == name) return &v;
  return nullptr;
}

Variant WithKnownFixes(Variant v) {
  v.recheck_after_value_load = true;  // locked_popitem_fixed
  v.deferred_store_relaxed = true;    // locked_deferred_fixed
  return v;
}

const Variant& LockedVariant() { return AllVariants().front(); }

}  // namespace ftf::core
