// ledger_values.cc - the WRONG_VALUE and BAD_LAYOUT checks the interpreter
// calls around loads and specialized accesses (see ledger.h, value_log.h).

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "audit/audit_scope.h"
#include "audit/ledger.h"
#include "core/object.h"
#include "core/thread_state.h"
#include "core/type.h"

namespace ftf::audit {

using core::Object;

namespace {

uint64_t IdOrZero(const Object* o) { return o == nullptr ? 0 : core::ObjectId(o); }

std::string IdName(uint64_t id) { return id == 0 ? std::string("NULL") : absl::StrFormat("obj#%d", id); }

}  // namespace

FTF_AUDIT_UNSEEN void RefLedger::NoteStore(core::ThreadState& ts, const Object* holder, uint32_t key, const Object* value) {
  AuditScope scope(mu_);
  const uint64_t holder_id = IdOrZero(holder);
  const uint64_t value_id = IdOrZero(value);
  values_.Note(holder_id, key, value_id);
  if (value_id != 0 && Find(value_id) != nullptr) {
    LedgerEvent& e = Record(ts.index, value_id, LedgerEventKind::kStore);
    e.other = holder_id;
    e.key = key;
  }
}

FTF_AUDIT_UNSEEN void RefLedger::CheckLoad(core::ThreadState& ts, std::initializer_list<ValuePlace> places, const Object* value,
                          bool null_as_none) {
  AuditScope scope(mu_);
  const uint64_t value_id = IdOrZero(value);
  if (value_id != 0 && Find(value_id) != nullptr && places.size() > 0) {
    LedgerEvent& e = Record(ts.index, value_id, LedgerEventKind::kLoad);
    e.other = IdOrZero(places.begin()->holder);
    e.key = places.begin()->key;
  }
  if (null_as_none) return;  // member_get_object: a NULL _Py_T_OBJECT slot reads as None
  for (const ValuePlace& p : places) {
    if (values_.WasStored(IdOrZero(p.holder), p.key, value_id)) return;
  }
  std::vector<std::string> where;
  std::vector<std::string> stored;
  for (const ValuePlace& p : places) {
    const uint64_t hid = IdOrZero(p.holder);
    where.push_back(absl::StrFormat("%s of obj#%d", DescribeValueKey(p.key), hid));
    for (uint64_t v : values_.Stored(hid, p.key)) stored.push_back(IdName(v));
  }
  const uint64_t main = places.size() > 0 ? IdOrZero(places.begin()->holder) : 0;
  Finding f = Make(FindingKind::kWrongValue, ts.index, main,
                   absl::StrFormat("a load from %s returned %s, which was never stored there (stored: %s)",
                                   absl::StrJoin(where, " or "), IdName(value_id),
                                   stored.empty() ? std::string("nothing") : absl::StrJoin(stored, ", ")));
  if (value_id != 0) f.objects.push_back(value_id);
  Fail(std::move(f));
}

void RefLedger::CheckSpecializedAccess(core::ThreadState& ts, const Object* owner, std::string_view name,
                                       size_t offset) {
  AuditScope scope(mu_);
  // INV-STW-1 (core/stw.h): __class__ changes only with the world stopped,
  // so a guarded specialized access always matches the current layout.
  std::string why;
  if (OffsetValidForCurrentType(owner, name, offset, &why)) return;
  const uint64_t id = IdOrZero(owner);
  Fail(Make(FindingKind::kBadLayout, ts.index, id,
            absl::StrFormat("specialized access to '%s' of obj#%d used offset %d: %s", name, id, offset, why)));
}

FTF_AUDIT_UNSEEN void RefLedger::OnTypeChanged(core::ThreadState& ts, Object* o, const core::Type* oldto,
                                               const core::Type* newto) {
  AuditScope scope(mu_);
  std::string why;
  if (SameLayout(oldto, newto, o->nslots(), &why)) return;
  const uint64_t id = IdOrZero(o);
  Fail(Make(FindingKind::kBadLayout, ts.index, id,
            absl::StrFormat("__class__ assignment of obj#%d from %s to %s changed its layout: %s", id, oldto->name,
                            newto->name, why)));
}

}  // namespace ftf::audit
