// load_global.h - LOAD_GLOBAL: generic lookup, adaptive specialization,
// LOAD_GLOBAL_MODULE / LOAD_GLOBAL_BUILTIN, deopt, and the globals churn of
// gh-152075. What CPython does here: docs/cpython-model.md §15.
//
// Models, from CPython's free-threaded build:
//   * the adaptive counter of Include/internal/pycore_backoff.h
//     (make/restart/advance_backoff_counter, backoff_counter_triggers) and the
//     warm-up / cooldown constants of Include/internal/pycore_code.h;
//   * the LOAD_GLOBAL family of Python/bytecodes.c: _SPECIALIZE_LOAD_GLOBAL +
//     _LOAD_GLOBAL (_PyEval_LoadGlobalStackRef -> _PyDict_LoadGlobal: a
//     thread-safe lookup in globals, then builtins, else NameError),
//     _LOAD_GLOBAL_MODULE, _GUARD_GLOBALS_VERSION + _LOAD_GLOBAL_BUILTINS
//     (acquire load of ma_keys, relaxed dk_version guard, relaxed load of the
//     entry's value, deopt on NULL, _Py_TryIncrefCompare, deopt on failure);
//   * Python/specialize.c: _Py_Specialize_LoadGlobal,
//     specialize_load_global_lock_held, specialize(), unspecialize().
//
// Thread-local bytecode (TLBC): CPython gives each thread its own copy of a
// code object's instructions and inline caches, so a LoadGlobalSite is one
// thread's copy of one LOAD_GLOBAL instruction with its cache. It is touched
// only by its thread: plain fields, no Cells. What the threads share is the
// two dicts, hence the critical sections.
//
// The globals and builtins dicts are owned by the program (GlobalsEnv: a
// function's GLOBALS() and BUILTINS()); their interned names and the keys
// version counter come from the DictState they were created with.
//
// _Py_Specialize_LoadGlobal follows GlobalsEnv::variant's global_specialize_lock:
//   kBlocking         Py_BEGIN_CRITICAL_SECTION2(globals, builtins) (CPython today);
//   kTryBegin         the gh-152075 patch: PyCriticalSection2_TryBegin (LockFast
//                     both in address order, release the first if the second
//                     fails; the mutant keeps it), else give up;
//   kIsLockedPrecheck the review alternative: give up if either mutex is
//                     locked, else the blocking CS2;
//   kNone             mutant: no critical section.
// Giving up either unspecializes (exponential backoff) or, with
// ContendedSpecializeCounter::kRetryNext, leaves the counter at zero. Since
// _SPECIALIZE_LOAD_GLOBAL re-dispatches the same instruction after
// specializing (DISPATCH_SAME_OPARG), a counter left at zero triggers again at
// once: the thread retries until the mutexes are free (a spin).
// With keys_version_guard false (mutant) the specialized instructions skip
// every dk_version guard.
//
// The specialized bodies take their reference as CPython main does, with
// _Py_TryIncrefCompareStackRef (stackref.h): a deferred value (a `fresh_fn`
// function, docs/cpython-model.md §19) gives a tagged reference that holds
// no count and is not re-checked against the entry.
// Model gaps: the generic path uses _Py_dict_lookup_threadsafe (with its
// ma_keys re-check and a counted reference) rather than main's
// _Py_dict_lookup_threadsafe_stackref; no instrumentation, so the opcode is
// a plain store.
//
// Thread-safety: a LoadGlobalSite belongs to one logical thread; the dicts
// are shared (dict.h).
// Memory ordering: the specialized bodies load ma_keys with acquire, the
// keys' dk_version and the entry's value relaxed, then _Py_TryIncrefCompare
// re-loads the entry seq_cst (FT_ATOMIC_LOAD_PTR_ACQUIRE /
// FT_ATOMIC_LOAD_UINT32_RELAXED / FT_ATOMIC_LOAD_PTR_RELAXED in
// Python/bytecodes.c). ma_keys is not re-checked after the incref. The
// generic body's orders are those of _Py_dict_lookup_threadsafe (dict.h).

#ifndef FTF_CORE_LOAD_GLOBAL_H_
#define FTF_CORE_LOAD_GLOBAL_H_

#include <cstdint>

#include "core/backoff.h"
#include "core/dict.h"
#include "core/object.h"
#include "core/stackref.h"
#include "core/variant.h"

