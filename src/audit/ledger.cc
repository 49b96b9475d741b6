// ledger.cc - the ledger's observer callbacks and the checks made at each
// step (see ledger.h). Holder counting and the end-of-run check are in
// ledger_holders.cc, value checks in ledger_values.cc, formatting in
// ledger_format.cc, raw blocks and access checks in ledger_memory.cc.

#include "audit/ledger.h"

#include <algorithm>
#include <exception>

#include "absl/strings/str_format.h"
#include "audit/audit_scope.h"
#include "audit/ledger_internal.h"
#include "core/object.h"
#include "core/runtime.h"
#include "core/thread_state.h"
#include "program/op.h"

namespace ftf::audit {

using core::Object;
using core::RefOp;
using core::ThreadState;

RefLedger::RefLedger(core::Runtime& rt, LedgerOptions options) : rt_(rt), options_(options) { Reset(); }

RefLedger::~RefLedger() {
  if (rt_.observer == this) rt_.observer = nullptr;
}

void RefLedger::Install() { rt_.observer = this; }

void RefLedger::Uninstall() {
  if (rt_.observer == this) rt_.observer = nullptr;
}

void RefLedger::Reset() {
  AuditScope scope(mu_);
  // Entries of the last run are invalidated in place: their event vectors
  // keep their capacity, so the next run's history allocates far less.
  for (size_t i = 0; i < lives_used_ && i < lives_.size(); ++i) {
    lives_[i].id = 0;
    lives_[i].events.clear();
  }
  lives_used_ = 0;
  scan_objects_.clear();
  events_.clear();
  free_blocks_.clear();
  raw_live_.clear();
  raw_freed_.clear();
  next_raw_id_ = 1;
  seq_ = 0;
  for (int i = 0; i < kMaxThreadsTracked; ++i) {
    current_op_[i] = -1;
    current_opcode_[i] = 0xFF;
  }
  values_.Reset();
  finding_.reset();
}

FTF_AUDIT_HOT ObjectLife* RefLedger::Find(uint64_t id) {
  if (id == 0 || id >= lives_.size() || lives_[id].id != id) return nullptr;
  return &lives_[id];
}

FTF_AUDIT_HOT const ObjectLife* RefLedger::Find(uint64_t id) const {
  if (id == 0 || id >= lives_.size() || lives_[id].id != id) return nullptr;
  return &lives_[id];
}

const ObjectLife* RefLedger::Life(uint64_t id) const {
  AuditScope scope(mu_);
  return Find(id);
}

FTF_AUDIT_HOT int64_t RefLedger::TrueCount(const ObjectLife& life, const Object* o) {
  const int64_t refcnt = core::PeekRefcnt(o);
  return life.deferred ? refcnt - life.deferred_bias : refcnt;
}

FTF_AUDIT_HOT LedgerEvent& RefLedger::Record(int thread, uint64_t object, LedgerEventKind kind) {
  LedgerEvent e;
  e.seq = ++seq_;
  e.step = internal::CurrentStep();
  e.object = object;
  e.thread = static_cast<int8_t>(thread);
  e.kind = kind;
  if (thread >= 0 && thread < kMaxThreadsTracked) {
    e.op_index = current_op_[thread];
    e.opcode = current_opcode_[thread];
  }
  if (!options_.keep_history) {
    scratch_ = e;
    return scratch_;
  }
  events_.push_back(e);
  if (ObjectLife* life = Find(object)) life->events.push_back(static_cast<uint32_t>(events_.size() - 1));
  return events_.back();
}

Finding RefLedger::Make(FindingKind kind, int thread, uint64_t object, std::string message) const {
  Finding f;
  f.kind = kind;
  f.auditor = "ledger";
  f.step = internal::CurrentStep();
  f.thread = thread;
  if (object != 0) f.objects.push_back(object);
  internal::LastStep last = internal::CurrentSite(thread);
  f.site = std::move(last.site);
  if (thread >= 0 && thread < kMaxThreadsTracked && current_opcode_[thread] < program::kNumOpCodes) {
    f.operation = program::GetOpInfo(static_cast<program::OpCode>(current_opcode_[thread])).mnemonic;
  } else if (last.operation != nullptr) {
    f.operation = last.operation;  // no BeginOp: the step note names it
  }
  f.message = std::move(message);
  return f;
}

void RefLedger::Fail(Finding f) {
  if (finding_.has_value()) return;  // the first finding is the one reported
  finding_ = f;
  // Never throw while unwinding (an abandoned run's destructors may still
  // drop references): that would terminate the process.
  if (options_.throw_on_finding && std::uncaught_exceptions() == 0) throw FindingException(std::move(f));
}

FTF_AUDIT_UNSEEN void RefLedger::BeginOp(int thread, int op_index, uint8_t opcode) {
  AuditScope scope(mu_);
  if (thread < 0 || thread >= kMaxThreadsTracked) return;
  current_op_[thread] = op_index;
  current_opcode_[thread] = opcode;
}

// --- object life ---------------------------------------------------------

FTF_AUDIT_UNSEEN void RefLedger::OnAlloc(ThreadState& ts, Object* o) {
  AuditScope scope(mu_);
  const uint64_t id = core::ObjectId(o);
  if (id >= lives_.size()) lives_.resize(std::max<size_t>(id + 1, lives_.size() * 2));
  lives_used_ = std::max<size_t>(lives_used_, id + 1);
  ObjectLife& life = lives_[id];
  if (life.scan_pos >= 0 && life.id != 0) RemoveFromScan(life);  // (ids are unique per run)
  std::vector<uint32_t> kept = std::move(life.events);
  kept.clear();
  life = ObjectLife{};
  life.events = std::move(kept);
  life.id = id;
  life.ptr = o;
  life.nslots = o->nslots();
  life.alloc_thread = ts.index;
  life.alloc_step = internal::CurrentStep();
  if (ts.index >= 0 && ts.index < kMaxThreadsTracked) {
    life.alloc_op = current_op_[ts.index];
    life.alloc_opcode = current_opcode_[ts.index];
  }
  if (life.nslots > 0) AddToScan(life);
  LedgerEvent& e = Record(ts.index, id, LedgerEventKind::kCreated);
  e.total_after = core::PeekRefcnt(o);
}

FTF_AUDIT_HOT void RefLedger::AddToScan(ObjectLife& life) {
  life.scan_pos = static_cast<int32_t>(scan_objects_.size());
  scan_objects_.push_back(life.id);
}

FTF_AUDIT_HOT void RefLedger::RemoveFromScan(ObjectLife& life) {
  const size_t pos = static_cast<size_t>(life.scan_pos);
  const uint64_t last = scan_objects_.back();
  scan_objects_[pos] = last;
  lives_[last].scan_pos = static_cast<int32_t>(pos);
  scan_objects_.pop_back();
  life.scan_pos = -1;
}

FTF_AUDIT_UNSEEN void RefLedger::OnReuse(ThreadState& ts, Object* o, uint64_t previous_id) {
  AuditScope scope(mu_);
  const uintptr_t start = reinterpret_cast<uintptr_t>(o);
  auto it = std::lower_bound(free_blocks_.begin(), free_blocks_.end(), start,
                             [](const FreeBlock& b, uintptr_t a) { return b.start < a; });
  if (it != free_blocks_.end() && it->start == start) free_blocks_.erase(it);
  if (ObjectLife* prev = Find(previous_id)) {
    prev->block_reused = true;
    prev->ptr = nullptr;
  }
  LedgerEvent& e = Record(ts.index, previous_id, LedgerEventKind::kBlockReused);
  e.other = core::ObjectId(o);
}

FTF_AUDIT_UNSEEN void RefLedger::OnDealloc(ThreadState& ts, Object* o) {
  AuditScope scope(mu_);
  const uint64_t id = core::ObjectId(o);
  ObjectLife* life = Find(id);
  if (life == nullptr || life->immortal) return;
  const LifeState state = life->state;
  LedgerEvent& e = Record(ts.index, id, LedgerEventKind::kDeallocStart);
  const int64_t refcnt = TrueCount(*life, o);
  e.total_after = state == LifeState::kFreed ? kUnknownCount : refcnt;
  // INV-RC-3 (core/refcount.h): an object is deallocated exactly once, and
  // only when no reference to it remains.
  if (state == LifeState::kFreed) {
    Fail(Make(FindingKind::kDoubleFree, ts.index, id,
              absl::StrFormat("dealloc of obj#%d, whose block was already freed by T%d at step %d", id,
                              life->free_thread, life->free_step)));
    return;
  }
  if (state == LifeState::kDying) {
    Fail(Make(FindingKind::kDoubleFree, ts.index, id,
              absl::StrFormat("dealloc of obj#%d started twice (first by T%d at step %d)", id, life->dealloc_thread,
                              life->dealloc_step)));
    return;
  }
  life->state = LifeState::kDying;
  life->dealloc_thread = ts.index;
  life->dealloc_step = e.step;
  // Counting first is cheap and allocates nothing; the holders themselves
  // are listed only for a finding (the same scan, the same order).
  const size_t held = options_.check_holders ? CountReferencesTo(o) : 0;
  if (refcnt == 0 && held == 0) return;
  std::vector<Holder> holders;
  if (options_.check_holders) {
    ForEachReference([&](const Holder& h, const Object* v) {
      if (v == o) holders.push_back(h);
    });
  }
  std::string msg =
      refcnt != 0
          ? absl::StrFormat("obj#%d deallocated while its refcount is %d (local %u, shared count %d, flags %d)", id,
                            refcnt, o->ob_ref_local.Peek(), core::RefSharedCount(o->ob_ref_shared.Peek()),
                            core::RefSharedFlags(o->ob_ref_shared.Peek()))
          : absl::StrFormat("obj#%d deallocated while %d reference(s) to it are still held", id, holders.size());
  Finding f = Make(FindingKind::kPrematureFree, ts.index, id, std::move(msg));
  f.details = FormatHolders(holders);
  Fail(std::move(f));
}

FTF_AUDIT_UNSEEN void RefLedger::OnFreeBlock(ThreadState& ts, Object* o) {
  AuditScope scope(mu_);
  const uint64_t id = core::ObjectId(o);
  ObjectLife* life = Find(id);
  if (life == nullptr) return;
  Record(ts.index, id, LedgerEventKind::kFreeBlock);
  if (life->state == LifeState::kFreed) {  // INV-RC-3: one free per block life
    Fail(Make(FindingKind::kDoubleFree, ts.index, id,
              absl::StrFormat("block of obj#%d freed twice (first by T%d at step %d)", id, life->free_thread,
                              life->free_step)));
    return;
  }
  life->state = LifeState::kFreed;
  if (life->scan_pos >= 0) RemoveFromScan(*life);
  life->free_thread = ts.index;
  life->free_step = internal::CurrentStep();
  const uintptr_t start = reinterpret_cast<uintptr_t>(o);
  const FreeBlock block{start, start + sizeof(Object) + size_t{life->nslots} * sizeof(core::Cell<Object*>), id};
  auto it = std::lower_bound(free_blocks_.begin(), free_blocks_.end(), start,
                             [](const FreeBlock& b, uintptr_t a) { return b.start < a; });
  if (it != free_blocks_.end() && it->start == start) {
    *it = block;  // (a map assignment overwrote too)
  } else {
    free_blocks_.insert(it, block);
  }
}

// --- refcount transitions ---------------------------------------------------

FTF_AUDIT_UNSEEN void RefLedger::OnRefChange(ThreadState& ts, Object* o, RefOp op, int64_t before, int64_t after) {
  AuditScope scope(mu_);
  const uint64_t id = core::ObjectId(o);
  ObjectLife* life = Find(id);
  if (life == nullptr) return;
  if (op == RefOp::kSetImmortal) life->immortal = true;
  if (op == RefOp::kSetDeferred) {
    // Heap types are deferred too, but instances hold no counted reference
    // to their type in the model (CPython counts those per thread), so a
    // type object is not accounted. Type objects are the ones with no type.
    if (o->ob_type.Peek() == nullptr) life->type_object = true;
    life->deferred = true;
    life->deferred_bias = core::RefSharedCount(after) - core::RefSharedCount(before);
  }
  // Immortality as the operation saw it: a decref of a local count of 0
  // writes the immortal marker, which must not exempt it.
  const bool immortal_before = core::RefOpIsLocal(op) ? before == core::kImmortalRefcntLocal
                                                      : o->ob_ref_local.Peek() == core::kImmortalRefcntLocal;
  if (op == RefOp::kClearDeferred) life->deferred = false;  // the bias is gone: counted as any object from here
  if (life->immortal || immortal_before || life->type_object) return;
  const int64_t bias = life->deferred && op != RefOp::kSetDeferred ? life->deferred_bias : 0;
  LedgerEvent& e = Record(ts.index, id, LedgerEventKind::kRef);
  e.op = op;
  e.before = before;
  e.after = after;
  // The other field is read now: the event comes right after the access.
  const int64_t local_now = o->ob_ref_local.Peek();
  const int64_t shared_count_now = core::RefSharedCount(o->ob_ref_shared.Peek());
  if (op == RefOp::kDecrefLocal) {
    e.after = before - 1;  // signed: the core's uint32 wraps at 0
  }
  if (core::RefOpIsLocal(op)) {
    e.total_before = before + shared_count_now;
    e.total_after = e.after + shared_count_now;
  } else if (op == RefOp::kExplicitMerge) {
    e.total_after = core::RefSharedCount(after);  // local was folded in; before it is unknown
  } else if (op == RefOp::kMergeZeroLocal || op == RefOp::kMergeZeroLocalFree) {
    e.total_before = core::RefSharedCount(before);  // local is already 0
    e.total_after = core::RefSharedCount(after);
  } else if (op == RefOp::kDecrefShared && core::RefSharedFlags(after) == core::kRefQueued && local_now == 0) {
    // NOTE: a QUEUED object whose local count is 0 is inside
    // _Py_ExplicitMergeRefcount (an owner whose local count reaches 0 merges
    // at once): ob_ref_local is already 0 (gh-119999 order) but the CAS has
    // not folded the old local count into ob_ref_shared yet, so local + shared
    // is transiently too low (docs/cpython-model.md §2, §3). The true count is not
    // known here; the merge's own result is checked (kExplicitMerge).
    e.total_before = kUnknownCount;
    e.total_after = kUnknownCount;
  } else if (op == RefOp::kSetDeferred) {
    e.total_before = local_now + core::RefSharedCount(before);
    e.total_after = e.total_before;  // the bias is not a reference
  } else if (op == RefOp::kClearDeferred) {
    e.total_after = core::RefSharedCount(after);  // merged: local is 0 now
  } else {
    e.total_before = local_now + core::RefSharedCount(before);
    e.total_after = local_now + core::RefSharedCount(after);
  }
  if (bias != 0) {
    if (e.total_before != kUnknownCount) e.total_before -= bias;
    if (e.total_after != kUnknownCount) e.total_after -= bias;
  }
  CheckRef(ts, *life, op, e);
}

FTF_AUDIT_UNSEEN void RefLedger::CheckRef(ThreadState& ts, ObjectLife& life, RefOp op, const LedgerEvent& e) {
  const bool freed = life.state == LifeState::kFreed;
  const bool dying = life.state == LifeState::kDying;
  const char* name = core::RefOpName(op);
  auto dead_what = [&] {
    return freed ? absl::StrFormat("whose block was freed by T%d at step %d", life.free_thread, life.free_step)
                 : absl::StrFormat("whose dealloc started on T%d at step %d", life.dealloc_thread,
                                   life.dealloc_step);
  };
  switch (op) {
    case RefOp::kIncrefLocal:
    case RefOp::kIncrefShared:
    case RefOp::kNewRefWithLock:
    case RefOp::kTryIncrefFastOk:
    case RefOp::kTryIncrefSharedOk:
      // INV-RC-2 (core/refcount.h): no new reference to an object whose
      // shared count said 0 (owner freeing it) or MERGED (dead).
      if (freed || dying) {
        Fail(Make(FindingKind::kResurrection, ts.index, life.id,
                  absl::StrFormat("%s on obj#%d, %s", name, life.id, dead_what())));
      }
      return;
    case RefOp::kDecrefLocal:
    case RefOp::kDecrefShared:
    case RefOp::kQueue:
      if (freed) {
        Fail(Make(FindingKind::kUseAfterFree, ts.index, life.id,
                  absl::StrFormat("%s on obj#%d, %s", name, life.id, dead_what())));
      } else if (dying) {
        Fail(Make(FindingKind::kOverRelease, ts.index, life.id,
                  absl::StrFormat("%s on obj#%d while it is being deallocated (refcount already 0)", name, life.id)));
      } else if (op == RefOp::kDecrefLocal && e.before == 0) {
        Fail(Make(FindingKind::kOverRelease, ts.index, life.id,
                  absl::StrFormat("decref-local on obj#%d with ob_ref_local 0: it wraps to the immortal marker",
                                  life.id)));
      } else if (e.total_after != kUnknownCount && e.total_after < 0) {
        // INV-RC-1 (core/refcount.h): a non-owner decrement at count 0
        // queues to the owner; the true count never goes below zero.
        Fail(Make(FindingKind::kOverRelease, ts.index, life.id,
                  absl::StrFormat("%s on obj#%d takes its refcount from %d to %d", name, life.id, e.total_before,
                                  e.total_after)));
      }
      return;
    case RefOp::kMergeZeroLocalFree:
    case RefOp::kMergeZeroLocal:
    case RefOp::kExplicitMerge:
    case RefOp::kSetMaybeWeakref:
      if (freed) {
        Fail(Make(FindingKind::kUseAfterFree, ts.index, life.id,
                  absl::StrFormat("%s writes the refcount of obj#%d, %s", name, life.id, dead_what())));
      } else if (e.total_after != kUnknownCount && e.total_after < 0) {
        Fail(Make(FindingKind::kOverRelease, ts.index, life.id,
                  absl::StrFormat("%s on obj#%d leaves its refcount at %d", name, life.id, e.total_after)));
      }
      return;
    case RefOp::kTryIncrefFastFail:
    case RefOp::kTryIncrefSharedFail:
    case RefOp::kCompareMismatch:
    case RefOp::kSetImmortal:
      return;  // reads of possibly dead objects: what the design allows
    case RefOp::kSetDeferred:
    case RefOp::kClearDeferred:
      if (freed) {
        Fail(Make(FindingKind::kUseAfterFree, ts.index, life.id,
                  absl::StrFormat("%s writes the refcount of obj#%d, %s", name, life.id, dead_what())));
      }
      return;
  }
}

FTF_AUDIT_UNSEEN void RefLedger::OnBrcQueued(ThreadState& ts, Object* o, int owner_index) {
  AuditScope scope(mu_);
  const uint64_t id = core::ObjectId(o);
  if (Find(id) == nullptr) return;
  LedgerEvent& e = Record(ts.index, id, LedgerEventKind::kBrcQueued);
  e.other = static_cast<uint64_t>(owner_index + 1);
}

FTF_AUDIT_UNSEEN void RefLedger::OnDelayed(ThreadState& ts, void* p, bool is_decref, uint64_t goal) {
  if (!is_decref) return;
  AuditScope scope(mu_);
  const uint64_t id = core::ObjectId(static_cast<Object*>(p));
  if (Find(id) == nullptr) return;
  LedgerEvent& e = Record(ts.index, id, LedgerEventKind::kDelayedDecref);
  e.other = goal;
}

}  // namespace ftf::audit
