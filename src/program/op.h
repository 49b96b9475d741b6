// op.h - the operations a logical thread of a program performs.
//
// One Op is one Python-level action of one logical thread, chosen so that the
// questions ftfuzz asks of the core can be expressed: `__slots__` access through
// the specialized instructions (STORE_ATTR_SLOT / LOAD_ATTR_SLOT, Python/
// bytecodes.c) and through the generic descriptor path (PyMember_GetOne /
// PyMember_SetOne, Python/structmember.c), `__class__` assignment
// (object_set_class, Objects/typeobject.c), type modification
// (PyType_Modified), LOAD_GLOBAL (Python/bytecodes.c, Python/specialize.c)
// and the globals / builtins dict mutations that invalidate it
// (Objects/dictobject.c), reference drops, quiescent points and yields.
//
// This file only says WHAT each operation is; src/core and src/sched give it
// semantics. An Op is a flat record: every opcode uses a subset of the fields
// (listed in OpInfo), and fields it does not use hold their default value, so
// operator== compares programs by meaning. The byte encoding of an Op is
// described in docs/input-format.md and layout.h.
//
// Names used throughout (the text form prints exactly these):
//   o0..o3   the shared objects created before the threads start (World)
//   T0..T3   the heap types (World)
//   a..d     slot names (a type has an ordered tuple of 1..4 of them)
//   g0..g7, b0..b3   global names; g* start in the module globals dict,
//                    b* in builtins (World says which are initially present)
//   r0..r3   registers of the executing thread, each holding one strong
//            reference or nothing (start empty)
//   s0..s3   instruction sites of the executing thread (see SiteKey)
//   dict()   a dict made during the run (kNewDict), held like any object;
//            the dict operations take it as their target X and the global
//            names as its keys (an X that is not a dict raises TypeError)

#ifndef FTF_PROGRAM_OP_H_
#define FTF_PROGRAM_OP_H_

#include <cstdint>
#include <optional>
#include <string>

