// dict_keys.cc - the keys object of a combined unicode dict (see dict_keys.h).

#include "core/dict_keys.h"

#include <cstdio>
#include <cstdlib>
#include <new>

#include "core/heap.h"
#include "core/observer.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {
[[noreturn]] void KeysFatal(const char* what, const DictKeys* keys) {
  std::fprintf(stderr, "ftfuzz: model fatal error: %s (keys object %p)\n", what, static_cast<const void*>(keys));
  std::abort();
}

// The byte width of dk_indices for a table of 2^log2_size slots, as log2.
uint8_t Log2IndexBytes(uint8_t log2_size) {
  if (log2_size < 8) return log2_size;
  if (log2_size < 16) return static_cast<uint8_t>(log2_size + 1);
  if (log2_size >= 32) return static_cast<uint8_t>(log2_size + 3);
  return static_cast<uint8_t>(log2_size + 2);
}

template <typename T>
Cell<T>* IndexCells(DictKeys* keys) {
  return reinterpret_cast<Cell<T>*>(keys->indices());
}
template <typename T>
const Cell<T>* IndexCells(const DictKeys* keys) {
  return reinterpret_cast<const Cell<T>*>(keys->indices());
}

// The probe sequence of do_lookup / lookdict_index / find_empty_slot. A table
// always keeps an EMPTY slot (dummies are never reused and dk_usable < size),
// so a probe ends within size + 64 steps (perturb is 0 after 13 shifts, then
// i*5+1 visits every slot). More than that means the model read a table that
// is not a keys object any more: stop loudly rather than hang.
struct Probe {
  Probe(const DictKeys* keys, uint64_t hash)
      : mask(static_cast<uint64_t>(keys->mask())), perturb(hash), i(hash & mask), budget(keys->size() + 64) {}
  void Next(const DictKeys* keys) {
    perturb >>= kPerturbShift;
    i = mask & (i * 5 + perturb + 1);
    if (--budget < 0) KeysFatal("a dict probe found no EMPTY slot (corrupted or reused keys object)", keys);
  }
  uint64_t mask;
  uint64_t perturb;
  uint64_t i;
  intptr_t budget;
};

}  // namespace

// The bit trick CPython uses where long is pointer-sized (64-bit Linux):
// bit_length(((minsize | 8) - 1) | 7). Note it is not always the smallest
// power of two >= minsize (5 gives 16, 16 gives 32); the model keeps that.
uint8_t CalculateLog2KeySize(intptr_t minsize) {
  uint64_t m = (static_cast<uint64_t>(minsize) | (uint64_t{1} << kDictLog2MinSize)) - 1;
  m |= (uint64_t{1} << kDictLog2MinSize) - 1;
  uint8_t bits = 0;
  while (m != 0) {
    ++bits;
    m >>= 1;
  }
  return bits;
}

size_t DictKeysBytes(uint8_t log2_size) {
  intptr_t usable = UsableFraction(intptr_t{1} << log2_size);
  return sizeof(DictKeys) + (size_t{1} << Log2IndexBytes(log2_size)) +
         static_cast<size_t>(usable) * sizeof(DictUnicodeEntry);
}

DictKeys* NewKeys(ThreadState& ts, uint8_t log2_size) {
  if (log2_size < kDictLog2MinSize || log2_size > 30) KeysFatal("keys object size out of range", nullptr);
  void* block = AllocRaw(ts, DictKeysBytes(log2_size));
  // new_keys_object writes the header and memsets indices and entries with
  // plain stores before anyone can see the block: placement-new does the same.
  auto* keys = new (block) DictKeys();
  keys->dk_log2_size = log2_size;
  keys->dk_log2_index_bytes = Log2IndexBytes(log2_size);
  keys->dk_kind = kDictKeysUnicode;
  intptr_t usable = UsableFraction(keys->size());
  new (&keys->dk_version) Cell<uint32_t>(0);
  new (&keys->dk_usable) Cell<intptr_t>(usable);
  new (&keys->dk_nentries) Cell<intptr_t>(0);
  const intptr_t n = keys->size();
  if (log2_size < 8) {
    for (intptr_t i = 0; i < n; ++i) new (&IndexCells<int8_t>(keys)[i]) Cell<int8_t>(-1);
  } else if (log2_size < 16) {
    for (intptr_t i = 0; i < n; ++i) new (&IndexCells<int16_t>(keys)[i]) Cell<int16_t>(-1);
  } else {
    for (intptr_t i = 0; i < n; ++i) new (&IndexCells<int32_t>(keys)[i]) Cell<int32_t>(-1);
  }
  DictUnicodeEntry* ep = keys->entries();
  for (intptr_t i = 0; i < usable; ++i) new (&ep[i]) DictUnicodeEntry();
  return keys;
}

void FreeKeys(ThreadState& ts, DictKeys* keys, bool use_qsbr) {
  if (use_qsbr) {
    FreeDelayed(ts, keys);
  } else {
    FreeRaw(ts, keys);
  }
}

intptr_t GetIndex(const DictKeys* keys, intptr_t i, Loc loc) {
  const uint8_t log2 = keys->dk_log2_size;
  if (log2 < 8) return IndexCells<int8_t>(keys)[i].LoadRelaxed(loc);
  if (log2 < 16) return IndexCells<int16_t>(keys)[i].LoadRelaxed(loc);
  return IndexCells<int32_t>(keys)[i].LoadRelaxed(loc);
}

