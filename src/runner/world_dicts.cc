// world_dicts.cc - dicts made during a run, and the operations on them (see
// world.h; CPython's side: docs/cpython-model.md §18).
//
// `rR = dict()` makes a dict owned by the executing thread (dict_new sets
// ob_tid through _PyObject_Init, Objects/dictobject.c); the register holds
// it like any object, and a slot or global store publishes it to the other
// threads. `X[g] = V`, `rR = X[g]` and `del X[g]` run PyDict_SetItem,
// dict_subscript and PyDict_DelItem on it, so a non-owner's first read marks
// it SHARED mid-run (ensure_shared_on_read), a non-owner's resize marks it
// (ensure_shared_on_resize), and the owner's resize of a dict nobody else has
// read frees the old keys at once while a shared one's wait for QSBR.
//
// Lifetime: the World's table keeps a reference to every such dict until
// tear-down. dict_dealloc of a dict is not what these operations are about,
// and it keeps the object -> dict lookup free of any synchronization a
// concurrent free would need (the table is read with relaxed loads only).

#include "audit/audit_scope.h"
#include "audit/value_log.h"
#include "core/refcount.h"
#include "runner/world.h"

namespace ftf::runner {

using program::OpCode;
using Result = Observation::Result;

void World::ResetRunDicts(const program::Program& p) {
  for (size_t t = 0; t < run_dicts_.size(); ++t) {
    RunDicts& rd = run_dicts_[t];
    for (size_t i = 0; i < rd.capacity; ++i) {
      core::Dict* d = rd.entries[i].dict.load(std::memory_order_relaxed);
      if (d != nullptr) core::DictDiscard(d);
      rd.entries[i].dict.store(nullptr, std::memory_order_relaxed);
      rd.entries[i].ob.store(nullptr, std::memory_order_relaxed);
    }
    rd.used = 0;
    const size_t need = t < p.threads.size() ? p.threads[t].ops.size() : 0;
    if (need > rd.capacity) {
      rd.entries = std::make_unique<RunDict[]>(need);
      rd.capacity = need;
    }
  }
}

core::Dict* World::RunDictOf(const core::Object* o) const {
  if (o == nullptr) return nullptr;
  for (const RunDicts& rd : run_dicts_) {
    for (size_t i = 0; i < rd.capacity; ++i) {
      if (rd.entries[i].ob.load(std::memory_order_relaxed) == o) return rd.entries[i].dict.load(std::memory_order_relaxed);
    }
  }
  return nullptr;
}

void World::FreeRunDicts(core::ThreadState& ts) {
  for (RunDicts& rd : run_dicts_) {
    for (size_t i = 0; i < rd.capacity; ++i) {
      core::Dict* d = rd.entries[i].dict.load(std::memory_order_relaxed);
      if (d == nullptr) continue;
      // Out of the holder list first (holders.h), then free.
      rd.entries[i].ob.store(nullptr, std::memory_order_relaxed);
      rd.entries[i].dict.store(nullptr, std::memory_order_relaxed);
      core::DictFree(ts, d);
    }
    rd.used = 0;
  }
}

// Auditor callbacks (FTF_AUDIT_HOT: not instrumented by TSan). They read the
// dicts with Peek only, and the key texts from the World's own DictState.
FTF_AUDIT_HOT void World::ForEachRunDictHolder(const audit::HolderVisitor& visit) const {
  for (const RunDicts& rd : run_dicts_) {
    for (size_t i = 0; i < rd.capacity; ++i) {
      const core::Object* ob = rd.entries[i].ob.load(std::memory_order_relaxed);
      const core::Dict* d = rd.entries[i].dict.load(std::memory_order_relaxed);
      if (ob == nullptr || d == nullptr) continue;
      visit(audit::Holder{audit::Holder::Kind::kDict, -1, -1, 0, "dict()"}, ob);
      for (const core::DictPeekedEntry& e : core::DictPeekEntries(d)) {
        const std::string* text = dict_state_.TextOf(e.key);
        visit(audit::Holder{audit::Holder::Kind::kDictValue, -1, static_cast<int>(e.ix), core::ObjectId(ob),
                            text != nullptr ? std::string_view(*text) : std::string_view("?")},
              e.value);
      }
    }
  }
}

FTF_AUDIT_HOT size_t World::CountRunDictHolding(const core::Object* o) const {
  size_t n = 0;
  for (const RunDicts& rd : run_dicts_) {
    for (size_t i = 0; i < rd.capacity; ++i) {
      const core::Object* ob = rd.entries[i].ob.load(std::memory_order_relaxed);
      const core::Dict* d = rd.entries[i].dict.load(std::memory_order_relaxed);
      if (ob == nullptr || d == nullptr) continue;
      n += ob == o ? 1 : 0;
      const core::DictKeys* keys = d->ma_keys.Peek();
      const intptr_t entries = keys->dk_nentries.Peek();
      const core::DictUnicodeEntry* ep = keys->entries();
      for (intptr_t k = 0; k < entries; ++k) n += ep[k].me_value.Peek() == o ? 1 : 0;
    }
  }
  return n;
}

void World::ExecuteDictOp(core::ThreadState& ts, int t, const program::Op& op, core::Object* target,
                          core::Object* value, Observation& obs) {
  if (op.code == OpCode::kNewDict) {
    // dict_new: the new dict (and its first keys object) is owned by ts.
    core::Dict* d = core::DictNew(ts, dict_state_);
    core::Incref(ts, d->ob);  // the table's reference
    RunDicts& rd = run_dicts_[static_cast<size_t>(t)];
    RunDict& e = rd.entries[rd.used++];  // Build sized the table: one entry per operation at most
    e.dict.store(d, std::memory_order_relaxed);
    e.ob.store(d->ob, std::memory_order_relaxed);
    SetReg(ts, t, op.reg, core::StackRefFromSteal(d->ob));
    return;
  }
  core::Dict* d = RunDictOf(target);
  if (d == nullptr) {
    // `'T0' object is not subscriptable` (or does not support item assignment).
    obs.result = Result::kTypeError;
    core::XDecref(ts, value);
    return;
  }
  core::Object* key = names_[op.name];
  switch (op.code) {
    case OpCode::kDictStore:
      NoteStore(ts, d->ob, audit::DictKey(op.name), value);
      core::DictSetItem(ts, d, key, value);  // borrows value
      core::XDecref(ts, value);
      break;
    case OpCode::kDictLoad: {
      core::DictLookupResult r = core::DictLookupThreadsafe(ts, d, key, env_.variant->recheck_after_value_load);
      if (r.value == nullptr) {
        obs.result = Result::kKeyError;
        break;
      }
      ledger_.CheckLoad(ts, {{d->ob, audit::DictKey(op.name)}}, r.value);
      obs.loaded_id = r.value == rt_.none() ? 0 : static_cast<int64_t>(core::ObjectId(r.value));
      SetReg(ts, t, op.reg, core::StackRefFromSteal(r.value));
      break;
    }
    case OpCode::kDictDelete:
      if (!core::DictDelItem(ts, d, key)) obs.result = Result::kKeyError;
      break;
    default:
      break;
  }
}

}  // namespace ftf::runner