namespace ftf::core {

struct ThreadState;


// --- the instruction ----------------------------------------------------------

enum class LoadGlobalOpcode : uint8_t { kLoadGlobal, kLoadGlobalModule, kLoadGlobalBuiltin };
const char* LoadGlobalOpcodeName(LoadGlobalOpcode op);

// One thread's copy of a LOAD_GLOBAL instruction and its _PyLoadGlobalCache.
struct LoadGlobalSite {
  Object* name = nullptr;  // co_names[oparg >> 1]: an interned key
  LoadGlobalOpcode opcode = LoadGlobalOpcode::kLoadGlobal;
  uint16_t counter = AdaptiveCounterWarmup();
  uint16_t module_keys_version = 0;
  uint16_t builtin_keys_version = 0;
  uint16_t index = 0;
};

// GLOBALS() and BUILTINS() of the executing frame, and the variant the
// interpreter runs (nullptr = LockedVariant()).
struct GlobalsEnv {
  Dict* globals = nullptr;
  Dict* builtins = nullptr;
  const Variant* variant = nullptr;
  const Variant& v() const { return variant != nullptr ? *variant : LockedVariant(); }
};

enum class SpecializeOutcome : uint8_t {
  kNone,       // no attempt
  kModule,     // specialized to LOAD_GLOBAL_MODULE
  kBuiltin,    // specialized to LOAD_GLOBAL_BUILTIN
  kFailed,     // specialize_load_global_lock_held failed: unspecialize()
  kContended,  // the variant gave up because a mutex was (or would block) taken
};
enum class SpecializeFail : uint8_t {
  kNone,
  kNotFound,           // in neither dict (the index -1 does not fit in u16)
  kIndexOutOfRange,    // SPEC_FAIL_OUT_OF_RANGE: entry index > 0xFFFF
  kOutOfVersions,      // SPEC_FAIL_OUT_OF_VERSIONS: the version counter is exhausted
  kVersionOutOfRange,  // SPEC_FAIL_OUT_OF_RANGE: version > 0xFFFF
};
enum class DeoptReason : uint8_t { kNone, kGlobalsVersion, kBuiltinsVersion, kNullValue, kIncrefFailed };

const char* SpecializeOutcomeName(SpecializeOutcome o);
const char* DeoptReasonName(DeoptReason r);

struct SpecializeResult {
  SpecializeOutcome outcome = SpecializeOutcome::kNone;
  SpecializeFail fail = SpecializeFail::kNone;
};

// What one execution of the instruction did.
struct LoadGlobalResult {
  // The reference the instruction pushes, owned by the caller (close it
  // with StackRefClose): tagged (no count) for a deferred value loaded by a
  // specialized body, else a new reference. NULL = NameError.
  StackRef ref;
  Object* value = nullptr;  // StackRefBorrow(ref); nullptr = NameError
  LoadGlobalOpcode dispatched = LoadGlobalOpcode::kLoadGlobal;  // opcode when the execution began
  bool hit = false;            // answered by LOAD_GLOBAL_MODULE / LOAD_GLOBAL_BUILTIN
  bool from_builtins = false;  // the value came from builtins
  int deopts = 0;              // specialized executions that missed
  DeoptReason deopt = DeoptReason::kNone;  // the last miss's reason
  int specialize_attempts = 0;  // _Py_Specialize_LoadGlobal calls
  SpecializeResult specialize;  // the last attempt's result
  bool name_error() const { return value == nullptr; }
};

// Executes the instruction at `site` once, as the interpreter's dispatch does
// (specialized body, deopt into the generic body, counter, specialization and
// re-dispatch). The caller owns the returned reference.
LoadGlobalResult LoadGlobal(ThreadState& ts, const GlobalsEnv& env, LoadGlobalSite& site);

// The pieces, for tests and other bytecodes:
// _LOAD_GLOBAL: lookup in globals, then builtins; nullptr = NameError.
Object* LoadGlobalGeneric(ThreadState& ts, const GlobalsEnv& env, Object* name, bool* from_builtins = nullptr);
// The specialized bodies; false = deopt (with *why).
bool LoadGlobalModuleBody(ThreadState& ts, const GlobalsEnv& env, const LoadGlobalSite& site, StackRef* out,
                          DeoptReason* why);
bool LoadGlobalBuiltinBody(ThreadState& ts, const GlobalsEnv& env, const LoadGlobalSite& site, StackRef* out,
                           DeoptReason* why);
// _Py_Specialize_LoadGlobal under the runtime's variant.
SpecializeResult SpecializeLoadGlobal(ThreadState& ts, const GlobalsEnv& env, LoadGlobalSite& site);
// specialize_load_global_lock_held (the caller holds both dicts' locks, or
// not, for the unlocked mutant).
SpecializeResult SpecializeLoadGlobalLockHeld(ThreadState& ts, const GlobalsEnv& env, LoadGlobalSite& site);
// specialize() / unspecialize() of Python/specialize.c on a site.
void SpecializeSite(LoadGlobalSite& site, LoadGlobalOpcode op);
void UnspecializeSite(LoadGlobalSite& site);

// --- writers of the program -----------------------------------------------------
// STORE_GLOBAL / DELETE_GLOBAL and the same on builtins (PyDict_SetItem /
// PyDict_Pop under the dict's critical section). Delete returns false if absent.
DictSetResult StoreGlobal(ThreadState& ts, const GlobalsEnv& env, Object* name, Object* value);
bool DeleteGlobal(ThreadState& ts, const GlobalsEnv& env, Object* name);
DictSetResult StoreBuiltin(ThreadState& ts, const GlobalsEnv& env, Object* name, Object* value);
bool DeleteBuiltin(ThreadState& ts, const GlobalsEnv& env, Object* name);
// gh-152075's benchmark's invalidator step: globals()[temp] = value; del globals()[temp].
// Two separate critical sections; each resets the globals keys version.
// Returns the insert's result; *deleted (if given) says whether the delete
// found the key: another thread's popitem or delete may take it in between,
// and then CPython's `del` raises KeyError.
DictSetResult InvalidateGlobals(ThreadState& ts, const GlobalsEnv& env, Object* temp_key, Object* value,
                                bool* deleted = nullptr);

}  // namespace ftf::core

#endif  // FTF_CORE_LOAD_GLOBAL_H_
