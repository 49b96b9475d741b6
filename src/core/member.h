// member.h - the generic __slots__ paths: PyMember_GetOne / PyMember_SetOne.
// What CPython does here: docs/cpython-model.md §11.
//
// Models Python/structmember.c (PyMember_GetOne, member_get_object,
// PyMember_SetOne for Py_T_OBJECT_EX and _Py_T_OBJECT), the member
// descriptor's __get__/__set__ with their type check (member_get /
// member_set / descr_check, Objects/descrobject.c), and the generic attribute
// protocol that reaches them (PyObject_GenericGetAttr /
// PyObject_GenericSetAttr, Objects/object.c) for objects without a __dict__.
//
// The contested steps follow the Runtime's variant (variant.h, read through
// the member's type's TypeSystem):
//
//   GetOne: v = seq_cst load; NULL -> AttributeError (EX) or None (OBJECT);
//           TryIncrefCompare; on failure, per SlotGetFallback:
//             kCriticalSectionIncref  CS(obj); seq_cst re-load; plain Py_XINCREF; end CS
//             kXGetRef                _Py_XGetRef (retry load + TryIncrefCompare)
//   SetOne: readonly -> AttributeError; then, per SlotStoreMember:
//             kCriticalSection  CS(obj); old = plain load; release store of
//                               Py_XNewRef(v); end CS; Py_XDECREF(old)
//             kExchange         old = exchange(addr, Py_XNewRef(v)); Py_XDECREF(old)
//           With Variant::slot_store_sets_maybe_weakref (lockfree_slots_fixed)
//           the value is first marked MAYBE_WEAKREF (_PyObject_SetMaybeWeakref),
//           so that readers' TryIncRefShared can take a reference to it even
//           when its shared count is 0 (else the kXGetRef reader can spin
//           forever: findings/20261122-lockfree-slots-xgetref-livelock.md).
//           A delete of a Py_T_OBJECT_EX slot raises AttributeError when the
//           old value it took out was NULL (gh-146270, PR #148800, April
//           2026, before the base of eendebakpt/cpython#62): exactly one of two concurrent
//           deletes succeeds. With Variant::member_delete_checks_unlocked
//           (mutant_unlocked_delete_check) the code before that fix runs: a
//           plain `*addr == NULL` check outside any lock first, a
//           check-then-act that races with every writer (TSan) and lets two
//           deletes both succeed.
//
// The decref of the old value runs after the store, outside any lock, and may
// free it (and, through its slots, more) on this thread.
//
// Results are values (AttrResult), not printed: a load returns a new
// reference the caller owns; errors name the CPython exception.
//
// Thread-safety: any logical thread, on an object it holds a reference to;
// the slot itself is shared. Memory ordering: as listed above (seq_cst loads,
// release stores, seq_cst exchange, plain accesses where CPython is plain).

#ifndef FTF_CORE_MEMBER_H_
#define FTF_CORE_MEMBER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/object.h"
#include "core/type.h"

namespace ftf::core {

struct ThreadState;

// Which exception an attribute operation raised, if any.
enum class AttrError : uint8_t {
  kNone = 0,
  kNoAttribute,         // AttributeError: '<T>' object has no attribute '<n>'
  kDeleteUnset,         // AttributeError: <n>  (delete of a NULL Py_T_OBJECT_EX slot)
  kReadOnly,            // AttributeError: readonly attribute
  kDescriptorMismatch,  // TypeError: descriptor '<n>' for '<D>' objects doesn't apply to a '<T>' object
};

inline bool IsAttributeError(AttrError e) {
  return e == AttrError::kNoAttribute || e == AttrError::kDeleteUnset || e == AttrError::kReadOnly;
}
inline bool IsTypeError(AttrError e) { return e == AttrError::kDescriptorMismatch; }
const char* AttrErrorName(AttrError e);

// Outcome of one attribute operation (generic or, in slot_access.h, one
// execution of an instruction).
struct AttrResult {
  AttrError error = AttrError::kNone;
  // Loads: a NEW reference the caller owns (None for a NULL _Py_T_OBJECT
  // slot: immortal, so no count changed). nullptr on error and for stores.
  Object* value = nullptr;
  bool null_as_none = false;          // value is None because the _Py_T_OBJECT slot was NULL
  bool used_fallback = false;         // GetOne's TryIncrefCompare failed and the fallback ran
  const Type* error_type = nullptr;   // the object's type as read for the message
  const MemberDef* member = nullptr;  // the descriptor involved, when one was found
  std::string_view name;              // the attribute name

  // Instruction-level facts (slot_access.h).
  bool specialized = false;     // completed by LOAD_ATTR_SLOT / STORE_ATTR_SLOT
  uint8_t deopts = 0;           // specialized attempts that deoptimized in this execution
  uint8_t specialize_attempts = 0;
  uint8_t specialize_successes = 0;

  bool ok() const { return error == AttrError::kNone; }
};

// The exception text CPython would produce for `r` (for reports and tests).
std::string AttrErrorMessage(const AttrResult& r);

// PyMember_GetOne for an object member `m` of `obj` (the caller holds a
// reference to obj). No type check: the descriptor paths below do it.
AttrResult MemberGetOne(ThreadState& ts, Object* obj, const MemberDef& m);

// PyMember_SetOne: stores a new reference to `value` (borrowed from the
// caller; nullptr = delete) into the member slot of obj.
AttrResult MemberSetOne(ThreadState& ts, Object* obj, const MemberDef& m, Object* value);

// member_get / member_set: descr_check (PyObject_TypeCheck on a plain load of
// ob_type, TypeError if obj is not an instance of m.d_type), then the above.
AttrResult MemberDescrGet(ThreadState& ts, const MemberDef& m, Object* obj);
AttrResult MemberDescrSet(ThreadState& ts, const MemberDef& m, Object* obj, Object* value);

// PyObject_GenericGetAttr / PyObject_GenericSetAttr on an object with no
// __dict__: Py_TYPE(obj) (plain load), _PyType_LookupRef (may take TYPE_LOCK
// and assign a version), then the member descriptor; AttributeError when no
// member has that name. `value` is borrowed; GenericDelAttr is value NULL.
AttrResult GenericGetAttr(ThreadState& ts, Object* obj, std::string_view name);
AttrResult GenericSetAttr(ThreadState& ts, Object* obj, std::string_view name, Object* value);
inline AttrResult GenericDelAttr(ThreadState& ts, Object* obj, std::string_view name) {
  return GenericSetAttr(ts, obj, name, nullptr);
}

}  // namespace ftf::core

#endif  // FTF_CORE_MEMBER_H_
