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

// Type t of the world from its names, shape and extra bytes; the types
// before it are already decoded (a base is always an earlier type).
TypeSpec DecodeType(uint8_t names, uint8_t shape, uint8_t extra, int t, const World& w) {
  TypeSpec type;
  const int base_code = extra & layout::kBaseMask;
  if (base_code != 0 && base_code - 1 < t) type.base = static_cast<int8_t>(base_code - 1);
  unsigned inherited = 0;
  if (type.base != kBaseObject) {
    const TypeSpec& base = w.types[type.base];
    type.slots = base.slots;
    for (const SlotSpec& s : base.slots) inherited |= 1u << s.name;
    type.dict = base.dict;
    type.weakref = base.weakref;
  }
  type.dict = type.dict || (extra & layout::kDictBit) != 0;
  type.weakref = type.weakref || (extra & layout::kWeakrefBit) != 0;
  const int count = (shape & layout::kSlotCountMask) + 1;
  unsigned used = inherited;
  for (int i = 0; i < count; ++i) {
    int name = (names >> (2 * i)) & 3;
    // Naming an inherited slot adds nothing: that is how a subtype says
    // `__slots__ = ()` (or adds fewer than `count` slots).
    if (inherited & (1u << name)) continue;
    if (used & (1u << name)) {
      // A repeated name becomes the smallest unused one: types always have
      // distinct slot names, and "aa" is one byte away from "ab". With all
      // four names taken the slot is dropped.
      name = 0;
      while (name < kNumSlotNames && (used & (1u << name))) ++name;
      if (name == kNumSlotNames) continue;
    }
    used |= 1u << name;
    const auto kind = ((shape >> (layout::kKindShift + i)) & 1) ? MemberKind::kObject : MemberKind::kObjectEx;
    type.slots.push_back(SlotSpec{static_cast<uint8_t>(name), kind});
  }
  // A subtype inherits its base's __del__ (tp_finalize is inherited).
  type.finalizer = (shape & layout::kFinalizerBit) != 0 || (type.base != kBaseObject && w.types[type.base].finalizer);
  return type;
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

// An owner code (v % 5) of a thread the program has, else 0 (main).
uint8_t DecodeOwner(int v, size_t threads) {
  v %= layout::kOwnerRange;
  return static_cast<uint8_t>(v != 0 && static_cast<size_t>(v) <= threads ? v : 0);
}

World DecodeWorld(const Bytes& b, size_t threads) {
  World w;
  for (int t = 0; t < kNumTypes; ++t) {
    const int at = layout::kTypesOffset + t * layout::kTypeBytes;
    w.types[t] = DecodeType(b[at], b[at + 1], b[layout::kTypeExtraOffset + t], t, w);
  }
  for (int o = 0; o < kNumObjects; ++o) {
    const int at = layout::kObjectsOffset + o * layout::kObjectBytes;
    w.objects[o] = DecodeObject(b[at], b[at + 1], w);
  }
  const uint8_t builtins = b[layout::kBuiltinsOffset];
  w.globals_present = static_cast<uint16_t>(b[layout::kGlobalsOffset] | ((builtins >> 4) << kNumGlobalNames));
  w.builtins_present = static_cast<uint16_t>((builtins & 0x0F) << kNumGlobalNames);
  w.deferred_globals = b[layout::kDeferredGlobalsOffset];
  const uint8_t owners = b[layout::kOwnersOffset];
  w.owners = static_cast<uint8_t>(
      (DecodeOwner((owners >> layout::kGlobalsOwnerShift) & layout::kOwnerMask, threads) << layout::kGlobalsOwnerShift) |
      (DecodeOwner((owners >> layout::kBuiltinsOwnerShift) & layout::kOwnerMask, threads) << layout::kBuiltinsOwnerShift));
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
    } else if (v == layout::kValueFresh) {
      op.value = Value{Value::Kind::kFresh, 0};
    } else if (v == layout::kValueFreshFn) {
      op.value = Value{Value::Kind::kFreshFn, 0};
    } else {
      op.value = Value{Value::Kind::kNone, 0};
    }
  }
  if (fields & kFieldReg) op.reg = r[layout::kRecValueOrReg] % kNumRegisters;
  if (fields & kFieldThread) op.thread = r[layout::kRecSiteOrType] % kMaxThreads;
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
    p.world = DecodeWorld(Bytes(data, pos), p.threads.size());
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
