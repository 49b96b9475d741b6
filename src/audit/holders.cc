// holders.cc - holder descriptions and the dict helper (see holders.h).

#include "audit/holders.h"

#include "absl/strings/str_format.h"
#include "audit/audit_scope.h"
#include "core/dict.h"
#include "core/dict_keys.h"
#include "core/object.h"

namespace ftf::audit {

std::string DescribeHolder(const Holder& h) {
  switch (h.kind) {
    case Holder::Kind::kSlot:
      return absl::StrFormat("slot %d of obj#%d", h.index, h.container);
    case Holder::Kind::kBrcQueue:
      return absl::StrFormat("BRC merge queue of T%d", h.thread);
    case Holder::Kind::kDelayedDecref:
      return h.thread < 0 ? std::string("QSBR delayed decref (abandoned queue)")
                          : absl::StrFormat("QSBR delayed decref of T%d", h.thread);
    case Holder::Kind::kRegister:
      return absl::StrFormat("register r%d of T%d%s", h.index, h.thread,
                             h.deferred ? " (a tagged stack reference: no count)" : "");
    case Holder::Kind::kSharedTable:
      return absl::StrFormat("shared object o%d", h.index);
    case Holder::Kind::kDictValue:
      return absl::StrFormat("entry '%s' of dict obj#%d", h.label, h.container);
    case Holder::Kind::kDict:
      return absl::StrFormat("dict %s (its object)", h.label);
    case Holder::Kind::kOther:
      return h.label.empty() ? std::string("other holder") : std::string(h.label);
  }
  return "?";
}

// INV-DICT-3 (core/dict.h): a non-NULL entry value is a reference the dict
// owns, so it is listed as a holder (PREMATURE_FREE and LEAK count it).
void ForEachDictHolder(const core::Dict* d, std::string_view dict_name, bool include_dict_object,
                       const HolderVisitor& visit) {
  if (d == nullptr) return;
  if (include_dict_object && d->ob != nullptr) {
    visit(Holder{Holder::Kind::kDict, -1, -1, 0, dict_name}, d->ob);
  }
  const core::DictKeys* keys = core::DictPeekKeys(d);
  if (keys == nullptr) return;
  const uint64_t dict_id = d->ob != nullptr ? core::ObjectId(d->ob) : 0;
  const intptr_t n = keys->dk_nentries.Peek();
  const core::DictUnicodeEntry* ep = keys->entries();
  for (intptr_t i = 0; i < n; ++i) {
    const core::Object* value = ep[i].me_value.Peek();
    if (value == nullptr) continue;
    const core::Object* key = ep[i].me_key.Peek();
    const std::string* text = key != nullptr && d->state != nullptr ? d->state->TextOf(key) : nullptr;
    Holder h{Holder::Kind::kDictValue, -1, static_cast<int>(i), dict_id,
             text != nullptr ? std::string_view(*text) : std::string_view("?")};
    visit(h, value);
  }
}

}  // namespace ftf::audit

namespace ftf::audit {

size_t HolderSource::CountHolding(const core::Object* o) const {
  size_t n = 0;
  ForEachHolder([&](const Holder&, const core::Object* v) { n += v == o ? 1 : 0; });
  return n;
}

FTF_AUDIT_HOT size_t CountDictHolding(const core::Dict* d, bool include_dict_object, const core::Object* o) {
  if (d == nullptr) return 0;
  size_t n = include_dict_object && d->ob == o ? 1 : 0;
  const core::DictKeys* keys = core::DictPeekKeys(d);
  if (keys == nullptr) return n;
  const intptr_t entries = keys->dk_nentries.Peek();
  const core::DictUnicodeEntry* ep = keys->entries();
  for (intptr_t i = 0; i < entries; ++i) n += ep[i].me_value.Peek() == o ? 1 : 0;
  return n;
}

}  // namespace ftf::audit
