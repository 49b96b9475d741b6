// dict_keys.h - the keys object of a combined, string-keyed dict.
// What CPython does here: docs/cpython-model.md §14.
//
// Models PyDictKeysObject of the free-threaded build for the case LOAD_GLOBAL
// uses: a combined table with unicode keys (DICT_KEYS_UNICODE, entries
// {me_key, me_value}) (Include/internal/pycore_dict.h, Objects/dictobject.c:
// new_keys_object, free_keys_object, dictkeys_get_index / dictkeys_set_index,
// do_lookup + compare_unicode_unicode(_threadsafe), lookdict_index,
// find_empty_slot, build_indices_unicode).
//
// A keys object is one raw block (heap.h AllocRaw, PyMem_Malloc in CPython),
// never an Object:
//
//   [DictKeys header][dk_indices: 2^log2_index_bytes bytes][entries: USABLE_FRACTION(size)]
//
// Index width follows dk_log2_size exactly as CPython: int8 below 2^8 slots,
// int16 below 2^16, int32 below 2^32, int64 beyond. An index holds an entry
// number, kDkixEmpty (-1, never used) or kDkixDummy (-2, deleted). The
// free-threaded build never reuses a dummy index slot (is_unusable_slot), so
// lock-free probes always end at an empty slot; entries are append-only
// except for popitem, which moves dk_nentries back (dict.h).
//
// Not modelled: dk_refcnt (a combined table's keys are owned by exactly one
// dict, refcount 1), dk_mutex (protects split keys only), split and general
// (non-string) tables, the keys freelist, and the shared immortal
// Py_EMPTY_KEYS (new dicts get a real minimum-size table).
//
// Keys (names) are interned strings, which CPython makes immortal: they are
// static immortal Objects, created and hashed by DictState (dict.h); this
// file only needs their hashes, passed in by the caller or obtained through a
// KeyHasher.
//
// Thread-safety: a keys object is written only under its dict's critical
// section (dict.h). Lock-free readers load indices, keys and values with the
// orders below; they may hold a stale keys object, which stays readable
// because a dict that can have lock-free readers is SHARED and retires old
// keys through QSBR.
// Memory ordering: as CPython: indices relaxed (LOAD_INDEX / STORE_INDEX);
// me_key / me_value stores release (STORE_KEY / STORE_VALUE); dk_version,
// dk_usable, dk_nentries relaxed; the lock-held lookup reads me_key plainly,
// the thread-safe one relaxed. The immutable fields (log2 sizes, kind) are
// plain fields written before the keys object is published by a release
// store of ma_keys.

#ifndef FTF_CORE_DICT_KEYS_H_
#define FTF_CORE_DICT_KEYS_H_

#include <cstddef>
#include <cstdint>

#include "core/atomics.h"
#include "core/object.h"

namespace ftf::core {

struct ThreadState;

// Index values and lookup results (DKIX_* in pycore_dict.h).
inline constexpr intptr_t kDkixEmpty = -1;
inline constexpr intptr_t kDkixDummy = -2;
inline constexpr intptr_t kDkixError = -3;
inline constexpr intptr_t kDkixKeyChanged = -4;

inline constexpr uint8_t kDictLog2MinSize = 3;  // PyDict_LOG_MINSIZE
inline constexpr uint8_t kDictKeysUnicode = 1;  // DICT_KEYS_UNICODE

// PERTURB_SHIFT of the probe recurrence.
inline constexpr int kPerturbShift = 5;

// USABLE_FRACTION(n): 2/3 of the slots may hold entries.
constexpr intptr_t UsableFraction(intptr_t n) { return (n << 1) / 3; }

// calculate_log2_keysize (64-bit form): at least 3.
uint8_t CalculateLog2KeySize(intptr_t minsize);

// One entry of a unicode table (PyDictUnicodeEntry).
struct DictUnicodeEntry {
  Cell<Object*> me_key;
  Cell<Object*> me_value;
};

// The header of a keys object (PyDictKeysObject without dk_refcnt/dk_mutex).
struct DictKeys {
  uint8_t dk_log2_size = 0;         // immutable after NewKeys
  uint8_t dk_log2_index_bytes = 0;  // immutable after NewKeys
  uint8_t dk_kind = kDictKeysUnicode;
  Cell<uint32_t> dk_version;        // 0 = no version
  Cell<intptr_t> dk_usable;         // entries that may still be appended
  Cell<intptr_t> dk_nentries;       // entries used so far (including deleted ones)

