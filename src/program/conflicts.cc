// conflicts.cc - the static conflict pass (see conflicts.h).

#include "program/conflicts.h"

#include <cstddef>

namespace ftf::program {
namespace {

// Resource bits.
constexpr uint8_t kObjectBits = (1u << kNumObjects) - 1;  // o0..o3
constexpr uint8_t kAnyObject = 1u << 4;
constexpr uint8_t kTypes = 1u << 5;
constexpr uint8_t kGlobals = 1u << 6;
constexpr uint8_t kBuiltins = 1u << 7;
constexpr uint8_t kEverything = 0xFF;
static_assert(kNumObjects <= 4, "resource bits 0-3 are the world's objects");

struct Touch {
  uint8_t read = 0;
  uint8_t write = 0;
};

uint8_t TargetBits(const Target& t) {
  return t.kind == Target::Kind::kObject ? static_cast<uint8_t>(1u << t.index) : kAnyObject;
}

// A stored value's refcount is written (the store takes a reference).
uint8_t ValueBits(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kObject: return static_cast<uint8_t>(1u << v.index);
    case Value::Kind::kRegister: return kAnyObject;
    case Value::Kind::kFresh:
    case Value::Kind::kFreshFn:
    case Value::Kind::kNone: return 0;  // a new object is private; None is immortal
  }
  return kAnyObject;
}

Touch TouchOf(const Op& op) {
  Touch t;
  switch (op.code) {
    case OpCode::kNew:
    case OpCode::kNewDict:
    case OpCode::kYield:
      break;  // a new instance or dict is private to its thread until stored
    case OpCode::kDictStore:
      t.write = TargetBits(op.target) | ValueBits(op.value);
      break;
    case OpCode::kDictLoad:
    case OpCode::kDictDelete:
      // A non-owner's first lookup marks the dict SHARED (a write).
      t.write = TargetBits(op.target);
      break;
    case OpCode::kStoreAttrSlot:
    case OpCode::kSetMember:
      t.write = TargetBits(op.target) | ValueBits(op.value);
      t.read = kTypes;
      break;
    case OpCode::kMoveToSlot:
    case OpCode::kDelMember:
      t.write = TargetBits(op.target);
      t.read = kTypes;
      break;
    case OpCode::kLoadAttrSlot:
    case OpCode::kGetMember:
      t.read = TargetBits(op.target) | kTypes;
      break;
    case OpCode::kSetClass:
      t.write = TargetBits(op.target) | kTypes;
      break;
    case OpCode::kModifyType:
      t.write = kTypes;
      break;
    case OpCode::kDrop:
      t.write = kAnyObject;  // the register's object: unknown statically
      break;
    case OpCode::kLoadGlobal:
      t.read = kGlobals | kBuiltins;
      break;
    case OpCode::kGlobalStore:
    case OpCode::kGlobalInsert:
      t.write = kGlobals | ValueBits(op.value);
      break;
    case OpCode::kGlobalDelete:
    case OpCode::kGlobalTempInsertDelete:
    case OpCode::kGlobalPopItem:
      t.write = kGlobals;
      break;
    case OpCode::kBuiltinStore:
      t.write = kBuiltins | ValueBits(op.value);
      break;
    case OpCode::kBuiltinDelete:
      t.write = kBuiltins;
      break;
    case OpCode::kQuiescent:
      // Processing delayed frees releases retired dict keys under readers.
      t.write = kGlobals | kBuiltins;
      break;
    case OpCode::kStartThread:
      // Touches no object of the program; it may replace the QSBR array
      // that every poll for retired dict keys scans (and stops the world to
      // do so): it meets what quiescent meets (docs/cpython-model.md §23).
      t.write = kGlobals | kBuiltins;
      break;
    default:
      t.read = t.write = kEverything;
      break;
  }
  return t;
}

// "Any object" meets every object.
bool Meets(uint8_t a, uint8_t b) {
  if ((a & b) != 0) return true;
  const uint8_t objects = kObjectBits | kAnyObject;
  return ((a & kAnyObject) != 0 && (b & objects) != 0) || ((b & kAnyObject) != 0 && (a & objects) != 0);
}

bool Conflict(const Touch& x, const Touch& y) {
  return Meets(x.write, static_cast<uint8_t>(y.read | y.write)) || Meets(y.write, static_cast<uint8_t>(x.read | x.write));
}

}  // namespace

bool MayConflict(const Op& a, const Op& b) { return Conflict(TouchOf(a), TouchOf(b)); }

ConflictMap AnalyzeConflicts(const Program& p) {
  ConflictMap m;
  const size_t n = p.threads.size();
  std::vector<std::vector<Touch>> touch(n);
  std::vector<std::vector<bool>> hit(n);
  for (size_t t = 0; t < n; ++t) {
    for (const Op& op : p.threads[t].ops) touch[t].push_back(TouchOf(op));
    hit[t].assign(touch[t].size(), false);
  }
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = a + 1; b < n; ++b) {
      for (size_t i = 0; i < touch[a].size(); ++i) {
        for (size_t j = 0; j < touch[b].size(); ++j) {
          if (!Conflict(touch[a][i], touch[b][j])) continue;
          hit[a][i] = true;
          hit[b][j] = true;
          ++m.pairs;
        }
      }
    }
  }
  m.focus.resize(n);
  m.focus_begin.assign(n + 1, 0);
  for (size_t t = 0; t < n; ++t) {
    m.focus_begin[t] = m.focused;
    for (bool h : hit[t]) m.focus[t].push_back(h ? m.focused++ : -1);
  }
  m.focus_begin[n] = m.focused;
  return m;
}

}  // namespace ftf::program