namespace ftf::program {

inline constexpr int kNumTypes = 4;      // T0..T3
inline constexpr int kNumObjects = 4;    // o0..o3
inline constexpr int kNumSlotNames = 4;  // a..d
inline constexpr int kNumGlobalNames = 8;   // g0..g7
inline constexpr int kNumBuiltinNames = 4;  // b0..b3
inline constexpr int kNumNames = kNumGlobalNames + kNumBuiltinNames;  // name index 0..11
inline constexpr int kNumRegisters = 4;  // r0..r3, per thread
inline constexpr int kNumSites = 4;      // s0..s3, per thread and instruction family

// The operation codes. The numeric value is the opcode's index in the byte
// encoding (opcode byte % kNumOpCodes), so never reorder or remove; append
// only at the end and move kMaxValue (docs/input-format.md, "Changing the
// format", says what else that implies).
enum class OpCode : uint8_t {
  kNew = 0,                 // rR = T()                new instance, all slots empty
  kStoreAttrSlot = 1,       // s: X.n = V              STORE_ATTR (-> STORE_ATTR_SLOT)
  kLoadAttrSlot = 2,        // s: rR = X.n             LOAD_ATTR (-> LOAD_ATTR_SLOT)
  kMoveToSlot = 3,          // s: X.n = move rR        STORE_ATTR consuming rR's reference
  kGetMember = 4,           // rR = member_get(X, n)   PyMember_GetOne
  kSetMember = 5,           // member_set(X, n, V)     PyMember_SetOne
  kDelMember = 6,           // member_del(X, n)        PyMember_SetOne(NULL)
  kSetClass = 7,            // X.__class__ = T         object_set_class (stop-the-world)
  kModifyType = 8,          // type_modified(T)        PyType_Modified (new version later)
  kDrop = 9,                // del rR                  Py_DECREF of the register's reference
  kLoadGlobal = 10,         // s: rR = g               LOAD_GLOBAL (-> _MODULE / _BUILTIN)
  kGlobalStore = 11,        // globals[g] = V          insert or overwrite
  kGlobalInsert = 12,       // globals.setdefault(g, V)  insert only if absent
  kGlobalDelete = 13,       // del globals[g]
  kGlobalTempInsertDelete = 14,  // globals[_temp] = 1; del globals[_temp]  (gh-152075's invalidator)
  kGlobalPopItem = 15,      // rR = globals.popitem()  value of the last entry into rR
  kBuiltinStore = 16,       // builtins[g] = V
  kBuiltinDelete = 17,      // del builtins[g]
  kQuiescent = 18,          // quiescent               eval-breaker check + QSBR quiescent state
  kYield = 19,              // yield                   a scheduling point, no effect
  kNewDict = 20,            // rR = dict()             a new dict, owned by the executing thread
  kDictStore = 21,          // X[g] = V                PyDict_SetItem on the dict X (a register)
  kDictLoad = 22,           // rR = X[g]               dict_subscript: _Py_dict_lookup_threadsafe
  kDictDelete = 23,         // del X[g]                PyDict_DelItem
  kGcCollect = 24,          // gc_collect              gc.collect(): stop the world, merge, collect cycles
  kTypeSetFlags = 25,       // type_set_flags(T)       _PyType_SetFlagsRecursive (abc.register: TYPE_LOCK pinned across a stop-the-world)
  kTypeSetAbstract = 26,    // type_set_abstract(T)    type_set_abstractmethods (TYPE_LOCK held across a stop-the-world)
  kStartThread = 27,        // start tK                threading.Thread(...).start() of a later thread tK
  kMaxValue = kStartThread,
};
inline constexpr int kNumOpCodes = static_cast<int>(OpCode::kMaxValue) + 1;

// The object an operation acts on: a shared object oN, or the object held
// by register rN of the executing thread (which may be empty or hold an
// object without that slot; the semantics decide what that raises).
struct Target {
  enum class Kind : uint8_t { kObject, kRegister };
  Kind kind = Kind::kObject;
  uint8_t index = 0;  // < kNumObjects or < kNumRegisters
  bool operator==(const Target&) const = default;
};

// A value being stored: a new reference to what a register holds (the
// register keeps its own), a shared object oN, a fresh value object created
// by the executing thread (so it is owned by that thread: biased refcount),
// None (immortal), or a fresh function object (`fresh_fn`: owned by the
// executing thread, with deferred reference counting).
struct Value {
  enum class Kind : uint8_t { kRegister, kObject, kFresh, kNone, kFreshFn };
  Kind kind = Kind::kNone;
  uint8_t index = 0;  // for kRegister / kObject; 0 otherwise
  bool operator==(const Value&) const = default;
};

// Which fields an opcode uses. Fields an opcode does not use must hold their
// default value (Validate() checks it; the decoder and parser guarantee it).
enum OpField : uint8_t {
  kFieldSite = 1 << 0,
  kFieldType = 1 << 1,
  kFieldTarget = 1 << 2,
  kFieldSlot = 1 << 3,
  kFieldName = 1 << 4,
  kFieldValue = 1 << 5,
  kFieldReg = 1 << 6,
  kFieldThread = 1 << 7,
};

struct Op {
  OpCode code = OpCode::kYield;
  uint8_t site = 0;   // sN: the instruction site (kStoreAttrSlot, kLoadAttrSlot, kMoveToSlot, kLoadGlobal)
  uint8_t type = 0;   // TN (kNew, kSetClass, kModifyType)
  Target target{};    // X (slot ops, kSetClass)
  uint8_t slot = 0;   // slot name index, 0 = a (slot ops)
  uint8_t name = 0;   // global name index: 0..7 = g0..g7, 8..11 = b0..b3 (dict ops, kLoadGlobal)
  Value value{};      // V (kStoreAttrSlot, kSetMember, kGlobalStore, kGlobalInsert, kBuiltinStore)
  uint8_t reg = 0;    // rR: destination (kNew, loads, kGetMember, kGlobalPopItem) or
                      // source (kMoveToSlot, kDrop)
  uint8_t thread = 0; // tK: the thread kStartThread starts (any index < kMaxThreads;
                      // the semantics make a start of no later thread a no-op)
  bool operator==(const Op&) const = default;
};

// Static description of an opcode, one row per OpCode (op.cc). The text
// form, the decoder, the encoder and the docs are all driven by this table.
struct OpInfo {
  OpCode code;
  const char* mnemonic;  // stable upper-case name, e.g. "STORE_ATTR_SLOT"
  uint8_t fields;        // OpField bits
  // Text form of the operation body (after "tN sM:" or "tN:"), with
  // placeholders %t target, %T type, %s slot, %g global name, %v value,
  // %r register, %k thread. Printing substitutes them; parsing matches the tokens.
  const char* text;
  const char* what;      // the comment printed after the operation: what it models
};
const OpInfo& GetOpInfo(OpCode code);
inline bool UsesField(OpCode code, OpField f) { return (GetOpInfo(code).fields & f) != 0; }

// Inline caches. CPython gives every thread its own copy of the bytecode
// (thread-local bytecode, Objects/codeobject.c), and one instruction has one
// attribute or global name. So an inline cache is identified by the
// executing thread plus this key: two operations of the same thread share a
// cache iff their SiteKeys are equal, i.e. same instruction family, same
// name and same site number (kStoreAttrSlot and kMoveToSlot are both
// STORE_ATTR, so they share). A site executed repeatedly is what warms up
// and specializes, like an instruction inside a loop.
enum class SiteFamily : uint8_t { kStoreAttr, kLoadAttr, kLoadGlobal };
struct SiteKey {
  SiteFamily family;
  uint8_t name;  // slot index for attribute families, global name index for kLoadGlobal
  uint8_t site;
  bool operator==(const SiteKey&) const = default;
};
// nullopt for operations that do not go through an instruction site.
std::optional<SiteKey> SiteOf(const Op& op);

// Printed names: "a".."d", "g0".."g7"/"b0".."b3", "o2", "r1", "T3", "s0".
std::string SlotName(int slot);
std::string GlobalName(int name);
inline bool IsBuiltinName(int name) { return name >= kNumGlobalNames; }
std::string TargetText(const Target& t);
std::string ValueText(const Value& v);

}  // namespace ftf::program

#endif  // FTF_PROGRAM_OP_H_