void SetIndex(DictKeys* keys, intptr_t i, intptr_t ix, Loc loc) {
  // CPython asserts dk_version == 0 here (debug builds only); the model, like
  // a release build, does not check, so that variants that assign versions
  // without the lock show their real consequences.
  const uint8_t log2 = keys->dk_log2_size;
  if (log2 < 8) {
    IndexCells<int8_t>(keys)[i].StoreRelaxed(static_cast<int8_t>(ix), loc);
  } else if (log2 < 16) {
    IndexCells<int16_t>(keys)[i].StoreRelaxed(static_cast<int16_t>(ix), loc);
  } else {
    IndexCells<int32_t>(keys)[i].StoreRelaxed(static_cast<int32_t>(ix), loc);
  }
}

intptr_t PeekIndex(const DictKeys* keys, intptr_t i) {
  const uint8_t log2 = keys->dk_log2_size;
  if (log2 < 8) return IndexCells<int8_t>(keys)[i].Peek();
  if (log2 < 16) return IndexCells<int16_t>(keys)[i].Peek();
  return IndexCells<int32_t>(keys)[i].Peek();
}

// do_lookup + compare_unicode_unicode. Keys are interned: two different key
// objects are different strings, so after the identity test only the hash
// comparison (a read of the key's cached hash) remains of unicode_eq.
intptr_t KeysLookupLockHeld(ThreadState& ts, const DictKeys* keys, const KeyHasher& h, const Object* key, uint64_t hash) {
  const DictUnicodeEntry* ep0 = keys->entries();
  for (Probe p(keys, hash);; p.Next(keys)) {
    intptr_t ix = GetIndex(keys, static_cast<intptr_t>(p.i));
    if (ix >= 0) {
      Object* k = ep0[ix].me_key.LoadPlain();
      if (k == key) return ix;
      // CPython asserts me_key != NULL and would crash in unicode_get_hash:
      // only a table mutated without its lock can get here.
      if (k == nullptr) {
        // What CPython would do here is crash (a mutant that specializes
        // without the lock gets here): a CRASH finding for the observer.
        constexpr char kWhat[] = "NULL me_key under an index in a lock-held lookup: CPython dereferences it in "
                                 "unicode_get_hash (the table was mutated without its lock)";
        if (Observer* obs = ts.rt->observer) obs->OnModelCrash(ts, kWhat, __FILE__, __LINE__);
        KeysFatal(kWhat, keys);
      }
      (void)h.HashOf(k);  // unicode_get_hash(ep->me_key) == hash && unicode_eq: never equal for distinct interned keys
    } else if (ix == kDkixEmpty) {
      return kDkixEmpty;
    }
  }
}

// do_lookup + compare_unicode_unicode_threadsafe.
intptr_t KeysLookupThreadsafe(ThreadState& ts, const DictKeys* keys, const KeyHasher& h, const Object* key,
                              uint64_t hash) {
  const DictUnicodeEntry* ep0 = keys->entries();
  for (Probe p(keys, hash);; p.Next(keys)) {
    intptr_t ix = GetIndex(keys, static_cast<intptr_t>(p.i));
    if (ix >= 0) {
      const Cell<Object*>& slot = ep0[ix].me_key;
      Object* startkey = slot.LoadRelaxed();
      if (startkey == key) return ix;
      if (startkey != nullptr) {
        if (IsImmortal(startkey)) {
          (void)h.HashOf(startkey);  // distinct interned keys never compare equal
        } else {
          // A mortal key must be kept alive while it is compared.
          if (!TryIncrefCompare(ts, slot, startkey)) return kDkixKeyChanged;
          (void)h.HashOf(startkey);
          Decref(ts, startkey);
        }
      }
    } else if (ix == kDkixEmpty) {
      return kDkixEmpty;
    }
  }
}

intptr_t KeysLookdictIndex(const DictKeys* keys, uint64_t hash, intptr_t index) {
  for (Probe p(keys, hash);; p.Next(keys)) {
    intptr_t ix = GetIndex(keys, static_cast<intptr_t>(p.i));
    if (ix == index) return static_cast<intptr_t>(p.i);
    if (ix == kDkixEmpty) return kDkixEmpty;
  }
}

intptr_t KeysFindEmptySlot(const DictKeys* keys, uint64_t hash) {
  Probe p(keys, hash);
  intptr_t ix = GetIndex(keys, static_cast<intptr_t>(p.i));
  while (ix >= 0 || ix == kDkixDummy) {  // is_unusable_slot (FT: dummies are not reused)
    p.Next(keys);
    ix = GetIndex(keys, static_cast<intptr_t>(p.i));
  }
  return static_cast<intptr_t>(p.i);
}

void KeysBuildIndices(DictKeys* keys, const KeyHasher& h, intptr_t n) {
  DictUnicodeEntry* ep = keys->entries();
  for (intptr_t ix = 0; ix < n; ++ix) {
    uint64_t hash = h.HashOf(ep[ix].me_key.LoadPlain());
    Probe p(keys, hash);
    while (GetIndex(keys, static_cast<intptr_t>(p.i)) != kDkixEmpty) p.Next(keys);
    SetIndex(keys, static_cast<intptr_t>(p.i), ix);
  }
}

}  // namespace ftf::core
