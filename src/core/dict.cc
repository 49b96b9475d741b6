// dict.cc - interned names, dict life cycle and mutations (see dict.h).
// Lookups, versions and the SHARED bit are in dict_read.cc.

#include "core/dict.h"

#include <cstdio>
#include <cstdlib>
#include <new>

#include "core/critical_section.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

[[noreturn]] void DictFatal(const char* what) {
  std::fprintf(stderr, "ftfuzz: model fatal error: %s\n", what);
  std::abort();
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// estimate_log2_keysize: room for n entries without a resize.
uint8_t EstimateLog2KeySize(intptr_t n) { return CalculateLog2KeySize((n * 3 + 1) / 2); }

// insert_combined_dict: resize if no entry is usable, then append the entry
// at dk_nentries (index first, then key and value with release stores, then
// the relaxed counters). Returns true if it resized.
bool InsertCombined(ThreadState& ts, Dict* d, uint64_t hash, Object* key, Object* value) {
  bool resized = false;
  DictKeys* keys = d->ma_keys.LoadPlain();
  if (keys->dk_usable.LoadPlain() <= 0) {
    // insertion_resize: GROWTH_RATE = ma_used * 3.
    DictResizeLockHeld(ts, d, CalculateLog2KeySize(d->ma_used.LoadPlain() * 3));
    resized = true;
    keys = d->ma_keys.LoadPlain();
  }
  intptr_t hashpos = KeysFindEmptySlot(keys, hash);
  intptr_t n = keys->dk_nentries.LoadPlain();
  SetIndex(keys, hashpos, n);
  DictUnicodeEntry& ep = keys->entries()[n];
  ep.me_key.StoreRelease(key);
  ep.me_value.StoreRelease(value);
  keys->dk_usable.StoreRelaxed(keys->dk_usable.LoadPlain() - 1);
  keys->dk_nentries.StoreRelaxed(n + 1);
  return resized;
}

// delitem_common for a combined table.
void DelItemCommon(ThreadState& ts, Dict* d, uint64_t hash, intptr_t ix, Object* old_value) {
  DictKeys* keys = d->ma_keys.LoadPlain();
  intptr_t hashpos = KeysLookdictIndex(keys, hash, ix);
  if (hashpos < 0) DictFatal("delitem: entry not found in the indices");
  d->ma_used.StoreRelaxed(d->ma_used.LoadPlain() - 1);
  keys->dk_version.StoreRelaxed(0);
  SetIndex(keys, hashpos, kDkixDummy);
  DictUnicodeEntry& ep = keys->entries()[ix];
  Object* old_key = ep.me_key.LoadPlain();
  ep.me_key.StoreRelease(nullptr);
  ep.me_value.StoreRelease(nullptr);
  Decref(ts, old_key);
  Decref(ts, old_value);
}

}  // namespace

// --- DictState ---------------------------------------------------------------

Object* DictState::Intern(Runtime& rt, std::string_view text) { return InternWithHash(rt, text, Fnv1a(text)); }

Object* DictState::InternWithHash(Runtime& rt, std::string_view text, uint64_t hash) {
  auto it = by_text_.find(std::string(text));
  if (it != by_text_.end()) return it->second;
  Object* key = NewStaticObject(rt, 0);
  by_text_.emplace(std::string(text), key);
  by_key_.emplace(key, Name{std::string(text), hash});
  return key;
}

uint64_t DictState::HashOf(const Object* key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) DictFatal("a dict key that is not an interned name");
  return it->second.hash;
}

const std::string* DictState::TextOf(const Object* key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &it->second.text;
}

void DictState::Reset() {
  by_text_.clear();
  by_key_.clear();
  next_keys_version.Init(kFirstKeysVersion);
}

// --- life cycle --------------------------------------------------------------

Dict* DictNew(ThreadState& ts, DictState& state, intptr_t presize) {
  uint8_t log2 = presize <= UsableFraction(intptr_t{1} << kDictLog2MinSize) ? kDictLog2MinSize
                                                                              : EstimateLog2KeySize(presize);
  auto* d = new Dict();
  d->state = &state;
  d->ob = NewObject(ts, 0);
  d->ma_keys.Init(NewKeys(ts, log2));
  d->ma_used.Init(0);
  return d;
}

