// value_log.cc - stored-values log and the slot-offset check (see value_log.h).

#include "audit/value_log.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "audit/audit_scope.h"
#include "core/object.h"
#include "core/type.h"

namespace ftf::audit {

std::string DescribeValueKey(uint32_t key) {
  if (key >= kDictKeyBase) return absl::StrFormat("key #%d", key - kDictKeyBase);
  return absl::StrFormat("slot %d", key);
}

void ValueLog::Reset() {
  places_.clear();
  values_.clear();
  std::fill(table_.begin(), table_.end(), kNone);
}

FTF_AUDIT_HOT size_t ValueLog::Bucket(uint64_t holder_id, uint32_t key) const {
  const uint64_t h = (holder_id * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(key) * 0xBF58476D1CE4E5B9ull);
  return static_cast<size_t>(h ^ (h >> 29)) & (table_.size() - 1);
}

FTF_AUDIT_HOT int32_t ValueLog::Find(uint64_t holder_id, uint32_t key) const {
  if (table_.empty()) return kNone;
  for (size_t b = Bucket(holder_id, key);; b = (b + 1) & (table_.size() - 1)) {
    const int32_t i = table_[b];
    if (i == kNone) return kNone;
    const Place& p = places_[static_cast<size_t>(i)];
    if (p.holder_id == holder_id && p.key == key) return i;
  }
}

FTF_AUDIT_UNSEEN void ValueLog::Rehash(size_t buckets) {
  table_.assign(buckets, kNone);
  for (size_t i = 0; i < places_.size(); ++i) {
    size_t b = Bucket(places_[i].holder_id, places_[i].key);
    while (table_[b] != kNone) b = (b + 1) & (table_.size() - 1);
    table_[b] = static_cast<int32_t>(i);
  }
}

FTF_AUDIT_HOT void ValueLog::Note(uint64_t holder_id, uint32_t key, uint64_t value_id) {
  int32_t pi = Find(holder_id, key);
  if (pi == kNone) {
    // Keep the table at most half full.
    if ((places_.size() + 1) * 2 > table_.size()) {
      places_.push_back(Place{holder_id, key, kNone, kNone});
      Rehash(std::max<size_t>(64, table_.size() * 2));
      pi = static_cast<int32_t>(places_.size() - 1);
    } else {
      places_.push_back(Place{holder_id, key, kNone, kNone});
      pi = static_cast<int32_t>(places_.size() - 1);
      size_t b = Bucket(holder_id, key);
      while (table_[b] != kNone) b = (b + 1) & (table_.size() - 1);
      table_[b] = pi;
    }
  }
  Place& p = places_[static_cast<size_t>(pi)];
  for (int32_t v = p.first; v != kNone; v = values_[static_cast<size_t>(v)].next) {
    if (values_[static_cast<size_t>(v)].id == value_id) return;
  }
  const int32_t vi = static_cast<int32_t>(values_.size());
  values_.push_back(Value{value_id, kNone});
  if (p.last == kNone) {
    p.first = vi;
  } else {
    values_[static_cast<size_t>(p.last)].next = vi;
  }
  p.last = vi;
}

FTF_AUDIT_HOT bool ValueLog::WasStored(uint64_t holder_id, uint32_t key, uint64_t value_id) const {
  const int32_t pi = Find(holder_id, key);
  if (pi == kNone) return false;
  for (int32_t v = places_[static_cast<size_t>(pi)].first; v != kNone; v = values_[static_cast<size_t>(v)].next) {
    if (values_[static_cast<size_t>(v)].id == value_id) return true;
  }
  return false;
}

std::vector<uint64_t> ValueLog::Stored(uint64_t holder_id, uint32_t key) const {
  std::vector<uint64_t> out;
  const int32_t pi = Find(holder_id, key);
  if (pi == kNone) return out;
  for (int32_t v = places_[static_cast<size_t>(pi)].first; v != kNone; v = values_[static_cast<size_t>(v)].next) {
    out.push_back(values_[static_cast<size_t>(v)].id);
  }
  return out;
}

namespace {

// The member name at each slot index of an instance of t (its MRO's
// members; the first found wins, as attribute lookup would).
std::vector<std::string_view> NamesByIndex(const core::Type* t) {
  std::vector<std::string_view> names(t->nslots);
  for (const core::Type* m : t->mro) {
    for (const core::MemberDef& d : m->members) {
      if (d.index < names.size() && names[d.index].empty()) names[d.index] = d.name;
    }
  }
  return names;
}

}  // namespace

bool SameLayout(const core::Type* oldto, const core::Type* newto, uint32_t block_slots, std::string* why) {
  if (newto->nslots != block_slots || oldto->nslots != block_slots) {
    if (why != nullptr) {
      *why = absl::StrFormat("the block holds %d slot(s), %s has %d and %s %d", block_slots, oldto->name,
                             oldto->nslots, newto->name, newto->nslots);
    }
    return false;
  }
  constexpr uint64_t kLayoutFlags = core::kTpFlagsPreheader | core::kTpFlagsInlineValues;
  if ((oldto->flags & kLayoutFlags) != (newto->flags & kLayoutFlags)) {
    if (why != nullptr) {
      *why = absl::StrFormat("%s and %s differ in __dict__ / __weakref__ / inline values (tp_flags %#x vs %#x)",
                             oldto->name, newto->name, oldto->flags & kLayoutFlags, newto->flags & kLayoutFlags);
    }
    return false;
  }
  const std::vector<std::string_view> a = NamesByIndex(oldto), b = NamesByIndex(newto);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (why != nullptr) {
      *why = absl::StrFormat("slot %d (offset %d) is '%s' in %s but '%s' in %s", i, core::SlotOffset(i), a[i],
                             oldto->name, b[i], newto->name);
    }
    return false;
  }
  return true;
}

bool OffsetValidForCurrentType(const core::Object* owner, std::string_view name, size_t offset, std::string* why) {
  // What the block really holds first: after a class assignment that should
  // have been refused, the current type is already wrong and may well have
  // the member at this offset, past the slots the object was allocated with.
  const uint32_t held = owner->nslots();
  if (offset < core::SlotOffset(0) || offset >= core::SlotOffset(held) ||
      (offset - core::SlotOffset(0)) % sizeof(core::Cell<core::Object*>) != 0) {
    if (why != nullptr) {
      const core::Type* t = owner->ob_type.Peek();
      *why = absl::StrFormat("the block holds %d slot(s) (offsets %d..%d); offset %d is outside them (current type %s)",
                             held, core::SlotOffset(0), core::SlotOffset(held) - 1, offset,
                             t != nullptr ? t->name : std::string("none"));
    }
    return false;
  }
  const core::Type* t = owner->ob_type.Peek();
  if (t == nullptr) {
    if (why != nullptr) *why = "the object has no heap type (bare object)";
    return false;
  }
  const core::MemberDef* m = core::FindMember(t, name);
  if (m != nullptr && m->offset == offset) return true;
  if (why == nullptr) return false;
  std::string at = "past the end of the object";
  for (const core::Type* base : t->mro) {
    for (const core::MemberDef& d : base->members) {
      if (d.offset == offset) at = absl::StrFormat("member '%s'", d.name);
    }
  }
  *why = m == nullptr ? absl::StrFormat("type %s has no member '%s'; offset %d is %s", t->name, name, offset, at)
                      : absl::StrFormat("type %s has '%s' at offset %d; offset %d is %s", t->name, name, m->offset,
                                        offset, at);
  return false;
}

}  // namespace ftf::audit
