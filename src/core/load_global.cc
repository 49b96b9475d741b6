// load_global.cc - executing LOAD_GLOBAL and the program's writers to globals
// and builtins (see load_global.h). The specializer is in
// load_global_specialize.cc.

#include "core/load_global.h"

#include "core/dict.h"
#include "core/refcount.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

// The common tail of _LOAD_GLOBAL_MODULE and _LOAD_GLOBAL_BUILTINS, after the
// version guard: relaxed load of the entry's value, deopt on NULL, then
// _Py_TryIncrefCompare against the same entry (deopt if it fails).
//
// With Variant::recheck_after_value_load (locked_popitem_fixed) the value is
// loaded with acquire and the keys' version is read again afterwards: a
// popitem + insert that reused the entry between the guard and the load
// reset dk_version before publishing the new value, so a reader that got the
// new value sees a version other than its cached one and deopts
// (findings/20261122-load-global-module-popitem-entry-reuse.md).
bool LoadEntryValue(ThreadState& ts, DictKeys* keys, uint16_t index, uint32_t version, bool recheck, StackRef* out,
                    DeoptReason* why, DeoptReason version_reason) {
  const Cell<Object*>& slot = keys->entries()[index].me_value;
  Object* v = recheck ? slot.LoadAcquire() : slot.LoadRelaxed();
  if (v == nullptr) {
    *why = DeoptReason::kNullValue;
    return false;
  }
  // CPython main: _Py_TryIncrefCompareStackRef. A deferred value (a
  // function, a class, a module) gets a tagged reference at once, with no
  // count and no re-check of the entry: whatever the entry holds by now, the
  // value loaded is what the instruction pushes (docs/cpython-model.md §19).
  StackRef ref;
  if (!TryIncrefCompareStackRef(ts, slot, v, &ref)) {
    *why = DeoptReason::kIncrefFailed;
    return false;
  }
  if (recheck && keys->dk_version.LoadRelaxed() != version) {
    StackRefClose(ts, ref);  // PyStackRef_CLOSE: nothing to drop for a tagged one
    *why = version_reason;
    return false;
  }
  *out = ref;
  return true;
}

}  // namespace

const char* LoadGlobalOpcodeName(LoadGlobalOpcode op) {
  switch (op) {
    case LoadGlobalOpcode::kLoadGlobal: return "LOAD_GLOBAL";
    case LoadGlobalOpcode::kLoadGlobalModule: return "LOAD_GLOBAL_MODULE";
    case LoadGlobalOpcode::kLoadGlobalBuiltin: return "LOAD_GLOBAL_BUILTIN";
  }
  return "?";
}

const char* SpecializeOutcomeName(SpecializeOutcome o) {
  switch (o) {
    case SpecializeOutcome::kNone: return "none";
    case SpecializeOutcome::kModule: return "module";
    case SpecializeOutcome::kBuiltin: return "builtin";
    case SpecializeOutcome::kFailed: return "failed";
    case SpecializeOutcome::kContended: return "contended";
  }
  return "?";
}

const char* DeoptReasonName(DeoptReason r) {
  switch (r) {
    case DeoptReason::kNone: return "none";
    case DeoptReason::kGlobalsVersion: return "globals-version";
    case DeoptReason::kBuiltinsVersion: return "builtins-version";
    case DeoptReason::kNullValue: return "null-value";
    case DeoptReason::kIncrefFailed: return "incref-failed";
  }
  return "?";
}

// _PyDict_LoadGlobal: namespace 1, then namespace 2.
Object* LoadGlobalGeneric(ThreadState& ts, const GlobalsEnv& env, Object* name, bool* from_builtins) {
  if (from_builtins != nullptr) *from_builtins = false;
  const bool recheck = env.v().recheck_after_value_load;
  DictLookupResult g = DictLookupThreadsafe(ts, env.globals, name, recheck);
  if (g.ix != kDkixEmpty && g.value != nullptr) return g.value;
  DictLookupResult b = DictLookupThreadsafe(ts, env.builtins, name, recheck);
  if (b.value != nullptr && from_builtins != nullptr) *from_builtins = true;
  return b.value;
}

