// slot_access.h - LOAD_ATTR / STORE_ATTR at one instruction site, with the
// adaptive specializer and the LOAD_ATTR_SLOT / STORE_ATTR_SLOT forms.
// What CPython does here: docs/cpython-model.md §12.
//
// Models, for `__slots__` members:
// * the inline cache of an attribute instruction (_PyAttrCache,
//   Include/internal/pycore_code.h): the adaptive counter, the 32-bit type
//   version and the 16-bit index (the member's byte offset);
// * the adaptive counter (_Py_BackoffCounter, Include/internal/
//   pycore_backoff.h and pycore_code.h): 12-bit value + 4-bit backoff;
//   warm-up (1, 1) specializes on the 2nd execution; after a success the
//   cooldown (52, 0) means a re-specialization attempt on the 53rd miss;
//   after a failure restart_backoff_counter gives (2^(b+1) - 1, b + 1),
//   capped at (4095, 12). Hits never touch the counter;
// * the specializing prologue of the generic instruction
//   (_SPECIALIZE_LOAD_ATTR / _SPECIALIZE_STORE_ATTR, Python/bytecodes.c):
//   when the counter triggers, _Py_Specialize_LoadAttr / _StoreAttr
//   (Python/specialize.c) run and the instruction is dispatched again;
//   otherwise the counter advances and the generic body runs;
// * the specializer for OBJECT_SLOT descriptors: _PyType_LookupRefAndVersion
//   (may take TYPE_LOCK and assign a version), version != 0, owner passes
//   PyObject_TypeCheck against the member's type, not Py_AUDIT_READ (load) /
//   not Py_READONLY (store), offset fits 16 bits; the cache entries are
//   written before the opcode changes (specialize(): opcode, then counter =
//   cooldown); failure = unspecialize() (generic opcode, counter backoff);
// * LOAD_ATTR_SLOT = _GUARD_TYPE_VERSION (plain load of ob_type, relaxed load
//   of tp_version_tag) + _LOAD_ATTR_SLOT (seq_cst load of the slot, deopt on
//   NULL, TryIncrefCompare, deopt on failure: the failure may Py_DECREF);
// * STORE_ATTR_SLOT = _GUARD_TYPE_VERSION + _STORE_ATTR_SLOT, per the
//   variant's SlotStoreBytecode:
//     kLockObject      LOCK_OBJECT = PyMutex_LockFast(&ob_mutex), deopt if it
//                      fails (it never blocks; it fails when any thread,
//                      including this one through a critical section, holds
//                      the mutex, or when waiters are parked); plain read of
//                      old; release store; UNLOCK_OBJECT; Py_XDECREF(old)
//     kExchange        old = atomic exchange; Py_XDECREF(old)       (the PR)
//     kPlainLoadStore  old = plain load; plain store; Py_XDECREF(old) (mutant)
//   preceded, with Variant::slot_store_sets_maybe_weakref, by
//   _PyObject_SetMaybeWeakref(value) (lockfree_slots_fixed, see member.h);
// * deoptimization: jump to the generic instruction, whose prologue
//   decrements the counter; the generic bodies are PyObject_GetAttr /
//   PyObject_SetAttr on the member descriptor (member.h).
//
// There is no scheduling point "inside" an instruction that a stop-the-world
// could use: SafePoint is only called between operations by the executor,
// and LOCK_OBJECT never blocks, so guard and access are atomic with respect
// to __class__ assignment, as in CPython (docs/cpython-model.md §13).
//
// Thread-safety: CPython gives every thread its own copy of the bytecode
// (thread-local bytecode), so an AttrSite belongs to one logical thread: its
// fields are plain and written only by that thread (checked). What it reads
// (objects, slots, types) is shared.

#ifndef FTF_CORE_SLOT_ACCESS_H_
#define FTF_CORE_SLOT_ACCESS_H_

#include <cstdint>
#include <string>

#include "core/backoff.h"
#include "core/member.h"
#include "core/object.h"
#include "core/type.h"

