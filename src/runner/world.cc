// world.cc - building and tearing down a program's world (see world.h).

#include "runner/world.h"

#include <string>

#include "audit/audit_scope.h"
#include "audit/value_log.h"
#include "core/member.h"
#include "core/deferred.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/qsbr.h"
#include "core/stw.h"

namespace ftf::runner {

const char* SlotNameText(int i) {
  static const char* const kNames[program::kNumSlotNames] = {"a", "b", "c", "d"};
  return kNames[i];
}

const char* GlobalNameText(int i) {
  static const char* const kNames[program::kNumNames] = {"g0", "g1", "g2", "g3", "g4", "g5",
                                                         "g6", "g7", "b0", "b1", "b2", "b3"};
  return kNames[i];
}

World::World(sched::FiberExecutor& exec) : exec_(exec), rt_(program::kMaxThreads + 1), ledger_(rt_), types_(rt_) {
  ledger_.set_holders(this);
  ledger_.Install();
}

World::~World() {
  // A last run abandoned at a finding left its dict structs behind.
  if (globals_ != nullptr) core::DictDiscard(globals_);
  if (builtins_ != nullptr) core::DictDiscard(builtins_);
  for (RunDicts& rd : run_dicts_) {
    for (size_t i = 0; i < rd.capacity; ++i) {
      if (core::Dict* d = rd.entries[i].dict.load(std::memory_order_relaxed)) core::DictDiscard(d);
    }
  }
}

void World::Build(const program::Program& p, const core::Variant& variant, bool record) {
  prog_ = &p;
  record_ = record;
  // A freed block's free-list link is written with a relaxed store, not
  // mimalloc's plain one: with the plain store TSan reports every stale
  // lock-free reader's ob_tid load on a just-freed block, a race CPython has
  // too and treats as benign (README, Known gaps). Real bugs on freed blocks
  // are the ledger's job (USE_AFTER_FREE, RESURRECTION).
  rt_.plain_free_list_link = false;
  rt_.faults.qsbr_goal_reached_reads_wr_seq = variant.qsbr_goal_reached_reads_wr_seq;
  rt_.faults.dict_resize_tests_owner = variant.dict_resize_tests_owner;
  rt_.faults.deferred_without_bias = !variant.deferred_refcount_bias;
  rt_.faults.deferred_store_relaxed = variant.deferred_store_relaxed;
  gc_options_.merge_before_stop = variant.gc_merge_before_stop;
  gc_options_.skip_resurrection_check = variant.gc_skips_resurrection_check;
  rt_.stw_requester_resumes_sections = variant.stw_requester_resumes_sections;
  rt_.faults.qsbr_grow_without_stop = variant.qsbr_grow_without_stop;
  rt_.Reset();
  // Threads the program starts itself do not exist yet: no QSBR entry (the
  // array holds exactly the others, so the first start grows it), not in
  // the BRC table, not in the thread list (NotStarted). Exits then give
  // their entries back (docs/cpython-model.md §23).
  started_by_program_ = program::StartedThreads(p);
  for (int t = 0; t < program::kMaxThreads; ++t) {
    launched_[static_cast<size_t>(t)].Init(0);
    start_claimed_[static_cast<size_t>(t)].store(0, std::memory_order_relaxed);
  }
  if (started_by_program_ != 0) {
    std::vector<bool> registered(static_cast<size_t>(rt_.num_threads()), true);
    for (int t = 0; t < program::kMaxThreads; ++t) {
      if ((started_by_program_ & (1u << t)) == 0) continue;
      registered[static_cast<size_t>(t)] = false;
      rt_.thread(t).brc_registered.Init(0);
    }
    core::QsbrLayOutArray(rt_, registered);
    rt_.qsbr.growable = true;
  }
  // A run that ended in a finding was abandoned before tear-down: its dicts'
  // modelled memory went with Reset; only the model structs remain.
  if (globals_ != nullptr) core::DictDiscard(globals_);
  if (builtins_ != nullptr) core::DictDiscard(builtins_);
  globals_ = builtins_ = nullptr;
  ResetRunDicts(p);
  ledger_.Reset();
  types_.Reset();
  dict_state_.Reset();
  types_.set_variant(variant);
  for (auto& regs : regs_) regs.fill(core::kStackRefNull);
  for (auto& c : ctx_) {
    c.attr_sites.clear();
    c.global_sites.clear();
  }
  ++run_;  // every array site is stale until its first use in this run
  observations_.assign(p.threads.size(), {});
  if (record_)
    for (size_t t = 0; t < p.threads.size(); ++t) observations_[t].reserve(p.threads[t].ops.size());

  // Everything below runs on the main thread before the logical threads
  // exist: no hook is installed, so there are no scheduling points.
  core::ThreadState& main = rt_.thread(kMainThread);
  core::ThreadStart(main);
  for (int i = 0; i < program::kNumTypes; ++i) {
    std::vector<core::SlotDecl>& decls = decls_;  // reused: keeps its capacity
    decls.clear();
    // The slots the type adds; the core puts its base's first. A base is
    // always an earlier type, so it exists already.
    const program::TypeSpec& tspec = p.world.types[static_cast<size_t>(i)];
    for (size_t k = static_cast<size_t>(program::InheritedSlots(p.world, i)); k < tspec.slots.size(); ++k) {
      const program::SlotSpec& s = tspec.slots[k];
      core::SlotDecl d;
      d.name = SlotNameText(s.name);
      d.type = s.kind == program::MemberKind::kObject ? core::MemberType::kObject : core::MemberType::kObjectEx;
      decls.push_back(d);
    }
    core::Type* base = tspec.base == program::kBaseObject ? nullptr : prog_types_[static_cast<size_t>(tspec.base)];
    const program::TypeSpec* base_spec = base ? &p.world.types[static_cast<size_t>(tspec.base)] : nullptr;
    core::LayoutExtras extras;
    extras.add_dict = tspec.dict && !(base_spec && base_spec->dict);
    extras.add_weakref = tspec.weakref && !(base_spec && base_spec->weakref);
    prog_types_[static_cast<size_t>(i)] = types_.NewHeapType(main, "T" + std::to_string(i), decls, base, extras);
    has_finalizer_[static_cast<size_t>(i)] = p.world.types[static_cast<size_t>(i)].finalizer;
  }
  for (int i = 0; i < program::kNumObjects; ++i) {
    const program::ObjectSpec& spec = p.world.objects[static_cast<size_t>(i)];
    const program::TypeSpec& tspec = p.world.types[spec.type];
    core::Object* o = core::NewInstance(main, prog_types_[spec.type]);
    for (size_t s = 0; s < spec.slots.size() && s < tspec.slots.size(); ++s) {
      core::Object* v = nullptr;
      if (spec.slots[s] == program::InitValue::kFresh) v = core::NewInstance(main, types_.object_type());
      if (spec.slots[s] == program::InitValue::kNone) v = rt_.none();
      if (v == nullptr) continue;
      NoteStore(main, o, audit::SlotKey(tspec.slots[s].name), v);
      core::GenericSetAttr(main, o, SlotNameText(tspec.slots[s].name), v);
      core::Decref(main, v);
    }
    objects_[static_cast<size_t>(i)] = o;
  }
  for (int i = 0; i < program::kNumNames; ++i) names_[static_cast<size_t>(i)] = dict_state_.Intern(rt_, GlobalNameText(i));
  temp_key_ = dict_state_.Intern(rt_, "_temp_key");
  // Each dict is made, and filled, by its owner (World::owners): the module
  // was executed by that thread, so the dict's ob_tid and the local
  // refcounts of its initial values are that thread's (docs/cpython-model.md
  // §18). A program thread that owns a dict has not started yet: it made the
  // dict before its first operation, as far as the program can tell.
  const int nthreads = static_cast<int>(p.threads.size());
  const int gown = program::DictOwnerThread(p.world, /*builtins=*/false);
  const int bown = program::DictOwnerThread(p.world, /*builtins=*/true);
  core::ThreadState& gts = gown < 0 || gown >= nthreads ? main : rt_.thread(gown);
  core::ThreadState& bts = bown < 0 || bown >= nthreads ? main : rt_.thread(bown);
  globals_ = core::DictNew(gts, dict_state_);
  builtins_ = core::DictNew(bts, dict_state_);
  for (int i = 0; i < program::kNumNames; ++i) {
    for (int which = 0; which < 2; ++which) {
      uint16_t present = which == 0 ? p.world.globals_present : p.world.builtins_present;
      if ((present & (1u << i)) == 0) continue;
      core::ThreadState& owner = which == 0 ? gts : bts;
      // deferred_globals: g<i> starts as a function object (deferred refcount).
      const bool fn = which == 0 && i < 8 && (p.world.deferred_globals & (1u << i)) != 0;
      core::Object* v = fn ? core::NewFunctionObject(owner, types_.object_type())
                           : core::NewInstance(owner, types_.object_type());
      core::Dict* d = which == 0 ? globals_ : builtins_;
      NoteStore(owner, d->ob, audit::DictKey(static_cast<uint32_t>(i)), v);
      core::DictSetItem(owner, d, names_[static_cast<size_t>(i)], v);
      core::Decref(owner, v);
    }
  }
  env_.globals = globals_;
  env_.builtins = builtins_;
  env_.variant = &variant;
  // The main thread now waits in join(): detached, so it neither blocks a
  // stop-the-world nor holds back QSBR.
  core::Detach(main);
}

std::optional<audit::Finding> World::TearDown() {
  core::ThreadState& main = rt_.thread(kMainThread);
  core::Attach(main);
  core::SafePoint(main);  // merge what other threads queued to main
  for (core::Object*& o : objects_) {
    core::Object* old = o;
    o = nullptr;
    core::XDecref(main, old);
  }
  core::Dict* g = globals_;
  core::Dict* b = builtins_;
  globals_ = builtins_ = nullptr;
  core::DictFree(main, g);
  core::DictFree(main, b);
  ClearSlotsForTeardown(main);
  FreeRunDicts(main);
  CollectDeferredForTeardown(main);
  core::ThreadExit(main);
  core::ProcessDelayed(main);
  ledger_.CheckEnd(/*world_torn_down=*/true);
  return ledger_.finding();
}

// The model has no cycle collector: as its tp_clear would, every live
// object's slots are set to NULL and their references dropped on the main
// thread, so reference cycles do not read as leaks. The ledger names the live
// objects (it never changes core state itself); the World, which owns them,
// clears them. Decref runs without the ledger's lock: it calls back into it.
void World::ClearSlotsForTeardown(core::ThreadState& ts) {
  for (auto [id, o] : ledger_.LiveObjectsWithSlots()) {
    for (uint32_t i = 0; i < o->nslots(); ++i) {
      if (!ledger_.IsLive(id, o)) break;  // freed by an earlier clear (a cycle)
      core::Cell<core::Object*>& slot = core::SlotsOf(o)[i];
      core::Object* old = slot.LoadPlain();
      if (old == nullptr) continue;
      slot.StorePlain(nullptr);
      core::Decref(ts, old);
    }
  }
}

// Deferred objects are freed only by the garbage collector
// (gc_free_threading.c): once the world's references are gone, those with
// no reference left (GcRefcount 0; every register is empty by now) are
// unreachable and freed, as a collection at exit would. One still referenced
// is held by a leaked object: it stays, and the ledger reports the leak.
void World::CollectDeferredForTeardown(core::ThreadState& ts) {
  for (auto [id, o] : ledger_.LiveDeferredObjects()) {
    if (!ledger_.IsLive(id, o)) continue;
    core::GcFreeDeferred(ts, o);
  }
}

void World::NoteStore(core::ThreadState& ts, const core::Object* holder, uint32_t key, const core::Object* value) {
  ledger_.NoteStore(ts, holder, key, value);
}

void World::ForEachHolder(const audit::HolderVisitor& visit) const {
  for (int i = 0; i < program::kNumObjects; ++i) {
    audit::Holder h;
    h.kind = audit::Holder::Kind::kSharedTable;
    h.index = i;
    visit(h, objects_[static_cast<size_t>(i)]);
  }
  for (int t = 0; t < program::kMaxThreads; ++t) {
    for (int r = 0; r < program::kNumRegisters; ++r) {
      audit::Holder h;
      h.kind = audit::Holder::Kind::kRegister;
      h.thread = t;
      h.index = r;
      const core::StackRef ref = regs_[static_cast<size_t>(t)][static_cast<size_t>(r)];
      h.deferred = core::StackRefIsDeferred(ref);  // a tagged reference holds no count
      visit(h, core::StackRefBorrow(ref));
    }
  }
  if (globals_ != nullptr) audit::ForEachDictHolder(globals_, "globals", true, visit);
  if (builtins_ != nullptr) audit::ForEachDictHolder(builtins_, "builtins", true, visit);
  ForEachRunDictHolder(visit);
}

// Kept out of interpreter.cc on purpose: the scheduling points of that file
// (Yield, critical sections) are hashed by line, so its lines stay put.
core::AttrSite* World::ArrayAttrSite(int t, const program::Op& op, bool store) {
  if (op.slot >= program::kNumSlotNames || op.site >= program::kNumSites) return nullptr;
  ThreadCtx& ctx = ctx_[static_cast<size_t>(t)];
  const size_t i = (static_cast<size_t>(store) * program::kNumSlotNames + op.slot) * program::kNumSites + op.site;
  std::unique_ptr<core::AttrSite>& site = ctx.attr[i];
  if (site == nullptr) {
    site = std::make_unique<core::AttrSite>(types_, store ? core::AttrSite::Family::kStore : core::AttrSite::Family::kLoad,
                                            SlotNameText(op.slot));
  } else if (ctx.attr_run[i] != run_) {
    site->Reset();  // back to what a newly constructed site is
  }
  ctx.attr_run[i] = run_;
  return site.get();
}

core::LoadGlobalSite* World::ArrayGlobalSite(int t, const program::Op& op) {
  if (op.name >= program::kNumNames || op.site >= program::kNumSites) return nullptr;
  ThreadCtx& ctx = ctx_[static_cast<size_t>(t)];
  const size_t i = static_cast<size_t>(op.name) * program::kNumSites + op.site;
  if (ctx.global_run[i] != run_) {
    ctx.global[i] = core::LoadGlobalSite{};
    ctx.global[i].name = names_[op.name];
    ctx.global_run[i] = run_;
  }
  return &ctx.global[i];
}

// The same references as ForEachHolder, counted without building holders
// (the ledger asks at every dealloc).
FTF_AUDIT_HOT size_t World::CountHolding(const core::Object* o) const {
  size_t n = 0;
  for (const core::Object* v : objects_) n += v == o ? 1 : 0;
  for (const auto& regs : regs_) {
    for (const core::StackRef v : regs) n += core::StackRefBorrow(v) == o ? 1 : 0;
  }
  n += audit::CountDictHolding(globals_, true, o);
  n += audit::CountDictHolding(builtins_, true, o);
  n += CountRunDictHolding(o);
  return n;
}

std::vector<std::vector<Observation>> World::TakeObservations() { return std::move(observations_); }

// The finalizer's type is the object's type when the collector calls it
// (a __class__ assignment may have changed it since the object was made).
bool World::HasFinalizer(const core::Object* o) const {
  const core::Type* t = o->ob_type.Peek();
  for (int i = 0; i < program::kNumTypes; ++i) {
    if (prog_types_[static_cast<size_t>(i)] == t && has_finalizer_[static_cast<size_t>(i)]) return true;
  }
  return false;
}

// `def __del__(self): global g7; g7 = self`: STORE_GLOBAL of the object the
// collector is finalizing, so it becomes reachable again (resurrection).
void World::Finalize(core::ThreadState& ts, core::Object* o) {
  constexpr int kFinalizerGlobal = 7;  // g7
  NoteStore(ts, globals_->ob, audit::DictKey(kFinalizerGlobal), o);
  core::StoreGlobal(ts, env_, names_[kFinalizerGlobal], o);  // borrows o
}

}  // namespace ftf::runner
