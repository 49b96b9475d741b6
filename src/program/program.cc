// program.cc - the default world, layout compatibility and validation.

#include "program/program.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

absl::Status ValidateWorld(const World& w) {
  for (int t = 0; t < kNumTypes; ++t) {
    const auto& slots = w.types[t].slots;
    if (slots.empty() || slots.size() > kNumSlotNames) {
      return Invalid(absl::StrFormat("T%d: %d slots (must be 1..%d)", t, slots.size(), kNumSlotNames));
    }
    unsigned seen = 0;
    for (const SlotSpec& s : slots) {
      if (s.name >= kNumSlotNames) return Invalid(absl::StrFormat("T%d: slot name index %d out of range", t, s.name));
      if (s.kind != MemberKind::kObjectEx && s.kind != MemberKind::kObject) {
        return Invalid(absl::StrFormat("T%d: bad member kind", t));
      }
      if (seen & (1u << s.name)) return Invalid(absl::StrFormat("T%d: slot %s appears twice", t, SlotName(s.name)));
      seen |= 1u << s.name;
    }
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
  return absl::OkStatus();
}

}  // namespace

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

bool LayoutCompatible(const TypeSpec& a, const TypeSpec& b) {
  if (a.slots.size() != b.slots.size()) return false;
  for (size_t i = 0; i < a.slots.size(); ++i) {
    if (a.slots[i].name != b.slots[i].name) return false;
  }
  return true;
}

absl::Status Validate(const Program& p, const Limits& limits) {
  const Limits l = limits.Clamped();
  if (p.threads.empty() || static_cast<int>(p.threads.size()) > l.max_threads) {
    return Invalid(absl::StrFormat("%d threads (must be 1..%d)", p.threads.size(), l.max_threads));
  }
  if (absl::Status s = ValidateWorld(p.world); !s.ok()) return s;
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
