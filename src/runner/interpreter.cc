// interpreter.cc - the operations of a logical thread (see runner.h).

#include "audit/step_note.h"
#include "audit/value_log.h"
#include "core/class_assign.h"
#include "core/critical_section.h"
#include "core/member.h"
#include "core/object.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "core/stw.h"
#include "runner/world.h"

namespace ftf::runner {
namespace {

using program::OpCode;
using Result = Observation::Result;

uint32_t SiteKeyOf(const program::Op& op, program::SiteFamily family, uint8_t name) {
  return (static_cast<uint32_t>(family) << 16) | (static_cast<uint32_t>(name) << 8) | op.site;
}

Result FromAttr(const core::AttrResult& r) {
  if (r.ok()) return Result::kOk;
  return core::IsTypeError(r.error) ? Result::kTypeError : Result::kAttributeError;
}

int64_t IdOf(const core::Runtime& rt, const core::Object* o) {
  if (o == nullptr) return -1;
  if (o == rt.none()) return 0;
  return static_cast<int64_t>(core::ObjectId(o));
}

// What a started thread waits for before its first operation.
struct LaunchWait {
  const core::Cell<uint8_t>* launched;
};
bool Launched(const void* ctx) { return static_cast<const LaunchWait*>(ctx)->launched->Peek() != 0; }

}  // namespace

void World::RunThread(int t) {
  core::ThreadState& ts = rt_.thread(t);
  if ((started_by_program_ & (1u << t)) != 0) {
    // Not created yet: wait for an earlier thread's `start tK`, which made
    // the thread state (core::ThreadCreate), then bind and attach.
    const core::Cell<uint8_t>& launched = launched_[static_cast<size_t>(t)];
    LaunchWait w{&launched};
    core::WaitUntil(core::WaitSpec{"thread start (not started yet)", &launched, &Launched, &w, core::Loc::Here()});
    (void)launched.LoadAcquire();
    core::ThreadBindAndAttach(ts);
  } else {
    core::ThreadStart(ts);
  }
  const auto& ops = prog_->threads[static_cast<size_t>(t)].ops;
  for (size_t i = 0; i < ops.size(); ++i) {
    const program::Op& op = ops[i];
    const core::Object* subject =
        program::UsesField(op.code, program::kFieldTarget) ? Target(t, op.target) : nullptr;
    exec_.SetNote(audit::PackStepNote(static_cast<int>(i), op.code, subject != nullptr ? core::ObjectId(subject) : 0));
    if (focus_ != nullptr) exec_.SetFocus(focus_->focus[static_cast<size_t>(t)][i]);
    ledger_.BeginOp(t, static_cast<int>(i), static_cast<uint8_t>(ops[i].code));
    Observation obs;
    Execute(ts, t, ops[i], obs);
    if (record_) observations_[static_cast<size_t>(t)].push_back(obs);
    exec_.NoteProgress();
    // An operation boundary is where CPython's _CHECK_PERIODIC checks the
    // eval breaker. With delayed frees pending, the input decides whether
    // their threshold is reached here (core/qsbr.h): then the check reports
    // the quiescent state and processes them. Without pending items nothing
    // is asked, so such programs decode and run exactly as before.
    if (core::QsbrHasPending(ts) && exec_.Choose()) {
      core::QsbrReachThreshold(ts);
      core::SafePoint(ts);
    }
  }
  // The thread's locals die with it.
  if (focus_ != nullptr) exec_.SetFocus(-1);
  ledger_.BeginOp(t, -1, 0xFF);
  for (int r = 0; r < program::kNumRegisters; ++r) SetReg(ts, t, r, core::kStackRefNull);
  core::ThreadExit(ts);
}

void World::StartThread(core::ThreadState& ts, int t, int k, Observation& obs) {
  (void)obs;  // a start that does nothing (program::StartedThreads) is still kOk
  if (k <= t || k >= program::kMaxThreads || (started_by_program_ & (1u << k)) == 0) return;
  if (start_claimed_[static_cast<size_t>(k)].exchange(1, std::memory_order_relaxed) != 0) return;
  core::ThreadCreate(ts, rt_.thread(k));
  launched_[static_cast<size_t>(k)].StoreRelease(1);  // PyThread_start_new_thread
}

core::Object* World::Target(int t, const program::Target& target) const {
  if (target.kind == program::Target::Kind::kObject) return objects_[target.index];
  return core::StackRefBorrow(regs_[static_cast<size_t>(t)][target.index]);
}

core::Object* World::NewValue(core::ThreadState& ts, int t, const program::Value& v) {
  switch (v.kind) {
    case program::Value::Kind::kRegister: {
      // PyStackRef_AsPyObjectSteal of a PyStackRef_DUP: a new counted reference.
      const core::StackRef ref = regs_[static_cast<size_t>(t)][v.index];
      return core::StackRefAsPyObjectSteal(ts, core::StackRefDup(ts, ref));
    }
    case program::Value::Kind::kObject: return core::NewRef(ts, objects_[v.index]);
    case program::Value::Kind::kFresh: return core::NewInstance(ts, types_.object_type());
    case program::Value::Kind::kNone: return rt_.none();
    case program::Value::Kind::kFreshFn: return core::NewFunctionObject(ts, types_.object_type());
  }
  return rt_.none();
}

void World::SetReg(core::ThreadState& ts, int t, int r, core::StackRef value) {
  core::StackRef& slot = regs_[static_cast<size_t>(t)][static_cast<size_t>(r)];
  const core::StackRef old = slot;
  slot = value;
  core::StackRefClose(ts, old);
}

core::AttrSite& World::AttrSiteFor(int t, const program::Op& op, bool store) {
  if (core::AttrSite* site = ArrayAttrSite(t, op, store)) return *site;  // the common case (world.cc)
  auto& sites = ctx_[static_cast<size_t>(t)].attr_sites;
  uint32_t key = SiteKeyOf(op, store ? program::SiteFamily::kStoreAttr : program::SiteFamily::kLoadAttr, op.slot);
  auto it = sites.find(key);
  if (it == sites.end()) {
    auto f = store ? core::AttrSite::Family::kStore : core::AttrSite::Family::kLoad;
    it = sites.emplace(key, std::make_unique<core::AttrSite>(types_, f, SlotNameText(op.slot))).first;
  }
  return *it->second;
}

// A specialized slot access just used the site's cached offset on `owner`:
// BAD_LAYOUT unless that offset is the member's in owner's current type.
void World::CheckSpecialized(core::ThreadState& ts, int t, const program::Op& op, core::Object* owner, bool store) {
  core::AttrSite& site = AttrSiteFor(t, op, store);
  ledger_.CheckSpecializedAccess(ts, owner, site.name(), site.cached_index());
}

core::LoadGlobalSite& World::GlobalSiteFor(int t, const program::Op& op) {
  if (core::LoadGlobalSite* site = ArrayGlobalSite(t, op)) return *site;  // the common case (world.cc)
  auto& sites = ctx_[static_cast<size_t>(t)].global_sites;
  uint32_t key = SiteKeyOf(op, program::SiteFamily::kLoadGlobal, op.name);
  auto it = sites.find(key);
  if (it == sites.end()) {
    core::LoadGlobalSite s{names_[op.name]};
    it = sites.emplace(key, s).first;
  }
  return it->second;
}

void World::Execute(core::ThreadState& ts, int t, const program::Op& op, Observation& obs) {
  const bool needs_target = program::UsesField(op.code, program::kFieldTarget);
  core::Object* target = needs_target ? Target(t, op.target) : nullptr;
  if (needs_target && target == nullptr) {
    obs.result = Result::kEmptyRegister;
    return;
  }
  const bool needs_value = program::UsesField(op.code, program::kFieldValue);
  core::Object* value = nullptr;
  if (needs_value) {
    value = NewValue(ts, t, op.value);
    if (value == nullptr) {
      obs.result = Result::kEmptyRegister;
      return;
    }
  }
  switch (op.code) {
    case OpCode::kNew:
      SetReg(ts, t, op.reg, core::StackRefFromSteal(core::NewInstance(ts, prog_types_[op.type])));
      break;
    case OpCode::kStoreAttrSlot: {
      NoteStore(ts, target, audit::SlotKey(op.slot), value);
      core::AttrResult r = core::StoreAttr(ts, AttrSiteFor(t, op, true), target, value);  // consumes value
      if (r.specialized) CheckSpecialized(ts, t, op, target, true);
      obs.result = FromAttr(r);
      obs.specialized = r.specialized;
      break;
    }
    case OpCode::kMoveToSlot: {
      const core::StackRef ref = regs_[static_cast<size_t>(t)][op.reg];
      if (core::StackRefIsNull(ref)) {
        obs.result = Result::kEmptyRegister;
        break;
      }
      core::Object* moved = core::StackRefAsPyObjectSteal(ts, ref);  // counted, even from a tagged one
      regs_[static_cast<size_t>(t)][op.reg] = core::kStackRefNull;  // the store consumes the register's reference
      NoteStore(ts, target, audit::SlotKey(op.slot), moved);
      core::AttrResult r = core::StoreAttr(ts, AttrSiteFor(t, op, true), target, moved);
      if (r.specialized) CheckSpecialized(ts, t, op, target, true);
      obs.result = FromAttr(r);
      obs.specialized = r.specialized;
      break;
    }
    case OpCode::kLoadAttrSlot: {
      core::AttrResult r = core::LoadAttr(ts, AttrSiteFor(t, op, false), target);
      if (r.ok()) ledger_.CheckLoad(ts, {{target, audit::SlotKey(op.slot)}}, r.value, r.null_as_none);
      if (r.specialized) CheckSpecialized(ts, t, op, target, false);
      obs.result = FromAttr(r);
      obs.specialized = r.specialized;
      obs.loaded_id = IdOf(rt_, r.value);
      if (r.ok()) SetReg(ts, t, op.reg, core::StackRefFromSteal(r.value));
      break;
    }
    case OpCode::kGetMember: {
      core::AttrResult r = core::GenericGetAttr(ts, target, SlotNameText(op.slot));
      if (r.ok()) ledger_.CheckLoad(ts, {{target, audit::SlotKey(op.slot)}}, r.value, r.null_as_none);
      obs.result = FromAttr(r);
      obs.loaded_id = IdOf(rt_, r.value);
      if (r.ok()) SetReg(ts, t, op.reg, core::StackRefFromSteal(r.value));
      break;
    }
    case OpCode::kSetMember: {
      NoteStore(ts, target, audit::SlotKey(op.slot), value);
      core::AttrResult r = core::GenericSetAttr(ts, target, SlotNameText(op.slot), value);  // borrows value
      obs.result = FromAttr(r);
      core::XDecref(ts, value);
      break;
    }
    case OpCode::kDelMember: {
      core::AttrResult r = core::GenericDelAttr(ts, target, SlotNameText(op.slot));
      obs.result = FromAttr(r);
      break;
    }
    case OpCode::kSetClass: {
      core::SetClassResult r = core::SetClass(ts, target, prog_types_[op.type]);
      obs.result = r.ok() ? Result::kOk : Result::kTypeError;
      break;
    }
    case OpCode::kModifyType:
      core::TypeModified(ts, prog_types_[op.type]);
      break;
    case OpCode::kTypeSetFlags:
      core::TypeSetFlagsRecursive(ts, prog_types_[op.type], core::kTpFlagsSequence, core::kTpFlagsSequence);
      break;
    case OpCode::kTypeSetAbstract:
      core::TypeSetAbstract(ts, prog_types_[op.type], /*abstract=*/false);
      break;
    case OpCode::kDrop:
      if (core::StackRefIsNull(regs_[static_cast<size_t>(t)][op.reg])) obs.result = Result::kEmptyRegister;
      SetReg(ts, t, op.reg, core::kStackRefNull);
      break;
    case OpCode::kLoadGlobal: {
      core::LoadGlobalResult r = core::LoadGlobal(ts, env_, GlobalSiteFor(t, op));
      if (!r.name_error()) {
        ledger_.CheckLoad(ts, {{globals_->ob, audit::DictKey(op.name)}, {builtins_->ob, audit::DictKey(op.name)}},
                          r.value);
      }
      obs.specialized = r.hit;
      obs.loaded_id = IdOf(rt_, r.value);
      if (r.name_error()) {
        obs.result = Result::kNameError;
      } else {
        SetReg(ts, t, op.reg, r.ref);
      }
      break;
    }
    case OpCode::kGlobalStore:
      NoteStore(ts, globals_->ob, audit::DictKey(op.name), value);
      core::StoreGlobal(ts, env_, names_[op.name], value);  // borrows value
      core::XDecref(ts, value);
      break;
    case OpCode::kGlobalInsert: {
      // globals.setdefault(name, value), the result unused (core/dict.h,
      // dict_setdefault_ref_lock_held). The ledger must learn of the store
      // before the value is in the table, where another thread may load it:
      // the core calls on_insert under the dict's lock, just before inserting.
      struct Note { World* w; core::ThreadState* ts; uint32_t key; core::Object* value; };
      Note note{this, &ts, audit::DictKey(op.name), value};
      auto on_insert = [](void* ctx) {
        Note& n = *static_cast<Note*>(ctx);
        n.w->NoteStore(*n.ts, n.w->globals_->ob, n.key, n.value);
      };
      core::DictSetDefaultRef(ts, globals_, names_[op.name], value, /*result=*/nullptr, on_insert, &note);
      core::XDecref(ts, value);
      break;
    }
    case OpCode::kGlobalDelete:
      if (!core::DeleteGlobal(ts, env_, names_[op.name])) obs.result = Result::kKeyError;
      break;
    case OpCode::kGlobalTempInsertDelete: {
      core::Object* one = core::NewInstance(ts, types_.object_type());
      if (bool deleted = true; core::InvalidateGlobals(ts, env_, temp_key_, one, &deleted), !deleted) obs.result = Result::kKeyError;
      core::Decref(ts, one);
      break;
    }
    case OpCode::kGlobalPopItem: {
      core::DictPopResult r = core::DictPopItem(ts, globals_);
      if (r.value == nullptr) {
        obs.result = Result::kKeyError;
        break;
      }
      obs.loaded_id = IdOf(rt_, r.value);
      core::XDecref(ts, r.key);
      SetReg(ts, t, op.reg, core::StackRefFromSteal(r.value));
      break;
    }
    case OpCode::kBuiltinStore:
      NoteStore(ts, builtins_->ob, audit::DictKey(op.name), value);
      core::StoreBuiltin(ts, env_, names_[op.name], value);
      core::XDecref(ts, value);
      break;
    case OpCode::kBuiltinDelete:
      if (!core::DeleteBuiltin(ts, env_, names_[op.name])) obs.result = Result::kKeyError;
      break;
    case OpCode::kQuiescent:
      core::SafePoint(ts);
      break;
    case OpCode::kYield:
      exec_.Yield();
      break;
    case OpCode::kNewDict:
    case OpCode::kDictStore:
    case OpCode::kDictLoad:
    case OpCode::kDictDelete:
      ExecuteDictOp(ts, t, op, target, value, obs);  // world_dicts.cc
      break;
    case OpCode::kGcCollect:  // gc.collect() (core/gc.h); the finalizers are World::Finalize
      core::GcCollect(ts, *this, gc_options_);
      break;
    case OpCode::kStartThread:
      StartThread(ts, t, op.thread, obs);
      break;
  }
}

}  // namespace ftf::runner
