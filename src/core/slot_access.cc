// slot_access.cc - LOAD_ATTR / STORE_ATTR, their specializer and the
// LOAD_ATTR_SLOT / STORE_ATTR_SLOT forms (see slot_access.h).

#include "core/slot_access.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "core/refcount.h"
#include "core/thread_state.h"
#include "core/variant.h"

namespace ftf::core {

const char* AttrOpcodeName(AttrOpcode op) {
  switch (op) {
    case AttrOpcode::kLoadAttr: return "LOAD_ATTR";
    case AttrOpcode::kLoadAttrSlot: return "LOAD_ATTR_SLOT";
    case AttrOpcode::kStoreAttr: return "STORE_ATTR";
    case AttrOpcode::kStoreAttrSlot: return "STORE_ATTR_SLOT";
  }
  return "?";
}

AttrSite::AttrSite(TypeSystem& sys, Family family, std::string name)
    : sys_(&sys), family_(family), name_(std::move(name)) {
  Reset();
}

void AttrSite::Reset() {
  opcode_ = family_ == Family::kLoad ? AttrOpcode::kLoadAttr : AttrOpcode::kStoreAttr;
  counter_ = BackoffCounter::Warmup();
  version_ = 0;
  index_ = 0;
  owner_thread_ = -1;
}

// The instruction's internals, with access to the site's cache.
struct SiteAccess {
  // Thread-local bytecode: one thread executes (and specializes) a copy.
  static void CheckOwner(const ThreadState& ts, AttrSite& site) {
    if (site.owner_thread_ < 0) site.owner_thread_ = ts.index;
    if (site.owner_thread_ != ts.index) {
      std::fprintf(stderr, "ftfuzz: model fatal error: instruction site '%s' of thread %d executed by thread %d\n",
                   site.name_.c_str(), site.owner_thread_, ts.index);
      std::abort();
    }
  }

  // specialize(): the cache entries are already written; change the opcode
  // (a CAS in CPython, which only instrumentation could lose), then cooldown.
  static void Specialize(AttrSite& site, AttrOpcode op) {
    site.opcode_ = op;
    site.counter_ = BackoffCounter::Cooldown();
  }

  // unspecialize(): back to the generic opcode, counter backed off.
  static void Unspecialize(AttrSite& site) {
    site.opcode_ = site.family_ == AttrSite::Family::kLoad ? AttrOpcode::kLoadAttr : AttrOpcode::kStoreAttr;
    site.counter_ = site.counter_.Restarted();
  }

  // The common part of _Py_Specialize_LoadAttr / _Py_Specialize_StoreAttr for
  // an OBJECT_SLOT descriptor. True on success (cache written, opcode changed).
  static bool SpecializeSlot(ThreadState& ts, AttrSite& site, Object* owner) {
    const bool load = site.family_ == AttrSite::Family::kLoad;
    Type* tp = owner->ob_type.LoadPlain();  // Py_TYPE(owner)
    if (tp == nullptr || !tp->IsReady()) return Fail(site);
    TypeLookup found = LookupMemberAndVersion(ts, tp, site.name_);
    // No version: unspecializable (out of versions). No member: ABSENT, which
    // CPython may specialize otherwise (instance dicts), never for slots.
    if (found.version == 0 || found.member == nullptr) return Fail(site);
    const MemberDef& m = *found.member;
    // PyObject_TypeCheck(owner, member->d_common.d_type): Py_TYPE read again.
    Type* now = owner->ob_type.LoadPlain();
    if (now == nullptr || !IsSubtype(now, m.d_type)) return Fail(site);  // SPEC_FAIL_EXPECTED_ERROR
    if (load && (m.flags & kMemberAuditRead) != 0) return Fail(site);     // SPEC_FAIL_ATTR_AUDITED_SLOT
    if (!load && (m.flags & kMemberReadOnly) != 0) return Fail(site);     // SPEC_FAIL_ATTR_READ_ONLY
    if (m.offset != static_cast<uint16_t>(m.offset)) return Fail(site);   // SPEC_FAIL_OUT_OF_RANGE
    // Cache writes first (plain: this thread's copy), then the opcode.
    site.index_ = static_cast<uint16_t>(m.offset);
    site.version_ = found.version;
    Specialize(site, load ? AttrOpcode::kLoadAttrSlot : AttrOpcode::kStoreAttrSlot);
    return true;
  }

  static bool Fail(AttrSite& site) {
    Unspecialize(site);
    return false;
  }