void DictFree(ThreadState& ts, Dict* d) {
  DictKeys* keys = d->ma_keys.LoadPlain();
  intptr_t n = keys->dk_nentries.LoadPlain();
  DictUnicodeEntry* ep = keys->entries();
  for (intptr_t i = 0; i < n; ++i) {
    XDecref(ts, ep[i].me_key.LoadPlain());
    XDecref(ts, ep[i].me_value.LoadPlain());
  }
  FreeKeys(ts, keys, /*use_qsbr=*/false);
  Decref(ts, d->ob);
  delete d;
}

void DictDiscard(Dict* d) { delete d; }

// --- mutations ------------------------------------------------------------

// insertdict: the references to key and value that PyDict_SetItem takes
// (Py_NewRef) are consumed here.
DictSetResult DictSetItemLockHeld(ThreadState& ts, Dict* d, Object* key, Object* value) {
  uint64_t hash = d->state->HashOf(key);
  Incref(ts, key);
  Incref(ts, value);
  Object* old_value = nullptr;
  intptr_t ix = DictLookupLockHeld(ts, d, key, hash, &old_value);
  DictSetResult r;
  if (ix == kDkixEmpty) {
    // A new key: the version goes first (on the keys in place before any resize).
    d->ma_keys.LoadPlain()->dk_version.StoreRelaxed(0);
    r.inserted = true;
    r.resized = InsertCombined(ts, d, hash, key, value);
    d->ma_used.StoreRelaxed(d->ma_used.LoadPlain() + 1);
    return r;
  }
  if (old_value != value) {
    // Overwrite: the version is kept; the old value is released at once.
    d->ma_keys.LoadPlain()->entries()[ix].me_value.StoreRelease(value);
  }
  XDecref(ts, old_value);
  Decref(ts, key);
  return r;
}

bool DictDelItemLockHeld(ThreadState& ts, Dict* d, Object* key) {
  uint64_t hash = d->state->HashOf(key);
  Object* old_value = nullptr;
  intptr_t ix = DictLookupLockHeld(ts, d, key, hash, &old_value);
  if (ix == kDkixEmpty || old_value == nullptr) return false;
  DelItemCommon(ts, d, hash, ix, old_value);
  return true;
}

// dict_popitem_impl for a combined table.
DictPopResult DictPopItemLockHeld(ThreadState& ts, Dict* d) {
  DictPopResult r;
  intptr_t used = d->ma_used.LoadPlain();
  if (used == 0) return r;
  DictKeys* keys = d->ma_keys.LoadPlain();
  keys->dk_version.StoreRelaxed(0);
  DictUnicodeEntry* ep0 = keys->entries();
  intptr_t i = keys->dk_nentries.LoadPlain() - 1;
  while (i >= 0 && ep0[i].me_value.LoadPlain() == nullptr) --i;
  if (i < 0) DictFatal("popitem: ma_used > 0 but no live entry");
  r.key = ep0[i].me_key.LoadPlain();
  uint64_t hash = d->state->HashOf(r.key);
  r.value = ep0[i].me_value.LoadPlain();
  ep0[i].me_key.StoreRelease(nullptr);
  ep0[i].me_value.StoreRelease(nullptr);
  intptr_t j = KeysLookdictIndex(keys, hash, i);
  if (j < 0) DictFatal("popitem: entry not found in the indices");
  SetIndex(keys, j, kDkixDummy);
  // dk_usable stays: the DUMMY index slot is not reusable. The entry is.
  keys->dk_nentries.StoreRelaxed(i);
  d->ma_used.StoreRelaxed(used - 1);
  return r;
}

