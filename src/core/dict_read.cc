// dict_read.cc - dict lookups, keys versions and the SHARED bit (see dict.h).

#include "core/critical_section.h"
#include "core/dict.h"
#include "core/refcount.h"
#include "core/thread_state.h"

namespace ftf::core {

// --- SHARED ------------------------------------------------------------------

bool DictIsShared(const Dict* d) { return (d->ob->ob_gc_bits.LoadRelaxed() & kGcBitsShared) != 0; }

void DictSetShared(Dict* d) {
  // _PyObject_SET_GC_BITS: relaxed load, relaxed store (not an atomic OR).
  uint8_t bits = d->ob->ob_gc_bits.LoadRelaxed();
  d->ob->ob_gc_bits.StoreRelaxed(static_cast<uint8_t>(bits | kGcBitsShared));
}

void DictEnsureSharedOnRead(ThreadState& ts, Dict* d) {
  if (!IsOwnedByCurrentThread(ts, d->ob) && !DictIsShared(d)) {
    CriticalSection cs;
    CriticalSectionBegin(ts, &cs, &d->ob->ob_mutex);
    if (!DictIsShared(d)) DictSetShared(d);
    CriticalSectionEnd(ts, &cs);
  }
}

// --- lookups -------------------------------------------------------------------

intptr_t DictLookupLockHeld(ThreadState& ts, Dict* d, const Object* key, uint64_t hash, Object** value) {
  // The caller holds the dict's lock: plain loads of the table.
  DictKeys* dk = d->ma_keys.LoadPlain();
  intptr_t ix = KeysLookupLockHeld(ts, dk, *d->state, key, hash);
  *value = ix >= 0 ? dk->entries()[ix].me_value.LoadPlain() : nullptr;
  return ix;
}

DictLookupResult DictLookupThreadsafe(ThreadState& ts, Dict* d, Object* key, bool recheck_key) {
  uint64_t hash = d->state->HashOf(key);
  DictLookupResult r;
  DictEnsureSharedOnRead(ts, d);

  DictKeys* dk = d->ma_keys.LoadSeqCst();
  intptr_t ix = KeysLookupThreadsafe(ts, dk, *d->state, key, hash);
  if (ix != kDkixKeyChanged) {
    if (ix < 0) {
      r.ix = ix;
      return r;
    }
    Object* value = TryXGetRef(ts, dk->entries()[ix].me_value);
    if (value != nullptr) {
      if (dk == d->ma_keys.LoadSeqCst() && (!recheck_key || dk->entries()[ix].me_key.LoadAcquire() == key)) {
        r.ix = ix;
        r.value = value;
        return r;
      }
      Decref(ts, value);
    }
  }

  // read_failed: the dict changed under us, or the value could not be
  // increfed lock-free (e.g. its shared count is 0 and we are not its owner).
  // Under the lock, _Py_NewRefWithLock also sets MAYBE_WEAKREF so that later
  // lock-free reads of this value succeed (gh-124642).
  r.fell_back = true;
  CriticalSection cs;
  CriticalSectionBegin(ts, &cs, &d->ob->ob_mutex);
  Object* value = nullptr;
  r.ix = DictLookupLockHeld(ts, d, key, hash, &value);
  r.value = XNewRefWithLock(ts, value);
  CriticalSectionEnd(ts, &cs);
  return r;
}

// --- keys versions -----------------------------------------------------------

uint32_t NextKeysVersion(DictState& state) {
  uint32_t v = 0;
  do {
    v = state.next_keys_version.LoadRelaxed();
    if (v == 0) return 0;  // wrapped: out of versions for good
  } while (!state.next_keys_version.CompareExchangeSeqCst(v, v + 1));
  return v;
}

uint32_t KeysGetVersionForCurrentState(DictState& state, DictKeys* keys) {
  uint32_t v = keys->dk_version.LoadRelaxed();
  if (v != 0) return v;
  v = NextKeysVersion(state);
  keys->dk_version.StoreRelaxed(v);
  return v;
}

uint32_t DictGetKeysVersionForCurrentState(ThreadState& ts, Dict* d) {
  (void)ts;
  uint32_t v = KeysGetVersionForCurrentState(*d->state, d->ma_keys.LoadPlain());
  // ensure_shared_on_keys_version_assignment: specialized code will read
  // these keys without the lock, so replaced keys must go through QSBR.
  if (!DictIsShared(d)) DictSetShared(d);
  return v;
}

// --- introspection -------------------------------------------------------------

DictKeys* DictPeekKeys(const Dict* d) { return d->ma_keys.Peek(); }
uint32_t DictPeekVersion(const Dict* d) { return d->ma_keys.Peek()->dk_version.Peek(); }
intptr_t DictPeekUsed(const Dict* d) { return d->ma_used.Peek(); }
bool DictPeekShared(const Dict* d) { return (d->ob->ob_gc_bits.Peek() & kGcBitsShared) != 0; }

std::vector<DictPeekedEntry> DictPeekEntries(const Dict* d) {
  std::vector<DictPeekedEntry> out;
  const DictKeys* dk = d->ma_keys.Peek();
  const DictUnicodeEntry* ep = dk->entries();
  intptr_t n = dk->dk_nentries.Peek();
  for (intptr_t i = 0; i < n; ++i) {
    Object* v = ep[i].me_value.Peek();
    if (v != nullptr) out.push_back(DictPeekedEntry{i, ep[i].me_key.Peek(), v});
  }
  return out;
}

intptr_t DictPeekIndexOf(const Dict* d, const Object* key, Object** value) {
  const DictKeys* dk = d->ma_keys.Peek();
  const DictUnicodeEntry* ep = dk->entries();
  intptr_t n = dk->dk_nentries.Peek();
  for (intptr_t i = 0; i < n; ++i) {
    if (ep[i].me_key.Peek() == key) {
      if (value != nullptr) *value = ep[i].me_value.Peek();
      return i;
    }
  }
  if (value != nullptr) *value = nullptr;
  return kDkixEmpty;
}

}  // namespace ftf::core
