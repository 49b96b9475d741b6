// value_log.h - which values were ever stored where, and slot layouts.
//
// Not a model of CPython: the data behind the WRONG_VALUE and BAD_LAYOUT
// checks of the ledger (ledger.h has the API the interpreter calls).
//
// WRONG_VALUE: every value a load returns must have been stored into that
// place (a slot of an object, an entry of a dict) at some point of the run,
// with the exception of None for a NULL _Py_T_OBJECT member (member_get_object
// in Python/structmember.c). A torn or stale read (a slot of another type, an
// entry of another key, a freed-and-reused block) returns a value that was
// never stored there. Places and values are named by stable object ids.
//
// BAD_LAYOUT: a specialized access (LOAD_ATTR_SLOT / STORE_ATTR_SLOT) uses
// the byte offset from its inline cache; it must be the offset of the member
// with the instruction's name in the object's current type
// (find_name_in_mro, Objects/typeobject.c), or the instruction touched the
// wrong slot (or past the object). The block's own slot count is checked
// first: when a class assignment that should have been refused went through,
// the current type is already wrong and may have the member at an offset
// past the slots the object really has.
//
// Thread-safety: none (the ledger serialises access).

#ifndef FTF_AUDIT_VALUE_LOG_H_
#define FTF_AUDIT_VALUE_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ftf::core {
struct Object;
struct Type;
}

namespace ftf::audit {

// Keys within a place: a slot index, or a dict entry's name index.
inline constexpr uint32_t kDictKeyBase = 1u << 16;
constexpr uint32_t SlotKey(uint32_t slot_index) { return slot_index; }
constexpr uint32_t DictKey(uint32_t name_index) { return kDictKeyBase + name_index; }
// "slot 1" / "key #3" (the runner knows the names; reports add them).
std::string DescribeValueKey(uint32_t key);

// A place a value can be stored in: `holder` is the object owning the slot,
// or the dict's object (Dict::ob) for entries.
struct ValuePlace {
  const core::Object* holder = nullptr;
  uint32_t key = 0;
};

class ValueLog {
 public:
  // Forgets every place; keeps the storage for the next run (no allocation
  // once a run's worth of places and values has been seen).
  void Reset();
  // `value_id` (0 = NULL) may be found at (holder_id, key) from now on.
  void Note(uint64_t holder_id, uint32_t key, uint64_t value_id);
  bool WasStored(uint64_t holder_id, uint32_t key, uint64_t value_id) const;
  // The ids stored there, in first-store order (for messages); empty if none.
  std::vector<uint64_t> Stored(uint64_t holder_id, uint32_t key) const;

 private:
  static constexpr int32_t kNone = -1;
  struct Place {
    uint64_t holder_id;
    uint32_t key;
    int32_t first;  // index into values_ of the first stored value
    int32_t last;   // ... and of the latest, for appending in order
  };
  struct Value {
    uint64_t id;
    int32_t next;  // next value of the same place, or kNone
  };
  // Index into places_ of (holder_id, key), or kNone.
  int32_t Find(uint64_t holder_id, uint32_t key) const;
  size_t Bucket(uint64_t holder_id, uint32_t key) const;
  void Rehash(size_t buckets);

  std::vector<Place> places_;
  std::vector<Value> values_;
  std::vector<int32_t> table_;  // open addressing (linear probing), power-of-two size; kNone = empty
};

// Whether `offset` is one of the slots the block of `owner` was allocated
// with (BlockHeader::nslots) and the offset of the member called `name` in
// its current type (read with Peek). On false, `why` says which rule the
// offset broke. `owner` must be a live object.
bool OffsetValidForCurrentType(const core::Object* owner, std::string_view name, size_t offset, std::string* why);

// Whether a __class__ assignment from `oldto` to `newto` keeps the layout of
// an object whose block holds `block_slots` slots: both types have that many
// slots, the same member name at every offset, and the same
// Py_TPFLAGS_PREHEADER / INLINE_VALUES bits (what CPython's
// compatible_for_assignment guarantees; docs/cpython-model.md, "Type
// hierarchy and layouts"). An independent check of the consequence, not the
// rule. On false, `why` says what differs.
bool SameLayout(const core::Type* oldto, const core::Type* newto, uint32_t block_slots, std::string* why);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_VALUE_LOG_H_
