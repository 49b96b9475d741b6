// dict.h - dicts with string keys, as LOAD_GLOBAL uses them.
// What CPython does here: docs/cpython-model.md §14.
//
// Models the free-threaded PyDictObject for combined unicode tables
// (Objects/dictobject.c, Include/internal/pycore_dict.h):
//   * mutations, all under the dict's critical section: insertdict /
//     insert_combined_dict (PyDict_SetItem), delitem_common (PyDict_DelItem),
//     dict_popitem_impl, dictresize + insertion_resize;
//   * reads: _Py_dict_lookup (lock held) and _Py_dict_lookup_threadsafe
//     (lock-free, falling back to the critical section);
//   * keys versions: get_next_dict_keys_version,
//     _PyDictKeys_GetVersionForCurrentState, _PyDict_GetKeysVersionForCurrentState;
//   * the SHARED bit: ensure_shared_on_read, ensure_shared_on_resize,
//     ensure_shared_on_keys_version_assignment (IS_DICT_SHARED / SET_DICT_SHARED).
//
// A Dict is a model struct whose `ob` is a real heap Object (0 slots): its
// ob_mutex is the dict's critical-section mutex, its ob_tid the owner that
// ensure_shared_on_read compares with, its ob_gc_bits hold _PyGC_BITS_SHARED.
// The Dict holds the one reference to `ob`. The dict-specific fields
// (ma_keys, ma_used) live in the struct next to it. ma_values is always NULL
// (no split tables) and ma_version_tag / dict watchers are not modelled.
//
// Keys are interned strings: static immortal Objects made by
// DictState::Intern (CPython interns identifier names and makes interned
// strings immortal). Two different key objects are two different strings.
// Values are ordinary Objects; the dict holds one reference to each value.
//
// DictState is interpreter-wide state (interp->dict_state.next_keys_version,
// plus the table of interned names). It belongs in Runtime; until Runtime
// has it, the program owns one DictState per Runtime and passes it to DictNew.
//
// Versions: dk_version 0 means "none". A version is taken from
// next_keys_version (starts at 2, CAS loop, 0 once wrapped = exhausted) and
// stored relaxed. It is reset to 0 (relaxed, under the lock) when a key is
// inserted (before any resize) or deleted, and by popitem; overwriting the
// value of an existing key keeps it. Resized keys start at version 0.
//
// INV-DICT-1: every mutation holds the dict's critical section.
// INV-DICT-2: a dict whose keys got a version, or that a non-owner read or
//             resized, is SHARED; a SHARED dict frees replaced keys with
//             FreeDelayed (QSBR), so lock-free readers holding them stay safe.
// INV-DICT-3: an entry's value is non-NULL iff it holds a reference owned by
//             the dict.
//
// Thread-safety: mutations take the critical section of `ob`; reads are
// lock-free with a locked fallback. DictState::Intern is set-up only.
// Memory ordering: ma_keys is published with a release store (set_keys) and
// loaded seq_cst by _Py_dict_lookup_threadsafe (_Py_atomic_load_ptr); entry
// keys and values are release stores; indices, versions, dk_usable,
// dk_nentries and ma_used are relaxed stores. Under the lock, CPython reads
// its own fields with plain loads, and so does the model (so TSan sees any
// reader that skips the lock).

#ifndef FTF_CORE_DICT_H_
#define FTF_CORE_DICT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/atomics.h"
#include "core/dict_keys.h"
#include "core/object.h"

namespace ftf::core {

struct ThreadState;
class Runtime;

inline constexpr uint32_t kFirstKeysVersion = 2;  // DICT_KEYS_VERSION start value

// Interpreter-wide dict state: the keys-version counter and interned names.
class DictState : public KeyHasher {
 public:
  DictState() = default;
  DictState(const DictState&) = delete;
  DictState& operator=(const DictState&) = delete;

  // interp->dict_state.next_keys_version.
  Cell<uint32_t> next_keys_version{kFirstKeysVersion};

  // The interned, immortal key object for `text` (made on first use with
  // NewStaticObject: set-up only, while no logical thread runs). The hash is
  // FNV-1a of the text unless `hash` is given (tests force collisions).
  Object* Intern(Runtime& rt, std::string_view text);
  Object* InternWithHash(Runtime& rt, std::string_view text, uint64_t hash);

  // unicode_get_hash of an interned key. Aborts for an object that is not one.
  uint64_t HashOf(const Object* key) const override;
  // The text of an interned key, or nullptr.
  const std::string* TextOf(const Object* key) const;

  // Forgets every name and restarts the version counter (after
  // Runtime::Reset freed the static key objects).
  void Reset();

