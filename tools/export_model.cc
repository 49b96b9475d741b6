// export_model.cc - one recorded run of a program for the Python export (see
// export_model.h).

#include "tools/export_model.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "audit/finding.h"
#include "audit/ledger.h"
#include "audit/step_note.h"
#include "core/dict.h"
#include "core/object.h"
#include "runner/world.h"
#include "sched/fiber_executor.h"

namespace ftf::tools {
namespace {

int64_t IdOf(const core::Runtime& rt, const core::Object* o) {
  if (o == nullptr) return kNoObject;
  if (o == rt.none()) return kNoneId;
  return static_cast<int64_t>(core::ObjectId(o));
}

int NameIndexOf(const core::Dict* d, const core::Object* key) {
  const std::string* text = d->state != nullptr ? d->state->TextOf(key) : nullptr;
  if (text == nullptr) return -1;
  for (int i = 0; i < program::kNumNames; ++i) {
    if (*text == runner::GlobalNameText(i)) return i;
  }
  return -1;
}

// Reads (Peek, as an auditor) what the world holds right now. Only while no
// logical thread runs.
WorldState Snapshot(runner::World& w, const program::Program& p) {
  WorldState s;
  for (int i = 0; i < program::kNumObjects; ++i) {
    const core::Object* o = w.object(i);
    ObjectState& os = s.objects[static_cast<size_t>(i)];
    os.type = -1;
    const core::Type* t = o->ob_type.Peek();
    for (int k = 0; k < program::kNumTypes; ++k) {
      if (w.type(k) == t) os.type = k;
    }
    // In the program type's declaration order, looked up by name: CPython
    // (and the core) lay the members out in sorted name order.
    if (t == nullptr || os.type < 0) continue;
    for (const program::SlotSpec& sl : p.world.types[static_cast<size_t>(os.type)].slots) {
      const core::MemberDef* m = core::FindMember(t, runner::SlotNameText(sl.name));
      os.slots.push_back(m != nullptr && m->index < o->nslots() ? IdOf(w.rt(), core::SlotsOf(o)[m->index].Peek())
                                                                : kNoObject);
    }
  }
  for (int which = 0; which < 2; ++which) {
    const core::Dict* d = which == 0 ? w.env().globals : w.env().builtins;
    DictState& out = which == 0 ? s.globals : s.builtins;
    for (const core::DictPeekedEntry& e : core::DictPeekEntries(d)) {
      out.emplace_back(NameIndexOf(d, e.key), IdOf(w.rt(), e.value));
    }
  }
  return s;
}

// Whether an op's `fresh` operand makes a Python-visible object (so does
// GLOBAL_TEMP_INSERT_DELETE's value, visible to a popitem between its halves).
bool CreatesFresh(const program::Op& op) {
  return program::UsesField(op.code, program::kFieldValue) &&
         (op.value.kind == program::Value::Kind::kFresh || op.value.kind == program::Value::Kind::kFreshFn);
}

}  // namespace

bool IsEffectFile(const char* file) {
  static constexpr const char* kEffectFiles[] = {
      "slot_access.cc", "member.cc", "class_assign.cc", "type.cc", "dict.cc",
      "dict_keys.cc",   "dict_read.cc", "load_global.cc", "load_global_specialize.cc",
  };
  if (file == nullptr) return false;
  std::string_view f(file);
  for (const char* e : kEffectFiles) {
    const std::string full = std::string("core/") + e;
    // The whole last two path components, so "load_global.cc" is not a
    // suffix match of some other "xload_global.cc".
    if (f.size() >= full.size() && f.compare(f.size() - full.size(), full.size(), full) == 0 &&
        (f.size() == full.size() || f[f.size() - full.size() - 1] == '/')) {
      return true;
    }
  }
  return false;
}

struct ModelRunner::Impl {
  Impl() : world(exec) {}
  sched::FiberExecutor exec;
  runner::World world;
};

ModelRunner::ModelRunner() : impl_(std::make_unique<Impl>()) {}
ModelRunner::~ModelRunner() = default;

ModelRun ModelRunner::Run(const program::Program& p, const core::Variant* variant, ExportOrder order) {
  const core::Variant& v = variant != nullptr ? *variant : core::LockedVariant();
  runner::World& w = impl_->world;
  ModelRun out;
  out.variant = v.name;
  sched::RunOptions opts;
  opts.full_trace = true;
  opts.coverage = false;
  // The same sequence as runner::Runner::Run, with two snapshots added.
  bool ran = false;
  bool returned = false;
  try {
    w.Build(p, v, /*record=*/true);
    for (int i = 0; i < program::kNumObjects; ++i) out.object_ids[static_cast<size_t>(i)] = IdOf(w.rt(), w.object(i));
    out.initial = Snapshot(w, p);
    ran = true;
    sched::RunResult r = impl_->exec.Run(
        static_cast<int>(p.threads.size()), [&](int t) { w.RunThread(t); }, p.schedule, opts);
    returned = true;
    out.steps = r.steps;
    out.trace_hash = r.trace_hash;
    out.finding = audit::FindingFromRunResult(r, &impl_->exec.trace());
    if (!out.finding) {
      out.final_state = Snapshot(w, p);
      out.completed = true;
      out.finding = w.TearDown();
      if (out.finding) out.completed = false;
    }
  } catch (const audit::FindingException& e) {
    out.finding = e.finding();
    out.completed = false;
    if (ran && !returned) {
      // A finding thrown inside a logical thread: Run rethrew it and its
      // RunResult is lost; the run's trace still holds its counts.
      out.steps = impl_->exec.trace().steps();
      out.trace_hash = impl_->exec.trace().hash();
    }
  }
  std::vector<std::vector<runner::Observation>> obs = w.TakeObservations();

  out.ops.resize(p.threads.size());
  for (size_t t = 0; t < p.threads.size(); ++t) {
    const auto& ops = p.threads[t].ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      OpRecord rec;
      rec.thread = static_cast<int>(t);
      rec.index = static_cast<int>(i);
      if (t < obs.size() && i < obs[t].size()) {
        rec.executed = true;
        rec.obs = obs[t][i];
      }
      out.ops[t].push_back(rec);
    }
  }