  // _GUARD_TYPE_VERSION: Py_TYPE is a plain load; the tag a relaxed load.
  static bool GuardTypeVersion(const AttrSite& site, Object* owner) {
    Type* tp = owner->ob_type.LoadPlain();
    if (tp == nullptr) return false;  // bare `object`: its version is never cached here
    return tp->tp_version_tag.LoadRelaxed() == site.version_;
  }

  // LOAD_ATTR_SLOT. False = deopt (nothing taken, but a failed
  // TryIncrefCompare may have dropped a reference and freed the value).
  static bool LoadAttrSlot(ThreadState& ts, const AttrSite& site, Object* owner, AttrResult* r) {
    if (!GuardTypeVersion(site, owner)) return false;
    Cell<Object*>& addr = SlotAt(owner, site.index_);
    Object* v = addr.LoadSeqCst();  // FT_ATOMIC_LOAD_PTR
    if (v == nullptr) return false;
    if (!TryIncrefCompare(ts, addr, v)) return false;
    r->value = v;
    return true;
  }

  // STORE_ATTR_SLOT. False = deopt (value not consumed).
  static bool StoreAttrSlot(ThreadState& ts, const AttrSite& site, Object* owner, Object* value) {
    if (!GuardTypeVersion(site, owner)) return false;
    Cell<Object*>& addr = SlotAt(owner, site.index_);
    // lockfree_slots_fixed: see MemberSetOne. The stack reference being
    // stored keeps `value` alive. (After the guard, so a deopt leaves the
    // value to the generic path, which does the same.)
    if (value != nullptr && site.sys_->variant().slot_store_sets_maybe_weakref) SetMaybeWeakref(ts, value);
    Object* old = nullptr;
    switch (site.sys_->variant().slot_store_bytecode) {
      case SlotStoreBytecode::kLockObject:
        if (!owner->ob_mutex.LockFast()) return false;  // LOCK_OBJECT: never blocks
        old = addr.LoadPlain();
        addr.StoreRelease(value);  // steals the stack reference
        owner->ob_mutex.Unlock();  // UNLOCK_OBJECT
        break;
      case SlotStoreBytecode::kExchange:
        old = addr.ExchangeSeqCst(value);
        break;
      case SlotStoreBytecode::kPlainLoadStore:
        old = addr.LoadPlain();
        addr.StorePlain(value);
        break;
    }
    XDecref(ts, old);
    return true;
  }

  // _SPECIALIZE_LOAD_ATTR / _SPECIALIZE_STORE_ATTR. True when the counter
  // triggered and a specialization was attempted (the caller re-dispatches);
  // otherwise the counter advanced and the generic body must run.
  static bool Prologue(ThreadState& ts, AttrSite& site, Object* owner, AttrResult* r) {
    if (site.counter_.Triggers()) {
      ++r->specialize_attempts;
      if (SpecializeSlot(ts, site, owner)) ++r->specialize_successes;
      return true;
    }
    site.counter_ = site.counter_.Advanced();
    return false;
  }
};

AttrResult LoadAttr(ThreadState& ts, AttrSite& site, Object* owner) {
  SiteAccess::CheckOwner(ts, site);
  AttrResult r;
  for (;;) {
    if (site.opcode_ == AttrOpcode::kLoadAttrSlot) {
      if (SiteAccess::LoadAttrSlot(ts, site, owner, &r)) {
        r.specialized = true;
        r.name = site.name_;
        return r;
      }
      ++r.deopts;  // DEOPT_IF: continue as the generic instruction, prologue included
    }
    if (SiteAccess::Prologue(ts, site, owner, &r)) continue;  // DISPATCH_SAME_OPARG
    AttrResult g = GenericGetAttr(ts, owner, site.name_);    // PyObject_GetAttr
    g.deopts = r.deopts;
    g.specialize_attempts = r.specialize_attempts;
    g.specialize_successes = r.specialize_successes;
    return g;
  }
}

AttrResult StoreAttr(ThreadState& ts, AttrSite& site, Object* owner, Object* value) {
  SiteAccess::CheckOwner(ts, site);
  AttrResult r;
  for (;;) {
    if (site.opcode_ == AttrOpcode::kStoreAttrSlot) {
      if (SiteAccess::StoreAttrSlot(ts, site, owner, value)) {
        r.specialized = true;
        r.name = site.name_;
        return r;
      }
      ++r.deopts;
    }
    if (SiteAccess::Prologue(ts, site, owner, &r)) continue;
    AttrResult g = GenericSetAttr(ts, owner, site.name_, value);  // PyObject_SetAttr
    XDecref(ts, value);                                           // PyStackRef_CLOSE(v)
    g.deopts = r.deopts;
    g.specialize_attempts = r.specialize_attempts;
    g.specialize_successes = r.specialize_successes;
    return g;
  }
}

}  // namespace ftf::core
