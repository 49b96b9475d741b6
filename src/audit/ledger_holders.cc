// ledger_holders.cc - who holds each object: the holder scan behind
// PREMATURE_FREE, the end-of-run LEAK check, and the live-object queries of
// the runner's tear-down (see ledger.h and holders.h).

#include <unordered_map>

#include "absl/strings/str_format.h"
#include "audit/audit_scope.h"
#include "audit/ledger.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/thread_state.h"
#include "program/op.h"

namespace ftf::audit {

using core::Object;

// The references the ledger can see itself, then the interpreter's.
// NOTE: the core's queues are plain vectors owned by their threads; reading
// them here is only sound while no other OS thread runs core code (fiber
// runs, or after the threads joined): LedgerOptions::check_holders.
void RefLedger::ForEachReference(const HolderVisitor& visit) const {
  // (a) Slots of every object whose block is live, dying ones included: a
  // dealloc clears a slot before dropping the reference it held.
  for (size_t id = 0; id < lives_used_; ++id) {
    const ObjectLife& life = lives_[id];
    if (life.id == 0 || life.state == LifeState::kFreed || life.ptr == nullptr || life.immortal) continue;
    const core::Cell<Object*>* slots = core::SlotsOf(life.ptr);
    for (uint32_t i = 0; i < life.nslots; ++i) {
      const Object* v = slots[i].Peek();
      if (v != nullptr) visit(Holder{Holder::Kind::kSlot, -1, static_cast<int>(i), life.id, {}}, v);
    }
  }
  // (b) The core's queues: each entry holds one reference.
  for (int t = 0; t < rt_.num_threads(); ++t) {
    const core::ThreadState& ts = rt_.thread(t);
    for (const Object* v : ts.brc_queue) visit(Holder{Holder::Kind::kBrcQueue, t, -1, 0, {}}, v);
    for (const Object* v : ts.brc_local) visit(Holder{Holder::Kind::kBrcQueue, t, -1, 0, {}}, v);
    for (size_t i = ts.delayed_rd; i < ts.delayed.size(); ++i) {
      const core::DelayedItem& d = ts.delayed[i];
      if (d.kind == core::DelayedItem::kDecref && d.ptr != nullptr) {
        visit(Holder{Holder::Kind::kDelayedDecref, t, -1, 0, {}}, static_cast<const Object*>(d.ptr));
      }
    }
  }
  const core::QsbrShared& q = rt_.qsbr;
  for (size_t i = q.queue_rd; i < q.queue.size(); ++i) {
    const core::DelayedItem& d = q.queue[i];
    if (d.kind == core::DelayedItem::kDecref && d.ptr != nullptr) {
      visit(Holder{Holder::Kind::kDelayedDecref, -1, -1, 0, {}}, static_cast<const Object*>(d.ptr));
    }
  }
  // (c) The interpreter's registers, shared table and dicts.
  if (holders_ != nullptr) {
    holders_->ForEachHolder([&](const Holder& h, const Object* v) {
      if (v != nullptr) visit(h, v);
    });
  }
}

FTF_AUDIT_HOT size_t RefLedger::CountReferencesTo(const Object* o) const {
  size_t n = 0;
  // (a) The lives ForEachReference reads slots of: exactly scan_objects_
  // (no block freed, nslots > 0), minus immortal ones and reused blocks.
  for (const uint64_t id : scan_objects_) {
    const ObjectLife& life = lives_[id];
    if (life.ptr == nullptr || life.immortal) continue;
    const core::Cell<Object*>* slots = core::SlotsOf(life.ptr);
    for (uint32_t i = 0; i < life.nslots; ++i) n += slots[i].Peek() == o ? 1 : 0;
  }
  // (b) The core's queues.
  for (int t = 0; t < rt_.num_threads(); ++t) {
    const core::ThreadState& ts = rt_.thread(t);
    for (const Object* v : ts.brc_queue) n += v == o ? 1 : 0;
    for (const Object* v : ts.brc_local) n += v == o ? 1 : 0;
    for (size_t i = ts.delayed_rd; i < ts.delayed.size(); ++i) {
      const core::DelayedItem& d = ts.delayed[i];
      n += d.kind == core::DelayedItem::kDecref && d.ptr == o ? 1 : 0;
    }
  }
  const core::QsbrShared& q = rt_.qsbr;
  for (size_t i = q.queue_rd; i < q.queue.size(); ++i) {
    const core::DelayedItem& d = q.queue[i];
    n += d.kind == core::DelayedItem::kDecref && d.ptr == o ? 1 : 0;
  }
  // (c) The interpreter's.
  if (holders_ != nullptr) n += holders_->CountHolding(o);
  return n;
}

std::vector<Holder> RefLedger::HoldersOf(uint64_t id) const {
  AuditScope scope(mu_);
  std::vector<Holder> out;
  const ObjectLife* life = Find(id);
  if (life == nullptr || life->ptr == nullptr) return out;
  const Object* target = life->ptr;
  ForEachReference([&](const Holder& h, const Object* v) {
    if (v == target) out.push_back(h);
  });
  return out;
}

std::string RefLedger::FormatHolders(const std::vector<Holder>& hs) const {
  std::string out;
  for (const Holder& h : hs) absl::StrAppendFormat(&out, "held by %s\n", DescribeHolder(h));
  return out;
}

// LEAK: INV-RC-1 (core/refcount.h; a non-owner that subtracts at count 0
// instead of queueing leaves the owner's local count stranded) and INV-DICT-3
// (core/dict.h; every non-NULL dict value is a holder, ForEachDictHolder).
void RefLedger::CheckEnd(bool world_torn_down) {
  AuditScope scope(mu_);
  if (finding_.has_value()) return;  // the first finding stands
  std::unordered_map<const Object*, std::vector<Holder>> held;
  if (options_.check_holders) {
    ForEachReference([&](const Holder& h, const Object* v) { held[v].push_back(h); });
  }
  std::vector<const ObjectLife*> leaked;
  std::string details;
  for (size_t id = 0; id < lives_used_; ++id) {
    const ObjectLife& life = lives_[id];
    if (life.id == 0 || life.state != LifeState::kLive || life.ptr == nullptr || life.immortal) continue;
    if (life.type_object) continue;
    const int64_t refcnt = TrueCount(life, life.ptr);
    auto it = held.find(life.ptr);
    // Tagged stack references point to the object but hold no count.
    size_t n = 0;
    if (it != held.end()) {
      for (const Holder& h : it->second) n += h.deferred ? 0 : 1;
    }
    if (!world_torn_down && n != 0 && refcnt == static_cast<int64_t>(n)) continue;
    leaked.push_back(&life);
    absl::StrAppendFormat(&details, "obj#%d: refcount %d, %d reference(s) held; allocated by T%d at step %d", life.id,
                          refcnt, n, life.alloc_thread, life.alloc_step);
    if (life.alloc_opcode < program::kNumOpCodes) {
      absl::StrAppendFormat(&details, " in op#%d %s", life.alloc_op,
                            program::GetOpInfo(static_cast<program::OpCode>(life.alloc_opcode)).mnemonic);
    }
    details += "\n";
    if (it != held.end()) details += FormatHolders(it->second);
  }
  if (leaked.empty()) return;
  const ObjectLife& first = *leaked.front();
  const int64_t refcnt = TrueCount(first, first.ptr);
  auto it = held.find(first.ptr);
  size_t n = 0;  // counted holders (a tagged stack reference holds no count)
  if (it != held.end()) {
    for (const Holder& h : it->second) n += h.deferred ? 0 : 1;
  }
  Finding f;
  f.kind = FindingKind::kLeak;
  f.auditor = "ledger";
  for (const ObjectLife* l : leaked) f.objects.push_back(l->id);
  f.operation = first.alloc_opcode < program::kNumOpCodes
                    ? program::GetOpInfo(static_cast<program::OpCode>(first.alloc_opcode)).mnemonic
                    : "set-up";
  if (n == 0) {
    f.message = absl::StrFormat("obj#%d is alive at the end of the run with refcount %d and no holder", first.id,
                                refcnt);
  } else if (world_torn_down) {
    f.message = absl::StrFormat("obj#%d is alive after tear-down with refcount %d, held only by %d reference(s) "
                                "of leaked objects", first.id, refcnt, n);
  } else {
    f.message = absl::StrFormat("obj#%d has refcount %d but %d reference(s) are held", first.id, refcnt, n);
  }
  if (leaked.size() > 1) absl::StrAppendFormat(&f.message, " (%d objects leak)", leaked.size());
  f.details = std::move(details);
  finding_ = std::move(f);  // recorded, never thrown: the run is over
}

std::vector<std::pair<uint64_t, Object*>> RefLedger::LiveObjectsWithSlots() const {
  AuditScope scope(mu_);
  std::vector<std::pair<uint64_t, Object*>> objs;
  for (size_t id = 0; id < lives_used_; ++id) {
    const ObjectLife& life = lives_[id];
    if (life.id == 0 || life.state != LifeState::kLive || life.ptr == nullptr || life.immortal) continue;
    if (life.nslots > 0) objs.emplace_back(life.id, life.ptr);
  }
  return objs;
}

std::vector<std::pair<uint64_t, Object*>> RefLedger::LiveDeferredObjects() const {
  AuditScope scope(mu_);
  std::vector<std::pair<uint64_t, Object*>> objs;
  for (size_t id = 0; id < lives_used_; ++id) {
    const ObjectLife& life = lives_[id];
    if (life.id == 0 || life.state != LifeState::kLive || life.ptr == nullptr || life.immortal) continue;
    if (life.deferred && !life.type_object) objs.emplace_back(life.id, life.ptr);
  }
  return objs;
}

bool RefLedger::IsLive(uint64_t id, const Object* o) const {
  AuditScope scope(mu_);
  const ObjectLife* l = Find(id);
  return l != nullptr && l->state == LifeState::kLive && l->ptr == o;
}

// The collector clears only what it found unreachable: every reference to
// it comes from slots of other unreachable objects. A root (what the
// interpreter's HolderSource lists: registers, the shared table, dict
// entries) is never such a slot, so one holding `o` means the collector is
// about to break a live object (tp_clear) and drop a reference it does not
// own: the object, still in use, loses its contents and later its memory.
FTF_AUDIT_UNSEEN void RefLedger::OnGcClear(core::ThreadState& ts, Object* o) {
  AuditScope scope(mu_);
  if (!options_.check_holders || holders_ == nullptr) return;
  const uint64_t id = core::ObjectId(o);
  if (Find(id) == nullptr || holders_->CountHolding(o) == 0) return;
  std::vector<Holder> holders;
  holders_->ForEachHolder([&](const Holder& h, const Object* v) {
    if (v == o) holders.push_back(h);
  });
  Finding f = Make(FindingKind::kPrematureFree, ts.index, id,
                   absl::StrFormat("the cyclic collector clears obj#%d as unreachable while %d root reference(s) "
                                   "to it are held",
                                   id, holders.size()));
  f.details = FormatHolders(holders);
  Fail(std::move(f));
}

}  // namespace ftf::audit
