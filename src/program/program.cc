// program.cc - the default world, layout compatibility and validation.

#include "program/program.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "program/layout.h"

namespace ftf::program {
namespace {

TypeSpec MakeType(std::initializer_list<SlotSpec> slots) { return TypeSpec{std::vector<SlotSpec>(slots)}; }

constexpr SlotSpec Ex(int name) { return SlotSpec{static_cast<uint8_t>(name), MemberKind::kObjectEx}; }
constexpr SlotSpec Obj(int name) { return SlotSpec{static_cast<uint8_t>(name), MemberKind::kObject}; }

World BuildDefaultWorld() {
  World w;
  w.types[0] = MakeType({Ex(0), Ex(1)});
  w.types[1] = MakeType({Ex(0), Ex(1)});
  w.types[2] = MakeType({Ex(1), Ex(0)});
  w.types[3] = MakeType({Ex(0), Obj(1), Ex(2)});
  for (int i = 0; i < kNumObjects; ++i) {
    w.objects[i].type = static_cast<uint8_t>(i);
    w.objects[i].slots.assign(w.types[i].slots.size(), InitValue::kFresh);
  }
  w.globals_present = 0x00FF;   // g0..g7
  w.builtins_present = 0x0F00;  // b0..b3
  return w;
}

absl::Status Invalid(const std::string& msg) { return absl::InvalidArgumentError(msg); }

std::string OpWhere(int thread, int index) { return absl::StrFormat("t%d op %d", thread, index); }

absl::Status ValidateOp(const Op& op, int thread, int index) {
  const int code = static_cast<int>(op.code);
  if (code < 0 || code >= kNumOpCodes) {
    return Invalid(absl::StrFormat("%s: opcode %d out of range", OpWhere(thread, index), code));
  }
  const OpInfo& info = GetOpInfo(op.code);
  const Op def;
  const bool target_ok = (op.target.kind == Target::Kind::kObject && op.target.index < kNumObjects) ||
                         (op.target.kind == Target::Kind::kRegister && op.target.index < kNumRegisters);
  bool value_ok = false;
  switch (op.value.kind) {
    case Value::Kind::kRegister: value_ok = op.value.index < kNumRegisters; break;
    case Value::Kind::kObject: value_ok = op.value.index < kNumObjects; break;
    case Value::Kind::kFresh:
    case Value::Kind::kNone:
    case Value::Kind::kFreshFn: value_ok = op.value.index == 0; break;
  }
  const struct {
    OpField field;
    bool in_range;
    bool is_default;
    const char* what;
  } kChecks[] = {
      {kFieldSite, op.site < kNumSites, op.site == def.site, "site"},
      {kFieldType, op.type < kNumTypes, op.type == def.type, "type"},
      {kFieldTarget, target_ok, op.target == def.target, "target"},
      {kFieldSlot, op.slot < kNumSlotNames, op.slot == def.slot, "slot"},
      {kFieldName, op.name < kNumNames, op.name == def.name, "name"},
      {kFieldValue, value_ok, op.value == def.value, "value"},
      {kFieldReg, op.reg < kNumRegisters, op.reg == def.reg, "register"},
      {kFieldThread, op.thread < kMaxThreads, op.thread == def.thread, "thread"},
  };
  // A field the opcode uses must be in range; one it does not use must hold
  // its default (so operator== compares meaning, and Encode can invert).
  for (const auto& c : kChecks) {
    const bool used = (info.fields & c.field) != 0;
    if (used && !c.in_range) {
      return Invalid(absl::StrFormat("%s (%s): %s out of range", OpWhere(thread, index), info.mnemonic, c.what));
    }
    if (!used && !c.is_default) {
      return Invalid(absl::StrFormat("%s (%s): unused field %s is not at its default", OpWhere(thread, index),
                                     info.mnemonic, c.what));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateType(const World& w, int t) {
  const TypeSpec& type = w.types[t];
  const auto& slots = type.slots;
  if (type.base != kBaseObject && (type.base < 0 || type.base >= t)) {
    return Invalid(absl::StrFormat("T%d: base T%d is not an earlier type", t, type.base));
  }
  const size_t inherited = static_cast<size_t>(InheritedSlots(w, t));
  const size_t min_slots = type.base == kBaseObject ? 1 : inherited;
  if (slots.size() < min_slots || slots.size() > kNumSlotNames) {
    return Invalid(absl::StrFormat("T%d: %d slots (must be %d..%d)", t, slots.size(), min_slots, kNumSlotNames));
  }
  unsigned seen = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    const SlotSpec& s = slots[i];
    if (s.name >= kNumSlotNames) return Invalid(absl::StrFormat("T%d: slot name index %d out of range", t, s.name));
    if (s.kind != MemberKind::kObjectEx && s.kind != MemberKind::kObject) {
      return Invalid(absl::StrFormat("T%d: bad member kind", t));
    }
    if (seen & (1u << s.name)) return Invalid(absl::StrFormat("T%d: slot %s appears twice", t, SlotName(s.name)));
    seen |= 1u << s.name;
    if (i < inherited && !(s == w.types[type.base].slots[i])) {
      return Invalid(absl::StrFormat("T%d: slot %d differs from its base T%d's", t, i, type.base));
    }
  }
  if (type.base != kBaseObject) {
    const TypeSpec& base = w.types[type.base];
    if ((base.dict && !type.dict) || (base.weakref && !type.weakref)) {
      return Invalid(absl::StrFormat("T%d: lacks the __dict__ / __weakref__ of its base T%d", t, type.base));
    }
    if (base.finalizer && !type.finalizer) {
      return Invalid(absl::StrFormat("T%d: lacks the __del__ of its base T%d (tp_finalize is inherited)", t, type.base));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWorld(const World& w, int threads) {
  for (int t = 0; t < kNumTypes; ++t) {
    if (absl::Status s = ValidateType(w, t); !s.ok()) return s;
  }
  for (int o = 0; o < kNumObjects; ++o) {
    const ObjectSpec& obj = w.objects[o];
    if (obj.type >= kNumTypes) return Invalid(absl::StrFormat("o%d: type index %d out of range", o, obj.type));
    if (obj.slots.size() != w.types[obj.type].slots.size()) {
      return Invalid(absl::StrFormat("o%d: %d initial slot values but T%d has %d slots", o, obj.slots.size(), obj.type,
                                     w.types[obj.type].slots.size()));
    }
    for (InitValue v : obj.slots) {
      if (v != InitValue::kEmpty && v != InitValue::kFresh && v != InitValue::kNone) {
        return Invalid(absl::StrFormat("o%d: bad initial slot value", o));
      }
    }
  }
  if (w.globals_present >> kNumNames) return Invalid("globals_present has bits beyond b3");
  if (w.builtins_present & ~0x0F00u) return Invalid("builtins may initially contain only b0..b3");
  if (w.owners >> (layout::kBuiltinsOwnerShift + 3)) return Invalid("owners has reserved bits set");
  for (int shift : {layout::kGlobalsOwnerShift, layout::kBuiltinsOwnerShift}) {
    const int v = (w.owners >> shift) & layout::kOwnerMask;
    // Decode() maps an owner the program does not have to the main thread.
    if (v >= layout::kOwnerRange || v > threads) {
      return Invalid(absl::StrFormat("dict owner %d is not the main thread or a thread of the program", v));
    }
  }
  return absl::OkStatus();
}

// The fields of a CPython 3.13 type object that compatible_for_assignment
// reads, for a type of the world (docs/cpython-model.md §22): __slots__ members follow the base's tp_basicsize; __dict__ and
// __weakref__ are managed (Py_TPFLAGS_MANAGED_DICT / _MANAGED_WEAKREF, the
// pointers live before the object: type_new_descriptors), so they never
// change tp_basicsize.
struct CTypeFields {
  int parent = -2;  // world type index of tp_base; kBaseObject = object; -2 = this is object (no tp_base)
  size_t basicsize = 0;  // in pointers past the header
  bool managed_dict = false, managed_weakref = false;
  std::vector<uint8_t> ht_slots;  // sorted names this type adds
};

CTypeFields FieldsOf(const World& w, int t) {
  CTypeFields f;
  if (t == kBaseObject) return f;
  const TypeSpec& type = w.types[t];
  f.parent = type.base;
  f.basicsize = type.slots.size();
  f.managed_dict = type.dict;
  f.managed_weakref = type.weakref;
  for (size_t i = static_cast<size_t>(InheritedSlots(w, t)); i < type.slots.size(); ++i) {
    f.ht_slots.push_back(type.slots[i].name);
  }
  std::sort(f.ht_slots.begin(), f.ht_slots.end());
  return f;
}

// compatible_with_tp_base: same size, same dict / weaklist offsets (the
// managed flags), same GC-ness (every heap type is GC, `object` is not).
bool CompatibleWithTpBase(const World& w, int t) {
  const CTypeFields c = FieldsOf(w, t);
  if (c.parent == -2) return false;
  const CTypeFields p = FieldsOf(w, c.parent);
  return c.basicsize == p.basicsize && c.managed_dict == p.managed_dict && c.managed_weakref == p.managed_weakref &&
         c.parent != kBaseObject;
}

}  // namespace

int InheritedSlots(const World& w, int t) {
  const int base = w.types[t].base;
  return base == kBaseObject ? 0 : static_cast<int>(w.types[base].slots.size());
}

int DictOwnerThread(const World& w, bool builtins) {
  const int shift = builtins ? layout::kBuiltinsOwnerShift : layout::kGlobalsOwnerShift;
  return ((w.owners >> shift) & layout::kOwnerMask) - 1;
}

uint8_t StartedThreads(const Program& p) {
  const int n = static_cast<int>(p.threads.size());
  uint8_t mask = 0;
  for (int j = 0; j < n; ++j) {
    for (const Op& op : p.threads[static_cast<size_t>(j)].ops) {
      if (op.code == OpCode::kStartThread && op.thread > j && op.thread < n) mask |= static_cast<uint8_t>(1u << op.thread);
    }
  }
  for (bool builtins : {false, true}) {
    const int owner = DictOwnerThread(p.world, builtins);
    if (owner >= 0 && owner < n) mask &= static_cast<uint8_t>(~(1u << owner));
  }
  return mask;
}

bool LayoutCompatible(const World& w, int a, int b) {
  int oldbase = a, newbase = b;
  while (CompatibleWithTpBase(w, newbase)) newbase = w.types[newbase].base;
  while (CompatibleWithTpBase(w, oldbase)) oldbase = w.types[oldbase].base;
  if (newbase != oldbase) {
    // same_slots_added: same tp_base, equal ht_slots, sizes add up (the
    // managed __dict__ / __weakref__ offsets are never at the base's size).
    const CTypeFields n = FieldsOf(w, newbase), o = FieldsOf(w, oldbase);
    if (n.parent != o.parent || n.ht_slots != o.ht_slots) return false;
    const size_t size = FieldsOf(w, n.parent).basicsize + n.ht_slots.size();
    if (size != n.basicsize || size != o.basicsize) return false;
  }
  // Py_TPFLAGS_INLINE_VALUES (a managed dict and no slots at all: never in
  // the world) and the Py_TPFLAGS_PREHEADER bits must match.
  return w.types[a].dict == w.types[b].dict && w.types[a].weakref == w.types[b].weakref;
}

Limits Limits::Clamped() const {
  Limits l = *this;
  l.max_threads = std::clamp(l.max_threads, 1, kMaxThreads);
  l.max_ops_per_thread = std::clamp(l.max_ops_per_thread, 0, kMaxOpsPerThreadCap);
  l.max_schedule_bytes = std::clamp(l.max_schedule_bytes, 0, kMaxScheduleBytes);
  return l;
}

int TypeSpec::IndexOf(int name) const {
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].name == name) return static_cast<int>(i);
  }
  return -1;
}


const World& DefaultWorld() {
  static const World* const kWorld = new World(BuildDefaultWorld());
  return *kWorld;
}

Program EmptyProgram() {
  Program p;
  p.world = DefaultWorld();
  p.threads.resize(1);
  return p;
}

absl::Status Validate(const Program& p, const Limits& limits) {
  const Limits l = limits.Clamped();
  if (p.threads.empty() || static_cast<int>(p.threads.size()) > l.max_threads) {
    return Invalid(absl::StrFormat("%d threads (must be 1..%d)", p.threads.size(), l.max_threads));
  }
  if (absl::Status s = ValidateWorld(p.world, static_cast<int>(p.threads.size())); !s.ok()) return s;
  for (size_t t = 0; t < p.threads.size(); ++t) {
    const auto& ops = p.threads[t].ops;
    if (static_cast<int>(ops.size()) > l.max_ops_per_thread) {
      return Invalid(absl::StrFormat("t%d has %d operations (limit %d)", t, ops.size(), l.max_ops_per_thread));
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      if (absl::Status s = ValidateOp(ops[i], static_cast<int>(t), static_cast<int>(i)); !s.ok()) return s;
    }
  }
  const ScheduleSpec& s = p.schedule;
  if (s.kind != ScheduleKind::kDirect && s.kind != ScheduleKind::kPct) return Invalid("bad schedule kind");
  if (s.pct_depth < 1 || s.pct_depth > kMaxPctDepth) {
    return Invalid(absl::StrFormat("PCT depth %d (must be 1..%d)", s.pct_depth, kMaxPctDepth));
  }
  if (s.kind == ScheduleKind::kDirect && s.pct_depth != kDirectCanonicalDepth) {
    return Invalid(absl::StrFormat("a direct schedule carries pct_depth %d (canonical: %d)", s.pct_depth,
                                   kDirectCanonicalDepth));
  }
  if (static_cast<int>(s.bytes.size()) > l.max_schedule_bytes) {
    return Invalid(absl::StrFormat("%d schedule bytes (limit %d)", s.bytes.size(), l.max_schedule_bytes));
  }
  return absl::OkStatus();
}

int TotalOps(const Program& p) {
  int n = 0;
  for (const auto& t : p.threads) n += static_cast<int>(t.ops.size());
  return n;
}

}  // namespace ftf::program
