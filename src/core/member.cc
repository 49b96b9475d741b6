// member.cc - PyMember_GetOne / PyMember_SetOne and the descriptor paths
// (see member.h).

#include "core/member.h"

#include "core/critical_section.h"
#include "core/refcount.h"
#include "core/thread_state.h"
#include "core/variant.h"

namespace ftf::core {
namespace {

const Variant& VariantOf(const MemberDef& m) { return m.d_type->sys->variant(); }

AttrResult Error(AttrError e, const MemberDef* m, std::string_view name, const Type* type) {
  AttrResult r;
  r.error = e;
  r.member = m;
  r.name = name;
  r.error_type = type;
  return r;
}

// A NULL slot: AttributeError for Py_T_OBJECT_EX, whose message names the
// object's type (`'%T' object`, a plain read of ob_type); None otherwise.
AttrResult NullSlot(Object* obj, const MemberDef& m) {
  if (m.type == MemberType::kObjectEx) {
    return Error(AttrError::kNoAttribute, &m, m.name, obj->ob_type.LoadPlain());
  }
  AttrResult r;
  r.member = &m;
  r.name = m.name;
  r.value = m.d_type->sys->none();
  r.null_as_none = true;
  return r;
}

AttrResult Value(Object* v, const MemberDef& m, bool used_fallback) {
  AttrResult r;
  r.member = &m;
  r.name = m.name;
  r.value = v;
  r.used_fallback = used_fallback;
  return r;
}

// descr_check: PyObject_TypeCheck(obj, descr->d_type) on a plain Py_TYPE.
bool DescrCheck(Object* obj, const MemberDef& m, const Type** seen) {
  const Type* tp = obj->ob_type.LoadPlain();
  *seen = tp;
  return tp != nullptr && IsSubtype(tp, m.d_type);
}

}  // namespace

const char* AttrErrorName(AttrError e) {
  switch (e) {
    case AttrError::kNone: return "none";
    case AttrError::kNoAttribute: return "AttributeError(no attribute)";
    case AttrError::kDeleteUnset: return "AttributeError(delete of unset slot)";
    case AttrError::kReadOnly: return "AttributeError(readonly attribute)";
    case AttrError::kDescriptorMismatch: return "TypeError(descriptor does not apply)";
  }
  return "?";
}

std::string AttrErrorMessage(const AttrResult& r) {
  const std::string type_name = r.error_type != nullptr ? r.error_type->name : std::string("object");
  const std::string name(r.name);
  switch (r.error) {
    case AttrError::kNone: return "";
    case AttrError::kNoAttribute: return "AttributeError: '" + type_name + "' object has no attribute '" + name + "'";
    case AttrError::kDeleteUnset: return "AttributeError: " + name;
    case AttrError::kReadOnly: return "AttributeError: readonly attribute";
    case AttrError::kDescriptorMismatch: {
      const std::string owner = r.member != nullptr ? r.member->d_type->name : std::string("?");
      return "TypeError: descriptor '" + name + "' for '" + owner + "' objects doesn't apply to a '" + type_name +
             "' object";
    }
  }
  return "?";
}

// PyMember_GetOne, cases _Py_T_OBJECT and Py_T_OBJECT_EX (member_get_object).
AttrResult MemberGetOne(ThreadState& ts, Object* obj, const MemberDef& m) {
  Cell<Object*>& addr = SlotAt(obj, m.offset);
  Object* v = addr.LoadSeqCst();  // FT_ATOMIC_LOAD_PTR
  if (v == nullptr) return NullSlot(obj, m);
  if (TryIncrefCompare(ts, addr, v)) return Value(v, m, false);

  // The value changed under us, or we could not take a reference safely.
  switch (VariantOf(m).slot_get_fallback) {
    case SlotGetFallback::kCriticalSectionIncref: {
      // CPython today: sound only while every writer holds ob_mutex, so the
      // re-loaded value cannot be swapped out and freed during the section.
      CriticalSection cs;
      CriticalSectionBegin(ts, &cs, &obj->ob_mutex);
      v = addr.LoadSeqCst();
      AttrResult r;
      if (v == nullptr) {
        r = NullSlot(obj, m);  // the EX message's type read happens inside the section
      } else {
        Incref(ts, v);  // Py_XINCREF: a plain incref, no try
        r = Value(v, m, true);
      }
      CriticalSectionEnd(ts, &cs);
      r.used_fallback = true;
      return r;
    }
    case SlotGetFallback::kXGetRef: {
      // The PR: retry the atomic load + TryIncrefCompare until it sticks.
      v = XGetRef(ts, addr);
      AttrResult r = v == nullptr ? NullSlot(obj, m) : Value(v, m, true);
      r.used_fallback = true;
      return r;
    }
  }
  return Value(v, m, false);  // unreachable
}

// PyMember_SetOne, cases _Py_T_OBJECT and Py_T_OBJECT_EX.
AttrResult MemberSetOne(ThreadState& ts, Object* obj, const MemberDef& m, Object* value) {
  if ((m.flags & kMemberReadOnly) != 0) return Error(AttrError::kReadOnly, &m, m.name, nullptr);
  Cell<Object*>& addr = SlotAt(obj, m.offset);
  const bool delete_ex = value == nullptr && m.type == MemberType::kObjectEx;
  if (delete_ex && VariantOf(m).member_delete_checks_unlocked) {
    // Before gh-146270: is the attribute set? A plain read outside any lock
    // (check-then-act), racing with every writer.
    if (addr.LoadPlain() == nullptr) return Error(AttrError::kDeleteUnset, &m, m.name, nullptr);
  }
  // lockfree_slots_fixed: make the value try-increfable by non-owners before
  // any reader can load it. The caller's reference keeps it alive here, which
  // is what makes the CAS on ob_ref_shared legal (a reader could not do it).
  if (value != nullptr && VariantOf(m).slot_store_sets_maybe_weakref) SetMaybeWeakref(ts, value);
  Object* old = nullptr;
  switch (VariantOf(m).slot_store_member) {
    case SlotStoreMember::kCriticalSection: {
      CriticalSection cs;
      CriticalSectionBegin(ts, &cs, &obj->ob_mutex);
      old = addr.LoadPlain();
      XIncref(ts, value);        // Py_XNewRef(v), evaluated before the store
      addr.StoreRelease(value);  // FT_ATOMIC_STORE_PTR_RELEASE
      CriticalSectionEnd(ts, &cs);
      break;
    }
    case SlotStoreMember::kExchange:
      XIncref(ts, value);
      old = addr.ExchangeSeqCst(value);  // _Py_atomic_exchange_ptr
      break;
  }
  // gh-146270 (PR #148800): the delete raises when the value it took out of
  // the slot (under the section, or from the exchange) was already NULL, so
  // of two concurrent deletes exactly one succeeds.
  if (delete_ex && old == nullptr && !VariantOf(m).member_delete_checks_unlocked) {
    return Error(AttrError::kDeleteUnset, &m, m.name, nullptr);
  }
  XDecref(ts, old);  // after the section: may run deallocations here
  AttrResult r;
  r.member = &m;
  r.name = m.name;
  return r;
}

AttrResult MemberDescrGet(ThreadState& ts, const MemberDef& m, Object* obj) {
  const Type* tp = nullptr;
  if (!DescrCheck(obj, m, &tp)) return Error(AttrError::kDescriptorMismatch, &m, m.name, tp);
  // Py_AUDIT_READ members would call the audit hook here (not modelled).
  return MemberGetOne(ts, obj, m);
}

AttrResult MemberDescrSet(ThreadState& ts, const MemberDef& m, Object* obj, Object* value) {
  const Type* tp = nullptr;
  if (!DescrCheck(obj, m, &tp)) return Error(AttrError::kDescriptorMismatch, &m, m.name, tp);
  return MemberSetOne(ts, obj, m, value);
}

// _PyObject_GenericGetAttrWithDict for an object without a __dict__: only a
// (data) descriptor found on the type can answer.
AttrResult GenericGetAttr(ThreadState& ts, Object* obj, std::string_view name) {
  Type* tp = obj->ob_type.LoadPlain();
  if (tp == nullptr) return Error(AttrError::kNoAttribute, nullptr, name, nullptr);  // bare `object`
  TypeLookup found = LookupMemberAndVersion(ts, tp, name);
  if (found.member == nullptr) return Error(AttrError::kNoAttribute, nullptr, name, tp);
  return MemberDescrGet(ts, *found.member, obj);
}

// _PyObject_GenericSetAttrWithDict for an object without a __dict__.
AttrResult GenericSetAttr(ThreadState& ts, Object* obj, std::string_view name, Object* value) {
  Type* tp = obj->ob_type.LoadPlain();
  if (tp == nullptr) return Error(AttrError::kNoAttribute, nullptr, name, nullptr);
  TypeLookup found = LookupMemberAndVersion(ts, tp, name);
  // "'T' object has no attribute 'n' and no __dict__ for setting new attributes"
  if (found.member == nullptr) return Error(AttrError::kNoAttribute, nullptr, name, tp);
  return MemberDescrSet(ts, *found.member, obj, value);
}

}  // namespace ftf::core
