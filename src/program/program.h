// program.h - a decoded program: the world, the threads and the schedule.
//
// A Program is pure data (no dependency on src/core, src/sched, src/audit):
//  - a World created by the main thread before the logical threads start:
//    four heap types T0..T3, each with an ordered tuple of slot names and,
//    per slot, the member kind (Py_T_OBJECT_EX or _Py_T_OBJECT, see
//    Include/descrobject.h); four shared objects o0..o3 with their type and
//    initial slot contents; which global names are initially present in the
//    module globals dict and in the builtins dict (each present name maps
//    to a fresh value object made by the main thread);
//  - 1..8 logical threads, each a list of Ops (op.h);
//  - a ScheduleSpec (schedule_spec.h) for the executor.
//
// Types may derive from an earlier type of the world (single inheritance)
// and have __dict__ / __weakref__ in their layout. TypeSpec::slots is the
// whole instance layout as the program sees it: the base's slots first (in
// the base's order), then the ones the type adds. Layout compatibility
// (what `__class__` assignment accepts) follows CPython's
// compatible_for_assignment / same_slots_added (Objects/typeobject.c);
// LayoutCompatible() states the rule over specs, the core implements it on
// its type objects (docs/cpython-model.md §22).
//
// The world also says which global values have deferred reference counts
// and which threads own the globals and builtins dicts.
//
// Bounds: Limits (threads, operations per thread, schedule bytes) keep one
// execution short. Decode() always produces a program within its Limits;
// Validate() checks a hand-built or parsed one.
//
// Thread-safety: plain values with no shared state; a const Program may be
// read by any number of threads at once (the real-thread executor does).
// Every function of src/program is reentrant.

#ifndef FTF_PROGRAM_PROGRAM_H_
#define FTF_PROGRAM_PROGRAM_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "program/op.h"
#include "program/schedule_spec.h"

namespace ftf::program {

inline constexpr int kMaxThreads = 8;             // hard cap: 3 bits of the header
inline constexpr int kMaxOpsPerThreadCap = 4096;  // hard cap for Limits::max_ops_per_thread
inline constexpr int kMaxScheduleBytes = 255;     // hard cap: one length byte
inline constexpr int kMaxPctDepth = 8;            // 3 bits of the header
inline constexpr int kDirectCanonicalDepth = 3;   // pct_depth of every kDirect program

// Bounds applied by Decode() and checked by Validate() / ParseText().
// Out-of-range fields are clamped into [1, kMaxThreads], [0, cap], [0, 255].
// All fuzz targets decode with the defaults unless they say otherwise: the
// same bytes decode to a different program under different Limits.
struct Limits {
  int max_threads = 4;
  int max_ops_per_thread = 32;
  int max_schedule_bytes = kMaxScheduleBytes;

