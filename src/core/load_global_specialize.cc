// load_global_specialize.cc - _Py_Specialize_LoadGlobal and its variants
// (see load_global.h; models Python/specialize.c).

#include "core/critical_section.h"
#include "core/dict.h"
#include "core/load_global.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

SpecializeResult Fail(LoadGlobalSite& site, SpecializeFail why) {
  UnspecializeSite(site);
  return SpecializeResult{SpecializeOutcome::kFailed, why};
}

// The variant gave up because a mutex was taken (or TryBegin would block).
SpecializeResult Contended(const Variant& v, LoadGlobalSite& site) {
  if (v.contended_counter == ContendedSpecializeCounter::kBackoff) UnspecializeSite(site);
  return SpecializeResult{SpecializeOutcome::kContended, SpecializeFail::kNone};
}

// Fetches a version for d's current keys (marking d SHARED) and checks it
// fits the u16 cache field.
bool CacheableVersion(ThreadState& ts, Dict* d, uint16_t* out, SpecializeFail* why) {
  uint32_t v = DictGetKeysVersionForCurrentState(ts, d);
  if (v == 0) {
    *why = SpecializeFail::kOutOfVersions;
    return false;
  }
  if (v > 0xFFFF) {
    *why = SpecializeFail::kVersionOutOfRange;
    return false;
  }
  *out = static_cast<uint16_t>(v);
  return true;
}

SpecializeResult BlockingSpecialize(ThreadState& ts, const GlobalsEnv& env, LoadGlobalSite& site) {
  CriticalSection2 cs;
  CriticalSection2Begin(ts, &cs, &env.globals->ob->ob_mutex, &env.builtins->ob->ob_mutex);
  SpecializeResult r = SpecializeLoadGlobalLockHeld(ts, env, site);
  CriticalSection2End(ts, &cs);
  return r;
}

}  // namespace

void SpecializeSite(LoadGlobalSite& site, LoadGlobalOpcode op) {
  site.opcode = op;
  site.counter = AdaptiveCounterCooldown();
}

void UnspecializeSite(LoadGlobalSite& site) {
  site.opcode = LoadGlobalOpcode::kLoadGlobal;  // _PyOpcode_Deopt
  site.counter = RestartBackoffCounter(site.counter);
}

// specialize_load_global_lock_held. Both dicts are exact dicts with unicode
// keys in the model, so the first two checks of CPython always pass.
SpecializeResult SpecializeLoadGlobalLockHeld(ThreadState& ts, const GlobalsEnv& env, LoadGlobalSite& site) {
  Dict* globals = env.globals;
  Dict* builtins = env.builtins;
  DictState& state = *globals->state;
  const uint64_t hash = state.HashOf(site.name);

  // _PyDictKeys_StringLookup on the globals keys (plain load of ma_keys:
  // the caller holds the lock).
  DictKeys* globals_keys = globals->ma_keys.LoadPlain();
  intptr_t index = KeysLookupLockHeld(ts, globals_keys, state, site.name, hash);
  SpecializeFail why = SpecializeFail::kNone;
  if (index != kDkixEmpty) {
    if (index != static_cast<uint16_t>(index)) return Fail(site, SpecializeFail::kIndexOutOfRange);
    uint16_t version = 0;
    if (!CacheableVersion(ts, globals, &version, &why)) return Fail(site, why);
    site.index = static_cast<uint16_t>(index);
    site.module_keys_version = version;
    SpecializeSite(site, LoadGlobalOpcode::kLoadGlobalModule);
    return SpecializeResult{SpecializeOutcome::kModule, SpecializeFail::kNone};
  }

  DictKeys* builtin_keys = builtins->ma_keys.LoadPlain();
  index = KeysLookupLockHeld(ts, builtin_keys, state, site.name, hash);
  if (index == kDkixEmpty) return Fail(site, SpecializeFail::kNotFound);  // -1 does not fit in u16
  if (index != static_cast<uint16_t>(index)) return Fail(site, SpecializeFail::kIndexOutOfRange);
  uint16_t globals_version = 0;
  if (!CacheableVersion(ts, globals, &globals_version, &why)) return Fail(site, why);
  uint16_t builtins_version = 0;
  if (!CacheableVersion(ts, builtins, &builtins_version, &why)) return Fail(site, why);
  site.index = static_cast<uint16_t>(index);
  site.module_keys_version = globals_version;
  site.builtin_keys_version = builtins_version;
  SpecializeSite(site, LoadGlobalOpcode::kLoadGlobalBuiltin);
  return SpecializeResult{SpecializeOutcome::kBuiltin, SpecializeFail::kNone};
}

// _Py_Specialize_LoadGlobal.
SpecializeResult SpecializeLoadGlobal(ThreadState& ts, const GlobalsEnv& env, LoadGlobalSite& site) {
  const Variant& v = env.v();
  Mutex* mg = &env.globals->ob->ob_mutex;
  Mutex* mb = &env.builtins->ob->ob_mutex;
  switch (v.global_specialize_lock) {
    case GlobalSpecializeLock::kBlocking:
      return BlockingSpecialize(ts, env, site);
    case GlobalSpecializeLock::kTryBegin: {
      CriticalSection2 cs;
      if (!CriticalSection2TryBegin(ts, &cs, mg, mb, v.trybegin_keeps_first_lock)) return Contended(v, site);
      SpecializeResult r = SpecializeLoadGlobalLockHeld(ts, env, site);
      CriticalSection2End(ts, &cs);
      return r;
    }
    case GlobalSpecializeLock::kIsLockedPrecheck:
      // PyMutex_IsLocked on both dicts, then the blocking section. The
      // mutexes may be taken again between the check and the lock.
      if (mg->IsLocked() || mb->IsLocked()) return Contended(v, site);
      return BlockingSpecialize(ts, env, site);
    case GlobalSpecializeLock::kNone:
      return SpecializeLoadGlobalLockHeld(ts, env, site);
  }
  return BlockingSpecialize(ts, env, site);
}

}  // namespace ftf::core
