// op.cc - the opcode table and the names of operands.

#include "program/op.h"

#include <array>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace ftf::program {
namespace {

constexpr uint8_t kSite = kFieldSite, kType = kFieldType, kTarget = kFieldTarget,
                  kSlot = kFieldSlot, kName = kFieldName, kValue = kFieldValue,
                  kReg = kFieldReg, kThread = kFieldThread;

// Indexed by OpCode. The text patterns must stay unambiguous against each
// other (text_parse.cc tries them all and requires exactly one match).
constexpr std::array<OpInfo, kNumOpCodes> kOpTable = {{
    {OpCode::kNew, "NEW", kType | kReg, "%r = %T()", "new instance, slots empty"},
    {OpCode::kStoreAttrSlot, "STORE_ATTR_SLOT", kSite | kTarget | kSlot | kValue, "%t.%s = %v",
     "STORE_ATTR_SLOT"},
    {OpCode::kLoadAttrSlot, "LOAD_ATTR_SLOT", kSite | kTarget | kSlot | kReg, "%r = %t.%s",
     "LOAD_ATTR_SLOT"},
    {OpCode::kMoveToSlot, "MOVE_TO_SLOT", kSite | kTarget | kSlot | kReg, "%t.%s = move %r",
     "STORE_ATTR_SLOT, consumes the register's reference"},
    {OpCode::kGetMember, "MEMBER_GET", kTarget | kSlot | kReg, "%r = member_get(%t, %s)",
     "PyMember_GetOne"},
    {OpCode::kSetMember, "MEMBER_SET", kTarget | kSlot | kValue, "member_set(%t, %s, %v)",
     "PyMember_SetOne"},
    {OpCode::kDelMember, "MEMBER_DEL", kTarget | kSlot, "member_del(%t, %s)",
     "PyMember_SetOne(NULL)"},
    {OpCode::kSetClass, "SET_CLASS", kTarget | kType, "%t.__class__ = %T",
     "__class__ assignment (stop-the-world)"},
    {OpCode::kModifyType, "MODIFY_TYPE", kType, "type_modified(%T)",
     "PyType_Modified: version reset"},
    {OpCode::kDrop, "DROP", kReg, "del %r", "Py_DECREF of the register"},
    {OpCode::kLoadGlobal, "LOAD_GLOBAL", kSite | kName | kReg, "%r = %g", "LOAD_GLOBAL"},
    {OpCode::kGlobalStore, "GLOBAL_STORE", kName | kValue, "globals[%g] = %v",
     "globals insert or overwrite"},
    {OpCode::kGlobalInsert, "GLOBAL_INSERT", kName | kValue, "globals.setdefault(%g, %v)",
     "globals insert if absent"},
    {OpCode::kGlobalDelete, "GLOBAL_DELETE", kName, "del globals[%g]", "globals delete"},
    {OpCode::kGlobalTempInsertDelete, "GLOBAL_TEMP_INSERT_DELETE", 0,
     "globals[_temp] = 1; del globals[_temp]", "invalidator: temporary insert + delete"},
    {OpCode::kGlobalPopItem, "GLOBAL_POPITEM", kReg, "%r = globals.popitem()",
     "dict.popitem on globals"},
    {OpCode::kBuiltinStore, "BUILTIN_STORE", kName | kValue, "builtins[%g] = %v",
     "builtins insert or overwrite"},
    {OpCode::kBuiltinDelete, "BUILTIN_DELETE", kName, "del builtins[%g]", "builtins delete"},
    {OpCode::kQuiescent, "QUIESCENT", 0, "quiescent", "eval breaker + QSBR quiescent state"},
    {OpCode::kYield, "YIELD", 0, "yield", "scheduling point only"},
    {OpCode::kNewDict, "NEW_DICT", kReg, "%r = dict()", "new dict owned by this thread"},
    {OpCode::kDictStore, "DICT_STORE", kTarget | kName | kValue, "%t[%g] = %v", "PyDict_SetItem"},
    {OpCode::kDictLoad, "DICT_LOAD", kTarget | kName | kReg, "%r = %t[%g]",
     "dict_subscript (_Py_dict_lookup_threadsafe)"},
    {OpCode::kDictDelete, "DICT_DELETE", kTarget | kName, "del %t[%g]", "PyDict_DelItem"},
    {OpCode::kGcCollect, "GC_COLLECT", 0, "gc_collect", "gc.collect(): cyclic collection"},
    {OpCode::kTypeSetFlags, "TYPE_SET_FLAGS", kType, "type_set_flags(%T)",
     "abc.register: _PyType_SetFlagsRecursive (stop-the-world, TYPE_LOCK pinned)"},
    {OpCode::kTypeSetAbstract, "TYPE_SET_ABSTRACT", kType, "type_set_abstract(%T)",
     "T.__abstractmethods__ = (): type_set_abstractmethods (stop-the-world under TYPE_LOCK)"},
    {OpCode::kStartThread, "START_THREAD", kThread, "start %k",
     "threading.Thread.start(): create a later thread (QSBR reserve, may grow under stop-the-world)"},
}};

constexpr bool TableIsIndexedByOpCode() {
  for (int i = 0; i < kNumOpCodes; ++i) {
    if (static_cast<int>(kOpTable[i].code) != i) return false;
  }
  return true;
}
static_assert(TableIsIndexedByOpCode(), "kOpTable rows must be in OpCode order");

}  // namespace

const OpInfo& GetOpInfo(OpCode code) {
  const int i = static_cast<int>(code);
  if (i < 0 || i >= kNumOpCodes) std::abort();  // not a valid OpCode: a harness bug
  return kOpTable[i];
}

std::optional<SiteKey> SiteOf(const Op& op) {
  switch (op.code) {
    case OpCode::kStoreAttrSlot:
    case OpCode::kMoveToSlot:
      return SiteKey{SiteFamily::kStoreAttr, op.slot, op.site};
    case OpCode::kLoadAttrSlot:
      return SiteKey{SiteFamily::kLoadAttr, op.slot, op.site};
    case OpCode::kLoadGlobal:
      return SiteKey{SiteFamily::kLoadGlobal, op.name, op.site};
    default:
      return std::nullopt;
  }
}

std::string SlotName(int slot) { return std::string(1, static_cast<char>('a' + slot)); }

std::string GlobalName(int name) {
  return name < kNumGlobalNames ? absl::StrCat("g", name)
                                : absl::StrCat("b", name - kNumGlobalNames);
}

std::string TargetText(const Target& t) {
  return absl::StrCat(t.kind == Target::Kind::kObject ? "o" : "r", t.index);
}

std::string ValueText(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kRegister:
      return absl::StrCat("r", v.index);
    case Value::Kind::kObject:
      return absl::StrCat("o", v.index);
    case Value::Kind::kFresh:
      return "fresh";
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kFreshFn:
      return "fresh_fn";
  }
  return "?";
}

}  // namespace ftf::program
