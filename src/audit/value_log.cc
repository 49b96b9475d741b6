// value_log.cc - stored-values log and the slot-offset check (see value_log.h).

#include "audit/value_log.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "core/object.h"
#include "core/type.h"

namespace ftf::audit {

std::string DescribeValueKey(uint32_t key) {
  if (key >= kDictKeyBase) return absl::StrFormat("key #%d", key - kDictKeyBase);
  return absl::StrFormat("slot %d", key);
}

void ValueLog::Note(uint64_t holder_id, uint32_t key, uint64_t value_id) {
  std::vector<uint64_t>& v = stored_[{holder_id, key}];
  if (std::find(v.begin(), v.end(), value_id) == v.end()) v.push_back(value_id);
}

bool ValueLog::WasStored(uint64_t holder_id, uint32_t key, uint64_t value_id) const {
  const std::vector<uint64_t>* v = Stored(holder_id, key);
  return v != nullptr && std::find(v->begin(), v->end(), value_id) != v->end();
}

const std::vector<uint64_t>* ValueLog::Stored(uint64_t holder_id, uint32_t key) const {
  auto it = stored_.find({holder_id, key});
  return it == stored_.end() ? nullptr : &it->second;
}

bool OffsetValidForCurrentType(const core::Object* owner, std::string_view name, size_t offset, std::string* why) {
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