  intptr_t size() const { return intptr_t{1} << dk_log2_size; }  // DK_SIZE
  intptr_t mask() const { return size() - 1; }                    // DK_MASK
  // dk_indices, typed by the caller through GetIndex/SetIndex.
  unsigned char* indices() { return reinterpret_cast<unsigned char*>(this + 1); }
  const unsigned char* indices() const { return reinterpret_cast<const unsigned char*>(this + 1); }
  // DK_UNICODE_ENTRIES: USABLE_FRACTION(size()) entries after the indices.
  DictUnicodeEntry* entries() {
    return reinterpret_cast<DictUnicodeEntry*>(indices() + (size_t{1} << dk_log2_index_bytes));
  }
  const DictUnicodeEntry* entries() const {
    return reinterpret_cast<const DictUnicodeEntry*>(indices() + (size_t{1} << dk_log2_index_bytes));
  }
};
static_assert(sizeof(DictKeys) % 8 == 0, "indices start 8-aligned");

// Bytes of a keys object of 2^log2_size slots (_PyDict_KeysSize).
size_t DictKeysBytes(uint8_t log2_size);

// new_keys_object: a raw block from ts's heap, every index EMPTY, every entry
// NULL, version 0, usable = USABLE_FRACTION(size), nentries 0. Initialised
// with Cell::Init (no scheduling points): nobody can see it before the
// release store of ma_keys.
DictKeys* NewKeys(ThreadState& ts, uint8_t log2_size);
// free_keys_object: through QSBR (FreeDelayed) when `use_qsbr`, else at once.
// Does not touch the keys and values the entries refer to.
void FreeKeys(ThreadState& ts, DictKeys* keys, bool use_qsbr);

// dictkeys_get_index: relaxed load of index slot i (LOAD_INDEX).
intptr_t GetIndex(const DictKeys* keys, intptr_t i, Loc loc = Loc::Here());
// dictkeys_set_index: relaxed store (STORE_INDEX). As CPython asserts, only
// while dk_version is 0; a violation is a model fatal error.
void SetIndex(DictKeys* keys, intptr_t i, intptr_t ix, Loc loc = Loc::Here());

// Hashes of interned keys (DictState implements it; the value is what
// unicode_get_hash would read from the str object).
class KeyHasher {
 public:
  virtual ~KeyHasher() = default;
  virtual uint64_t HashOf(const Object* key) const = 0;
};

// unicodekeys_lookup_unicode: the lookup used under the dict's lock
// (_PyDictKeys_StringLookup / _Py_dict_lookup). Plain loads of me_key, as
// CPython's compare_unicode_unicode. Returns an entry index or kDkixEmpty.
intptr_t KeysLookupLockHeld(ThreadState& ts, const DictKeys* keys, const KeyHasher& h, const Object* key, uint64_t hash);

// unicodekeys_lookup_unicode_threadsafe: relaxed loads of me_key; a key that
// is not immortal is compared only after TryIncrefCompare on the entry
// (kDkixKeyChanged if that fails). Returns an index, kDkixEmpty or kDkixKeyChanged.
intptr_t KeysLookupThreadsafe(ThreadState& ts, const DictKeys* keys, const KeyHasher& h, const Object* key,
                              uint64_t hash);

// lookdict_index: the index slot that holds entry `ix` (under the lock).
intptr_t KeysLookdictIndex(const DictKeys* keys, uint64_t hash, intptr_t ix);
// find_empty_slot: the first EMPTY index slot on hash's probe sequence. In
// the free-threaded build DUMMY slots are skipped too (is_unusable_slot).
intptr_t KeysFindEmptySlot(const DictKeys* keys, uint64_t hash);
// build_indices_unicode: index entries [0, n) of a fresh keys object.
void KeysBuildIndices(DictKeys* keys, const KeyHasher& h, intptr_t n);

// Model-only helpers for tests and reports (Peek: no scheduling point).
intptr_t PeekIndex(const DictKeys* keys, intptr_t i);

}  // namespace ftf::core

#endif  // FTF_CORE_DICT_KEYS_H_