  // Objects created by operations (the ledger's `created` events).
  for (const audit::LedgerEvent& e : w.ledger().events()) {
    if (e.kind != audit::LedgerEventKind::kCreated || e.thread < 0 || e.op_index < 0) continue;
    const size_t t = static_cast<size_t>(e.thread);
    if (t >= out.ops.size() || static_cast<size_t>(e.op_index) >= out.ops[t].size()) continue;
    OpRecord& rec = out.ops[t][static_cast<size_t>(e.op_index)];
    const program::Op& op = p.threads[t].ops[static_cast<size_t>(e.op_index)];
    const audit::ObjectLife* life = w.ledger().Life(e.object);
    const bool instance = life != nullptr && life->nslots > 0;
    if (rec.created != kNoObject) continue;  // the first matching creation wins
    const bool temp_value = op.code == program::OpCode::kGlobalTempInsertDelete && !instance;
    const bool new_dict = op.code == program::OpCode::kNewDict && !instance;  // the dict's own object
    if ((op.code == program::OpCode::kNew && instance) || (CreatesFresh(op) && !instance) || temp_value || new_dict) {
      rec.created = static_cast<int64_t>(e.object);
    }
  }

  // Steps of each operation, from the notes of the full trace.
  for (const sched::TraceStep& s : impl_->exec.trace().Steps()) {
    const audit::StepNote n = audit::UnpackStepNote(s.note);
    if (!n.valid || s.thread < 0 || static_cast<size_t>(s.thread) >= out.ops.size()) continue;
    auto& ops = out.ops[static_cast<size_t>(s.thread)];
    if (n.op_index < 0 || static_cast<size_t>(n.op_index) >= ops.size()) continue;
    OpRecord& rec = ops[static_cast<size_t>(n.op_index)];
    if (rec.first_step == 0) rec.first_step = s.step;
    rec.last_step = s.step;
    if (IsEffectFile(s.file)) rec.commit_step = s.step;
  }

  // The order: each executed op's key is its commit (or last) step, never
  // earlier than the previous op of its thread.
  struct Keyed {
    uint64_t key;
    int thread;
    int index;
  };
  std::vector<Keyed> keyed;
  for (auto& thread_ops : out.ops) {
    uint64_t prev = 0;
    for (OpRecord& rec : thread_ops) {
      if (!rec.executed) break;
      const uint64_t own = order == ExportOrder::kCommit ? rec.commit_step : rec.last_step;
      prev = std::max(prev, own);
      keyed.push_back({prev, rec.thread, rec.index});
    }
  }
  // (key, thread, index) is unique: a plain sort is deterministic.
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.thread != b.thread) return a.thread < b.thread;
    return a.index < b.index;
  });
  for (const Keyed& k : keyed) out.order.emplace_back(k.thread, k.index);
  return out;
}

}  // namespace ftf::tools