 private:
  struct Name {
    std::string text;
    uint64_t hash;
  };
  std::unordered_map<std::string, Object*> by_text_;
  std::unordered_map<const Object*, Name> by_key_;
};

struct Dict {
  Object* ob = nullptr;      // the dict object's header (mutex, owner, gc bits)
  Cell<DictKeys*> ma_keys;   // never NULL
  Cell<intptr_t> ma_used;    // live entries
  DictState* state = nullptr;
};

// --- life cycle --------------------------------------------------------------

// A new empty dict owned by `ts`, with keys for at least `presize` entries
// (dict_new_presized; a minimum-size table when presize <= 5).
Dict* DictNew(ThreadState& ts, DictState& state, intptr_t presize = 0);
// dict_dealloc: decrefs every key and value, frees the keys at once (no other
// thread may use the dict any more), drops the reference to `ob`, deletes `d`.
void DictFree(ThreadState& ts, Dict* d);
// Deletes only the model struct, touching no modelled memory: for a run
// that was abandoned (e.g. after a DEADLOCK finding) once Runtime::Reset has
// freed the heaps, the raw blocks and the objects.
void DictDiscard(Dict* d);

// --- mutations (each takes the dict's critical section) -------------------

struct DictSetResult {
  bool inserted = false;  // a new key (else the value of an existing key was replaced)
  bool resized = false;   // the insert replaced the keys object
};
// PyDict_SetItem: `key` (interned) and `value` are borrowed; the dict takes
// its own references. Overwriting release-stores the new value, then decrefs
// the old one at once (still inside the critical section).
DictSetResult DictSetItem(ThreadState& ts, Dict* d, Object* key, Object* value);
// PyDict_DelItem: false if the key is absent (KeyError).
bool DictDelItem(ThreadState& ts, Dict* d, Object* key);
// dict.popitem(): removes the last live entry and moves dk_nentries back to
// it, so the next insert reuses that entry number. The references to the key
// and value pass to the caller. {nullptr, nullptr} when the dict is empty.
struct DictPopResult {
  Object* key = nullptr;
  Object* value = nullptr;
};
DictPopResult DictPopItem(ThreadState& ts, Dict* d);

// dict.setdefault(key, default) and PyDict_SetDefaultRef, as
// dict_setdefault_ref_lock_held does it inside the dict's critical section:
// if `key` is present nothing changes; otherwise `default_value` is inserted
// as DictSetItem would (new key: version reset, possible resize). Returns
// true if the key was present. `result` (may be nullptr, as CPython allows)
// receives a new reference to the value now in the dict. `before_insert`
// (may be nullptr) is called with `ctx` under the lock just before a missing
// key is inserted: the harness notes there where the value may now be found.
using DictInsertNote = void (*)(void* ctx);
bool DictSetDefaultRef(ThreadState& ts, Dict* d, Object* key, Object* default_value, Object** result = nullptr,
                       DictInsertNote before_insert = nullptr, void* ctx = nullptr);

// The same, for callers that already hold the dict's critical section.
DictSetResult DictSetItemLockHeld(ThreadState& ts, Dict* d, Object* key, Object* value);
bool DictDelItemLockHeld(ThreadState& ts, Dict* d, Object* key);
DictPopResult DictPopItemLockHeld(ThreadState& ts, Dict* d);
// dictresize to 2^log2_newsize slots (lock held). The new keys get version 0;
// the old ones are freed through QSBR if the dict is SHARED, else at once.
void DictResizeLockHeld(ThreadState& ts, Dict* d, uint8_t log2_newsize);

// --- reads -------------------------------------------------------------------

// _Py_dict_lookup (lock held): an entry index or kDkixEmpty, and the value
// (borrowed; NULL if absent).
intptr_t DictLookupLockHeld(ThreadState& ts, Dict* d, const Object* key, uint64_t hash, Object** value);

// _Py_dict_lookup_threadsafe: ensure_shared_on_read, then a lock-free lookup
// in ma_keys (seq_cst load), _Py_TryXGetRef on the value and a re-check that
// ma_keys did not change; on any failure, the critical section, a locked
// re-lookup and _Py_NewRefWithLock. `value` is a new reference or NULL.
struct DictLookupResult {
  intptr_t ix = kDkixEmpty;
  Object* value = nullptr;  // new reference, or nullptr if the key is absent
  bool fell_back = false;   // the lock-free attempt failed: the locked path answered
};
// recheck_key (Variant::recheck_after_value_load, locked_popitem_fixed): after
// the lock-free value load, re-read the entry's key and fall back to the lock
// if it is no longer `key` (popitem + insert reuse entries of a live keys
// object; findings/20261122-load-global-module-popitem-entry-reuse.md).
DictLookupResult DictLookupThreadsafe(ThreadState& ts, Dict* d, Object* key, bool recheck_key = false);

// --- keys versions and the SHARED bit -----------------------------------

// get_next_dict_keys_version: a CAS loop on next_keys_version; 0 once exhausted.
uint32_t NextKeysVersion(DictState& state);
// _PyDictKeys_GetVersionForCurrentState: the keys' version, assigning a fresh
// one (relaxed store) if it has none. 0 = out of versions.
uint32_t KeysGetVersionForCurrentState(DictState& state, DictKeys* keys);
// _PyDict_GetKeysVersionForCurrentState: the same on d's current keys
// (lock held), and the dict becomes SHARED.
uint32_t DictGetKeysVersionForCurrentState(ThreadState& ts, Dict* d);

// IS_DICT_SHARED (relaxed load of ob_gc_bits) / SET_DICT_SHARED (relaxed
// load + relaxed store: a plain read-modify-write, as CPython's).
bool DictIsShared(const Dict* d);
void DictSetShared(Dict* d);
// ensure_shared_on_read: a non-owner marks the dict SHARED under its
// critical section the first time it reads it.
void DictEnsureSharedOnRead(ThreadState& ts, Dict* d);

// --- model-only introspection (Peek: no scheduling point) -----------------
DictKeys* DictPeekKeys(const Dict* d);
uint32_t DictPeekVersion(const Dict* d);
intptr_t DictPeekUsed(const Dict* d);
bool DictPeekShared(const Dict* d);
// The entry index of `key` in the current keys, or kDkixEmpty; and its value (borrowed).
intptr_t DictPeekIndexOf(const Dict* d, const Object* key, Object** value = nullptr);
// The references the dict holds: every live entry of the current keys, in
// order (for auditors). Retired keys objects still point at old values but
// hold no references.
struct DictPeekedEntry {
  intptr_t ix;
  Object* key;
  Object* value;
};
std::vector<DictPeekedEntry> DictPeekEntries(const Dict* d);

}  // namespace ftf::core

#endif  // FTF_CORE_DICT_H_
