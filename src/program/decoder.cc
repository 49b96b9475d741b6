// decoder.cc - Decode(): see decoder.h and docs/input-format.md.

#include "program/decoder.h"

#include <algorithm>

#include "program/layout.h"

namespace ftf::program {
namespace {

// Reads byte i of a region, 0 past its end (FuzzedDataProvider's default).
class Bytes {
 public:
  Bytes(std::span<const uint8_t> data, size_t begin) : data_(data), begin_(begin) {}
  uint8_t operator[](size_t i) const {
    const size_t at = begin_ + i;
    return at < data_.size() ? data_[at] : 0;
  }

 private:
  std::span<const uint8_t> data_;
  size_t begin_;
};

TypeSpec DecodeType(uint8_t names, uint8_t shape) {
  TypeSpec t;
  const int count = (shape & layout::kSlotCountMask) + 1;
  unsigned used = 0;
  for (int i = 0; i < count; ++i) {
    int name = (names >> (2 * i)) & 3;
    if (used & (1u << name)) {
      // A repeated name becomes the smallest unused one: types always have
      // distinct slot names, and "aa" is one byte away from "ab".
      name = 0;
      while (used & (1u << name)) ++name;
    }
    used |= 1u << name;
    const auto kind = ((shape >> (layout::kKindShift + i)) & 1) ? MemberKind::kObject : MemberKind::kObjectEx;
    t.slots.push_back(SlotSpec{static_cast<uint8_t>(name), kind});
  }
  t.finalizer = (shape & layout::kFinalizerBit) != 0;
  return t;
}

ObjectSpec DecodeObject(uint8_t type_byte, uint8_t init, const World& w) {
  ObjectSpec o;
  o.type = type_byte % kNumTypes;
  const size_t count = w.types[o.type].slots.size();
  for (size_t i = 0; i < count; ++i) {
    switch ((init >> (2 * i)) & 3) {
      case 0: o.slots.push_back(InitValue::kEmpty); break;
      case 2: o.slots.push_back(InitValue::kNone); break;
      default: o.slots.push_back(InitValue::kFresh); break;  // 1 and 3
    }
  }
  return o;
}

World DecodeWorld(const Bytes& b) {
  World w;
  for (int t = 0; t < kNumTypes; ++t) {
    const int at = layout::kTypesOffset + t * layout::kTypeBytes;
    w.types[t] = DecodeType(b[at], b[at + 1]);
  }
  for (int o = 0; o < kNumObjects; ++o) {
    const int at = layout::kObjectsOffset + o * layout::kObjectBytes;
    w.objects[o] = DecodeObject(b[at], b[at + 1], w);
  }
  const uint8_t builtins = b[layout::kBuiltinsOffset];
  w.globals_present = static_cast<uint16_t>(b[layout::kGlobalsOffset] | ((builtins >> 4) << kNumGlobalNames));
  w.builtins_present = static_cast<uint16_t>((builtins & 0x0F) << kNumGlobalNames);
  return w;
}

Op DecodeOp(const Bytes& r) {
  Op op;
  op.code = static_cast<OpCode>(r[layout::kRecOpcode] % kNumOpCodes);
  const uint8_t fields = GetOpInfo(op.code).fields;
  if (fields & kFieldSite) op.site = r[layout::kRecSiteOrType] % kNumSites;
  if (fields & kFieldType) op.type = r[layout::kRecSiteOrType] % kNumTypes;
  if (fields & kFieldTarget) {
    const int t = r[layout::kRecTarget] % layout::kTargetRange;
    op.target = t < kNumObjects ? Target{Target::Kind::kObject, static_cast<uint8_t>(t)}
                                : Target{Target::Kind::kRegister, static_cast<uint8_t>(t - kNumObjects)};
  }
  if (fields & kFieldSlot) op.slot = r[layout::kRecSlotOrName] % kNumSlotNames;
  if (fields & kFieldName) op.name = r[layout::kRecSlotOrName] % kNumNames;
  if (fields & kFieldValue) {
    const int v = r[layout::kRecValueOrReg] % layout::kValueRange;
    if (v < kNumObjects) {
      op.value = Value{Value::Kind::kObject, static_cast<uint8_t>(v)};
    } else if (v < kNumObjects + kNumRegisters) {
      op.value = Value{Value::Kind::kRegister, static_cast<uint8_t>(v - kNumObjects)};
    } else {
      op.value = Value{v == layout::kValueFresh ? Value::Kind::kFresh : Value::Kind::kNone, 0};
    }
  }
  if (fields & kFieldReg) op.reg = r[layout::kRecValueOrReg] % kNumRegisters;
  return op;
}

}  // namespace

Program Decode(std::span<const uint8_t> data, const Limits& limits) {
  const Limits l = limits.Clamped();
  const Bytes header(data, 0);
  const uint8_t flags = header[0];
  const uint8_t schedule_len = header[1];
  size_t pos = layout::kHeaderSize;

  Program p;
  p.threads.resize((flags & layout::kThreadsMask) % l.max_threads + 1);
  if (flags & layout::kPctBit) {
    p.schedule.kind = ScheduleKind::kPct;
    p.schedule.pct_depth = static_cast<uint8_t>(((flags >> layout::kDepthShift) & layout::kDepthMask) + 1);
  } else {
    p.schedule.kind = ScheduleKind::kDirect;
    p.schedule.pct_depth = kDirectCanonicalDepth;
  }
  if (flags & layout::kWorldBit) {
    p.world = DecodeWorld(Bytes(data, pos));
    pos += layout::kWorldSize;
  } else {
    p.world = DefaultWorld();
  }

  // Schedule: the last L bytes, L cut to the limit and to what is left.
  const size_t rest = data.size() > pos ? data.size() - pos : 0;
  const size_t sched = std::min({static_cast<size_t>(schedule_len), static_cast<size_t>(l.max_schedule_bytes), rest});
  p.schedule.bytes.assign(data.end() - static_cast<std::ptrdiff_t>(sched), data.end());

  // Operation records fill the middle; a trailing partial record is ignored.
  const size_t records = (rest - sched) / layout::kRecordSize;
  const size_t nthreads = p.threads.size();
  size_t full = l.max_ops_per_thread == 0 ? nthreads : 0;
  for (size_t i = 0; i < records && full < nthreads; ++i) {
    const Bytes rec(data, pos + i * layout::kRecordSize);
    auto& ops = p.threads[rec[layout::kRecThread] % nthreads].ops;
    if (static_cast<int>(ops.size()) >= l.max_ops_per_thread) continue;  // thread full: skip
    ops.push_back(DecodeOp(rec));
    if (static_cast<int>(ops.size()) == l.max_ops_per_thread) ++full;
  }
  return p;
}

}  // namespace ftf::program
