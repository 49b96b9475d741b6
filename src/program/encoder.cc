// encoder.cc - Encode(): the inverse of decoder.cc, byte for byte.

#include "program/encoder.h"

#include <algorithm>

#include "program/layout.h"

namespace ftf::program {
namespace {

// The names and shape bytes of type t: the slots it adds (an inherited
// name for a subtype that adds none, which the decoder drops).
void EncodeType(const World& w, int t, std::vector<uint8_t>& out) {
  const TypeSpec& type = w.types[t];
  const size_t first = static_cast<size_t>(InheritedSlots(w, t));
  uint8_t names = 0, shape = 0;
  if (type.slots.size() == first) {
    names = type.slots[0].name;  // count 1, an inherited name: adds nothing
  } else {
    shape = static_cast<uint8_t>(type.slots.size() - first - 1);
    for (size_t i = first; i < type.slots.size(); ++i) {
      const size_t k = i - first;
      names |= static_cast<uint8_t>(type.slots[i].name << (2 * k));
      if (type.slots[i].kind == MemberKind::kObject) shape |= static_cast<uint8_t>(1 << (layout::kKindShift + k));
    }
  }
  if (type.finalizer) shape |= layout::kFinalizerBit;
  // Name bits of slots past the count stay 0: the decoder ignores them.
  out.push_back(names);
  out.push_back(shape);
}

// The extra byte: base, and __dict__ / __weakref__ when this type adds them.
uint8_t TypeExtra(const World& w, int t) {
  const TypeSpec& type = w.types[t];
  const TypeSpec* base = type.base == kBaseObject ? nullptr : &w.types[type.base];
  uint8_t extra = static_cast<uint8_t>(type.base + 1);
  if (type.dict && !(base && base->dict)) extra |= layout::kDictBit;
  if (type.weakref && !(base && base->weakref)) extra |= layout::kWeakrefBit;
  return extra;
}

void EncodeObject(const ObjectSpec& o, std::vector<uint8_t>& out) {
  uint8_t init = 0;
  for (size_t i = 0; i < o.slots.size(); ++i) init |= static_cast<uint8_t>(static_cast<int>(o.slots[i]) << (2 * i));
  out.push_back(o.type);
  out.push_back(init);
}

void EncodeWorld(const World& w, std::vector<uint8_t>& out) {
  for (int t = 0; t < kNumTypes; ++t) EncodeType(w, t, out);
  for (const ObjectSpec& o : w.objects) EncodeObject(o, out);
  out.push_back(static_cast<uint8_t>(w.globals_present & 0xFF));
  const uint8_t shadowed = static_cast<uint8_t>((w.globals_present >> kNumGlobalNames) & 0x0F);
  const uint8_t builtins = static_cast<uint8_t>((w.builtins_present >> kNumGlobalNames) & 0x0F);
  out.push_back(static_cast<uint8_t>(builtins | (shadowed << 4)));
  for (int t = 0; t < kNumTypes; ++t) out.push_back(TypeExtra(w, t));
  out.push_back(w.deferred_globals);
  out.push_back(w.owners);
}

void EncodeOp(int thread, const Op& op, std::vector<uint8_t>& out) {
  uint8_t r[layout::kRecordSize] = {};
  r[layout::kRecThread] = static_cast<uint8_t>(thread);
  r[layout::kRecOpcode] = static_cast<uint8_t>(op.code);
  const uint8_t fields = GetOpInfo(op.code).fields;
  if (fields & kFieldSite) r[layout::kRecSiteOrType] = op.site;
  if (fields & kFieldType) r[layout::kRecSiteOrType] = op.type;
  if (fields & kFieldTarget) {
    r[layout::kRecTarget] =
        static_cast<uint8_t>(op.target.kind == Target::Kind::kObject ? op.target.index : kNumObjects + op.target.index);
  }
  if (fields & kFieldSlot) r[layout::kRecSlotOrName] = op.slot;
  if (fields & kFieldName) r[layout::kRecSlotOrName] = op.name;
  if (fields & kFieldValue) {
    switch (op.value.kind) {
      case Value::Kind::kObject: r[layout::kRecValueOrReg] = op.value.index; break;
      case Value::Kind::kRegister: r[layout::kRecValueOrReg] = static_cast<uint8_t>(kNumObjects + op.value.index); break;
      case Value::Kind::kFresh: r[layout::kRecValueOrReg] = layout::kValueFresh; break;
      case Value::Kind::kNone: r[layout::kRecValueOrReg] = layout::kValueNone; break;
      case Value::Kind::kFreshFn: r[layout::kRecValueOrReg] = layout::kValueFreshFn; break;
    }
  }
  if (fields & kFieldReg) r[layout::kRecValueOrReg] = op.reg;
  if (fields & kFieldThread) r[layout::kRecSiteOrType] = op.thread;
  out.insert(out.end(), r, r + layout::kRecordSize);
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> Encode(const Program& p, const Limits& limits) {
  if (absl::Status s = Validate(p, limits); !s.ok()) return s;
  const bool custom_world = !(p.world == DefaultWorld());
  std::vector<uint8_t> out;
  uint8_t flags = static_cast<uint8_t>(p.threads.size() - 1);
  if (p.schedule.kind == ScheduleKind::kPct) flags |= layout::kPctBit;
  flags |= static_cast<uint8_t>(((p.schedule.pct_depth - 1) & layout::kDepthMask) << layout::kDepthShift);
  if (custom_world) flags |= layout::kWorldBit;
  out.push_back(flags);
  out.push_back(static_cast<uint8_t>(p.schedule.bytes.size()));
  if (custom_world) EncodeWorld(p.world, out);

  size_t longest = 0;
  for (const auto& t : p.threads) longest = std::max(longest, t.ops.size());
  for (size_t i = 0; i < longest; ++i) {
    for (size_t t = 0; t < p.threads.size(); ++t) {
      if (i < p.threads[t].ops.size()) EncodeOp(static_cast<int>(t), p.threads[t].ops[i], out);
    }
  }
  out.insert(out.end(), p.schedule.bytes.begin(), p.schedule.bytes.end());
  return out;
}

}  // namespace ftf::program