namespace ftf::core {

struct ThreadState;

// _Py_BackoffCounter: 12-bit value, 4-bit backoff exponent.
struct BackoffCounter {
  uint16_t value = 0;    // 0..4095
  uint16_t backoff = 0;  // 0..12

  static constexpr BackoffCounter Make(uint16_t value, uint16_t backoff) { return BackoffCounter{value, backoff}; }
  // backoff_counter_triggers
  constexpr bool Triggers() const { return value == 0; }
  // advance_backoff_counter
  constexpr BackoffCounter Advanced() const { return Make(static_cast<uint16_t>((value - 1) & 0xFFF), backoff); }
  // restart_backoff_counter (adaptive_counter_backoff)
  constexpr BackoffCounter Restarted() const {
    if (backoff < 12) return Make(static_cast<uint16_t>((1u << (backoff + 1)) - 1), static_cast<uint16_t>(backoff + 1));
    return Make(0xFFF, 12);
  }
  // The 16-bit word (value in the high 12 bits, backoff in the low 4).
  constexpr uint16_t AsCounter() const { return static_cast<uint16_t>((value << 4) | backoff); }
  // adaptive_counter_warmup / adaptive_counter_cooldown (backoff.h constants).
  static constexpr BackoffCounter Warmup() { return Make(kAdaptiveWarmupValue, kAdaptiveWarmupBackoff); }
  static constexpr BackoffCounter Cooldown() { return Make(kAdaptiveCooldownValue, kAdaptiveCooldownBackoff); }
  constexpr bool operator==(const BackoffCounter&) const = default;
};

enum class AttrOpcode : uint8_t { kLoadAttr, kLoadAttrSlot, kStoreAttr, kStoreAttrSlot };
const char* AttrOpcodeName(AttrOpcode op);

// One LOAD_ATTR or STORE_ATTR instruction (of one thread's bytecode copy)
// with its inline cache. The attribute name is fixed per instruction.
class AttrSite {
 public:
  enum class Family : uint8_t { kLoad, kStore };

  AttrSite(TypeSystem& sys, Family family, std::string name);

  TypeSystem& sys() const { return *sys_; }
  Family family() const { return family_; }
  const std::string& name() const { return name_; }
  AttrOpcode opcode() const { return opcode_; }
  bool is_specialized() const { return opcode_ == AttrOpcode::kLoadAttrSlot || opcode_ == AttrOpcode::kStoreAttrSlot; }
  BackoffCounter counter() const { return counter_; }
  uint32_t cached_version() const { return version_; }  // _PyAttrCache.version
  uint16_t cached_index() const { return index_; }      // _PyAttrCache.index (byte offset)
  int owner_thread() const { return owner_thread_; }    // -1 until first executed

  // Back to a never-executed instruction (generic opcode, warm-up counter).
  void Reset();

 private:
  friend AttrResult LoadAttr(ThreadState& ts, AttrSite& site, Object* owner);
  friend AttrResult StoreAttr(ThreadState& ts, AttrSite& site, Object* owner, Object* value);
  friend struct SiteAccess;

  TypeSystem* sys_;
  Family family_;
  std::string name_;
  AttrOpcode opcode_;
  BackoffCounter counter_;
  uint32_t version_ = 0;
  uint16_t index_ = 0;
  int owner_thread_ = -1;
};

// Executes the instruction once: `owner.<name>`, a new reference in
// result.value (or an error). `owner` is borrowed (the caller holds it).
AttrResult LoadAttr(ThreadState& ts, AttrSite& site, Object* owner);

// Executes the instruction once: `owner.<name> = value`. Consumes the
// caller's reference to `value` (the stack reference): the specialized form
// moves it into the slot; the generic form stores a new reference through
// PyMember_SetOne and then drops this one, also on error.
AttrResult StoreAttr(ThreadState& ts, AttrSite& site, Object* owner, Object* value);

}  // namespace ftf::core

#endif  // FTF_CORE_SLOT_ACCESS_H_