// _LOAD_GLOBAL_MODULE.
bool LoadGlobalModuleBody(ThreadState& ts, const GlobalsEnv& env, const LoadGlobalSite& site, StackRef* out,
                          DeoptReason* why) {
  DictKeys* keys = env.globals->ma_keys.LoadAcquire();
  if (env.v().keys_version_guard && keys->dk_version.LoadRelaxed() != site.module_keys_version) {
    *why = DeoptReason::kGlobalsVersion;
    return false;
  }
  return LoadEntryValue(ts, keys, site.index, site.module_keys_version, env.v().recheck_after_value_load, out, why,
                        DeoptReason::kGlobalsVersion);
}

// _GUARD_GLOBALS_VERSION + _LOAD_GLOBAL_BUILTINS.
bool LoadGlobalBuiltinBody(ThreadState& ts, const GlobalsEnv& env, const LoadGlobalSite& site, StackRef* out,
                           DeoptReason* why) {
  const bool guard = env.v().keys_version_guard;
  DictKeys* gkeys = env.globals->ma_keys.LoadAcquire();
  if (guard && gkeys->dk_version.LoadRelaxed() != site.module_keys_version) {
    *why = DeoptReason::kGlobalsVersion;
    return false;
  }
  DictKeys* bkeys = env.builtins->ma_keys.LoadAcquire();
  if (guard && bkeys->dk_version.LoadRelaxed() != site.builtin_keys_version) {
    *why = DeoptReason::kBuiltinsVersion;
    return false;
  }
  return LoadEntryValue(ts, bkeys, site.index, site.builtin_keys_version, env.v().recheck_after_value_load, out, why,
                        DeoptReason::kBuiltinsVersion);
}

LoadGlobalResult LoadGlobal(ThreadState& ts, const GlobalsEnv& env, LoadGlobalSite& site) {
  LoadGlobalResult r;
  r.dispatched = site.opcode;
  for (;;) {
    // Dispatch on the current opcode; a specialized miss jumps into the
    // generic instruction (JUMP_TO_PREDICTED), counter check included.
    if (site.opcode != LoadGlobalOpcode::kLoadGlobal) {
      StackRef v;
      DeoptReason why = DeoptReason::kNone;
      bool builtin = site.opcode == LoadGlobalOpcode::kLoadGlobalBuiltin;
      bool ok = builtin ? LoadGlobalBuiltinBody(ts, env, site, &v, &why)
                        : LoadGlobalModuleBody(ts, env, site, &v, &why);
      if (ok) {
        r.ref = v;
        r.value = StackRefBorrow(v);
        r.hit = true;
        r.from_builtins = builtin;
        return r;
      }
      ++r.deopts;
      r.deopt = why;
    }
    // _SPECIALIZE_LOAD_GLOBAL.
    if (BackoffCounterTriggers(site.counter)) {
      ++r.specialize_attempts;
      r.specialize = SpecializeLoadGlobal(ts, env, site);
      continue;  // DISPATCH_SAME_OPARG: execute the (possibly new) opcode
    }
    site.counter = AdvanceBackoffCounter(site.counter);
    // _LOAD_GLOBAL.
    r.value = LoadGlobalGeneric(ts, env, site.name, &r.from_builtins);
    r.ref = StackRefFromSteal(r.value);
    return r;
  }
}

DictSetResult StoreGlobal(ThreadState& ts, const GlobalsEnv& env, Object* name, Object* value) {
  return DictSetItem(ts, env.globals, name, value);
}

bool DeleteGlobal(ThreadState& ts, const GlobalsEnv& env, Object* name) { return DictDelItem(ts, env.globals, name); }

DictSetResult StoreBuiltin(ThreadState& ts, const GlobalsEnv& env, Object* name, Object* value) {
  return DictSetItem(ts, env.builtins, name, value);
}

bool DeleteBuiltin(ThreadState& ts, const GlobalsEnv& env, Object* name) {
  return DictDelItem(ts, env.builtins, name);
}

DictSetResult InvalidateGlobals(ThreadState& ts, const GlobalsEnv& env, Object* temp_key, Object* value,
                                bool* deleted) {
  DictSetResult r = DictSetItem(ts, env.globals, temp_key, value);
  const bool found = DictDelItem(ts, env.globals, temp_key);
  if (deleted != nullptr) *deleted = found;
  return r;
}

}  // namespace ftf::core