  Limits Clamped() const;
  bool operator==(const Limits&) const = default;
};

enum class MemberKind : uint8_t {
  kObjectEx = 0,  // Py_T_OBJECT_EX: an empty slot reads as AttributeError
  kObject = 1,    // _Py_T_OBJECT: an empty slot reads as None
};

struct SlotSpec {
  uint8_t name = 0;  // slot name index, 0 = a
  MemberKind kind = MemberKind::kObjectEx;
  bool operator==(const SlotSpec&) const = default;
};

// `base` of a type deriving directly from `object`.
inline constexpr int8_t kBaseObject = -1;

// A heap type `class TN(base): __slots__ = (...)`. `slots` is the whole
// instance layout: the base's slots (same names, kinds and order), then the
// ones this type adds; 1..4 in all, distinct names. A type deriving from
// `object` adds at least one slot; a subtype may add none (`__slots__ =
// ()`). `dict` / `weakref`: __dict__ / __weakref__ in the layout, added here
// or inherited (a subtype of a type with one always has it too). The index
// of a slot in `slots` is its position in the declaration, not its offset
// (CPython sorts the names a type adds: the core does).
struct TypeSpec {
  std::vector<SlotSpec> slots;
  int8_t base = kBaseObject;  // kBaseObject, or the index of an earlier type
  bool dict = false;
  bool weakref = false;
  // The type has a finalizer (`__del__`, tp_finalize) that stores the
  // instance into the module global g7 (resurrection); the cyclic collector
  // calls it once per object (runner.h). Shape bit 2.
  bool finalizer = false;
  // Index of the slot called `name`, or -1 if the type has no such slot.
  int IndexOf(int name) const;
  bool operator==(const TypeSpec&) const = default;
};

// Initial content of a slot of a shared object.
enum class InitValue : uint8_t {
  kEmpty = 0,  // NULL
  kFresh = 1,  // a fresh value object made by the main thread
  kNone = 2,   // None
};

struct ObjectSpec {
  uint8_t type = 0;               // TN
  std::vector<InitValue> slots;   // one per slot of types[type], same order
  bool operator==(const ObjectSpec&) const = default;
};

struct World {
  std::array<TypeSpec, kNumTypes> types;
  std::array<ObjectSpec, kNumObjects> objects;
  // Bit i set = global name i (op.h: 0..7 g*, 8..11 b*) initially present.
  // Globals may contain any name (a b* name there shadows the builtin);
  // builtins contain only b* names (bits 8..11).
  uint16_t globals_present = 0;
  uint16_t builtins_present = 0;
  // Bit i set = the initial value of g_i has a deferred reference count
  // (as module-level functions and classes do).
  uint8_t deferred_globals = 0;
  // Owner threads of the module globals dict (bits 0-2) and the builtins
  // dict (bits 3-5): 0 = the main thread, 1 + i = thread ti (layout.h).
  uint8_t owners = 0;
  bool operator==(const World&) const = default;
};

struct ThreadProgram {
  std::vector<Op> ops;
  bool operator==(const ThreadProgram&) const = default;
};

struct Program {
  World world;
  std::vector<ThreadProgram> threads;  // 1..kMaxThreads
  ScheduleSpec schedule;
  bool operator==(const Program&) const = default;
};

// The world used when the input does not define one (docs/input-format.md):
//   T0 (a, b)   T1 (a, b)   T2 (b, a)   T3 (a, b:OBJ, c)   all others EX,
//   all deriving from object, no __dict__ or __weakref__;
//   oN = TN() with every slot fresh;  globals g0..g7;  builtins b0..b3;
//   no deferred globals; both dicts owned by the main thread.
// T0, T1 and T2 are layout-compatible (CPython sorts the names a type
// adds); T3 (one more slot) is compatible with nothing else.
const World& DefaultWorld();

// A program with the default world, one thread, no operations, direct
// schedule with no bytes: what the empty input decodes to.
Program EmptyProgram();

// The number of slots type t inherits from its base.
int InheritedSlots(const World& w, int t);

// Owner of the globals (builtins = false) or builtins dict: -1 for the main
// thread, else the logical thread's index.
int DictOwnerThread(const World& w, bool builtins);

// The threads the program itself starts (bit K set = thread tK), by
// `start tK` (OpCode::kStartThread): tK exists, an EARLIER thread tj (j < K)
// has such an operation, and tK owns neither dict of the world (an owner
// ran before the program: it made the dict). Such a thread does not exist
// until the first of those operations runs; every other thread starts with
// the program. Because a thread is started only by an earlier one, every
// started thread is eventually started (t0 always runs), whatever the
// schedule. A `start` of any other index (itself, an earlier thread, one
// the program does not have, one already started) is a no-op.
uint8_t StartedThreads(const Program& p);

// `o.__class__ = T_b` for an instance o of T_a succeeds in CPython 3.13 and
// main (compatible_for_assignment; see the banner). A specification over
// specs, for tests; the core decides on its own type objects.
bool LayoutCompatible(const World& w, int a, int b);

// OK iff `p` is a program Decode() can produce under `limits`: sizes within
// bounds, every index in range, world consistent (object slot count = its
// type's, distinct slot names, builtins only b*), fields an opcode does not
// use at their defaults, kDirect schedules with the canonical depth. The
// message names the first problem.
absl::Status Validate(const Program& p, const Limits& limits = Limits());

int TotalOps(const Program& p);

}  // namespace ftf::program

#endif  // FTF_PROGRAM_PROGRAM_H_