void DictResizeLockHeld(ThreadState& ts, Dict* d, uint8_t log2_newsize) {
  DictKeys* oldkeys = d->ma_keys.LoadPlain();
  // ensure_shared_on_resize: a non-owner resizing makes the dict SHARED.
  if (!IsOwnedByCurrentThread(ts, d->ob) && !DictIsShared(d)) DictSetShared(d);
  DictKeys* newkeys = NewKeys(ts, log2_newsize);
  intptr_t numentries = d->ma_used.LoadPlain();
  if (UsableFraction(newkeys->size()) < numentries) DictFatal("dictresize: new table too small");
  // Move the live entries, in order, into the private new table (memcpy or
  // the NULL-skipping loop in CPython: plain copies, value ownership moves
  // without refcount changes). The old entries keep their pointers.
  const DictUnicodeEntry* oldep = oldkeys->entries();
  DictUnicodeEntry* newep = newkeys->entries();
  intptr_t old_n = oldkeys->dk_nentries.LoadPlain();
  intptr_t j = 0;
  for (intptr_t i = 0; i < old_n && j < numentries; ++i) {
    Object* value = oldep[i].me_value.LoadPlain();
    if (value == nullptr) continue;
    new (&newep[j].me_key) Cell<Object*>(oldep[i].me_key.LoadPlain());
    new (&newep[j].me_value) Cell<Object*>(value);
    ++j;
  }
  if (j != numentries) DictFatal("dictresize: fewer live entries than ma_used");
  KeysBuildIndices(newkeys, *d->state, numentries);
  d->ma_keys.StoreRelease(newkeys);  // set_keys
  // free_keys_object(oldkeys, IS_DICT_SHARED(mp)): an unshared dict has had
  // no lock-free reader but its owner (ensure_shared_on_read), so its keys
  // can go at once; a SHARED one's wait for QSBR (docs/cpython-model.md §18).
  const bool use_qsbr =
      ts.rt->faults.dict_resize_tests_owner ? !IsOwnedByCurrentThread(ts, d->ob) : DictIsShared(d);
  FreeKeys(ts, oldkeys, use_qsbr);
  // As CPython, the counters of the new table are stored after publication.
  newkeys->dk_usable.StoreRelaxed(newkeys->dk_usable.LoadPlain() - numentries);
  newkeys->dk_nentries.StoreRelaxed(numentries);
}

DictSetResult DictSetItem(ThreadState& ts, Dict* d, Object* key, Object* value) {
  CriticalSection cs;
  CriticalSectionBegin(ts, &cs, &d->ob->ob_mutex);
  DictSetResult r = DictSetItemLockHeld(ts, d, key, value);
  CriticalSectionEnd(ts, &cs);
  return r;
}

bool DictDelItem(ThreadState& ts, Dict* d, Object* key) {
  CriticalSection cs;
  CriticalSectionBegin(ts, &cs, &d->ob->ob_mutex);
  bool r = DictDelItemLockHeld(ts, d, key);
  CriticalSectionEnd(ts, &cs);
  return r;
}

DictPopResult DictPopItem(ThreadState& ts, Dict* d) {
  CriticalSection cs;
  CriticalSectionBegin(ts, &cs, &d->ob->ob_mutex);
  DictPopResult r = DictPopItemLockHeld(ts, d);
  CriticalSectionEnd(ts, &cs);
  return r;
}

bool DictSetDefaultRef(ThreadState& ts, Dict* d, Object* key, Object* default_value, Object** result,
                       DictInsertNote before_insert, void* ctx) {
  CriticalSection cs;
  CriticalSectionBegin(ts, &cs, &d->ob->ob_mutex);
  Object* existing = nullptr;
  DictLookupLockHeld(ts, d, key, d->state->HashOf(key), &existing);
  const bool present = existing != nullptr;
  if (!present) {
    if (before_insert != nullptr) before_insert(ctx);
    // The insert goes through PyDict_SetItem's path, which probes once more:
    // harmless under the lock (the table cannot change in between).
    DictSetItemLockHeld(ts, d, key, default_value);
  }
  if (result != nullptr) {
    *result = present ? existing : default_value;
    Incref(ts, *result);
  }
  CriticalSectionEnd(ts, &cs);
  return present;
}

}  // namespace ftf::core
