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
// wrong slot (or past the object).
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
  void Reset() { stored_.clear(); }
  // `value_id` (0 = NULL) may be found at (holder_id, key) from now on.
  void Note(uint64_t holder_id, uint32_t key, uint64_t value_id);
  bool WasStored(uint64_t holder_id, uint32_t key, uint64_t value_id) const;
  // The ids stored there, in first-store order (for messages).
  const std::vector<uint64_t>* Stored(uint64_t holder_id, uint32_t key) const;

 private:
  struct PlaceHash {
    size_t operator()(const std::pair<uint64_t, uint32_t>& p) const {
      return std::hash<uint64_t>()(p.first * 0x9E3779B97F4A7C15ull ^ p.second);
    }
  };
  std::unordered_map<std::pair<uint64_t, uint32_t>, std::vector<uint64_t>, PlaceHash> stored_;
};

// Whether `offset` is the offset of the member called `name` in the current
// type of `owner` (read with Peek). On false, `why` says what the offset is
// in that type instead. `owner` must be a live object.
bool OffsetValidForCurrentType(const core::Object* owner, std::string_view name, size_t offset, std::string* why);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_VALUE_LOG_H_
