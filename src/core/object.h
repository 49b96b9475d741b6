// object.h - the free-threaded object header and the blocks objects live in.
// What CPython does here: docs/cpython-model.md §2.
//
// Models `struct _object` of the free-threaded build (Include/object.h, FT
// layout, 32 bytes on 64-bit), the ob_ref_shared encoding of
// Include/refcount.h, immortal objects (_Py_SetImmortalUntracked in
// Objects/object.c), object creation (_PyObject_Init + new_reference in
// Objects/object.c) and deallocation (_Py_Dealloc, and subtype_dealloc /
// clear_slots of Objects/typeobject.c for the payload).
//
// An object is the 32-byte header followed by N object slots (Cell<Object*>),
// N fixed at allocation; the slots model the `__slots__` members of a heap
// type instance. In front of every Object sits a BlockHeader holding
// model-only metadata (a stable id from a per-Runtime counter, so reports
// never depend on addresses; the slot count; the allocating thread). The
// BlockHeader is never poisoned and never touched by the modelled program.
//
//   [BlockHeader 32 B][ob_tid|flags|mutex|gc_bits|local|shared|ob_type][slot 0..N-1]
//                      ^ Object*                        poisoned when free ^------^
//
// ob_ref_shared = (count << 2) | flag, flag one of kRefSharedInit (0),
// kRefMaybeWeakref (1), kRefQueued (2), kRefMerged (3). The count is signed
// and may be negative only while the flag is kRefQueued.
// INV-OBJ-1: ob_tid == 0 iff the flag is kRefMerged, except immortal objects
//            (tid 0, local UINT32_MAX, shared 0) (gh-121794).
// INV-OBJ-2: only the owner (ob_tid == its tid) writes ob_ref_local, with a
//            relaxed load + relaxed store, no RMW; merges write it to 0.
// INV-OBJ-3: ob_ref_shared is changed only by seq_cst RMWs, except when the
//            block is (re)initialised before publication.
//
// Thread-safety: the header fields are Cells; each operation in refcount.h
// names the order CPython uses. Slots are Cells whose order is chosen by the
// caller (the program's member get/set models).
// Memory ordering: see refcount.h; initialisation uses Cell::Init (relaxed,
// no scheduling point), as new_reference does under TSan (gh-129665).

#ifndef FTF_CORE_OBJECT_H_
#define FTF_CORE_OBJECT_H_

#include <cstddef>
#include <cstdint>

#include "core/atomics.h"
#include "core/mutex.h"

namespace ftf::core {

struct Type;  // the type object; arrives with the types issue
struct ThreadState;
class Runtime;

// --- ob_ref_local / ob_ref_shared encoding (Include/refcount.h) -------------
inline constexpr uint32_t kImmortalRefcntLocal = UINT32_MAX;  // _Py_IMMORTAL_REFCNT_LOCAL
inline constexpr int kRefSharedShift = 2;                     // _Py_REF_SHARED_SHIFT
inline constexpr intptr_t kRefSharedFlagMask = 0x3;           // _Py_REF_SHARED_FLAG_MASK
inline constexpr intptr_t kRefSharedInit = 0x0;               // _Py_REF_SHARED_INIT
inline constexpr intptr_t kRefMaybeWeakref = 0x1;             // _Py_REF_MAYBE_WEAKREF
inline constexpr intptr_t kRefQueued = 0x2;                   // _Py_REF_QUEUED
inline constexpr intptr_t kRefMerged = 0x3;                   // _Py_REF_MERGED
inline constexpr intptr_t kRefSharedOne = intptr_t{1} << kRefSharedShift;

// _Py_REF_SHARED(count, flags). C++20 defines the shift of negative values.
constexpr intptr_t RefShared(intptr_t count, intptr_t flags) { return (count << kRefSharedShift) | flags; }
// The signed count of an encoded ob_ref_shared (arithmetic shift, as CPython).
constexpr intptr_t RefSharedCount(intptr_t shared) { return shared >> kRefSharedShift; }
constexpr intptr_t RefSharedFlags(intptr_t shared) { return shared & kRefSharedFlagMask; }

// --- ob_flags and ob_gc_bits ------------------------------------------------
inline constexpr uint16_t kStaticallyAllocatedFlag = 1u << 2;  // _Py_STATICALLY_ALLOCATED_FLAG
inline constexpr uint8_t kGcBitsTracked = 1u << 0;             // _PyGC_BITS_TRACKED
inline constexpr uint8_t kGcBitsShared = 1u << 4;              // _PyGC_BITS_SHARED
inline constexpr uint8_t kGcBitsDeferred = 1u << 6;            // _PyGC_BITS_DEFERRED

// The largest slot count an object may have (size classes are per count).
inline constexpr uint32_t kMaxSlots = 255;

// The FT object header. Layout and field widths follow CPython exactly.
struct Object {
  Object() = default;
  // Constructs the header without writing it (heap.cc then Init()s every field).
  explicit Object(NoInit t)
      : ob_tid(t), ob_flags(t), ob_mutex(t), ob_gc_bits(t), ob_ref_local(t), ob_ref_shared(t), ob_type(t) {}

  Cell<uintptr_t> ob_tid;          // owner's ThreadState::tid; 0 = unowned. Free-list link while free.
  Cell<uint16_t> ob_flags;
  Mutex ob_mutex;                  // per-object PyMutex (critical sections, LOCK_OBJECT)
  Cell<uint8_t> ob_gc_bits;
  Cell<uint32_t> ob_ref_local;     // owner-only count; kImmortalRefcntLocal = immortal
  Cell<intptr_t> ob_ref_shared;    // (count << 2) | flag
  Cell<Type*> ob_type;             // first poisoned field of a free block

  // The payload: slot i of nslots(). Aborts on an out-of-range index.
  Cell<Object*>& slot(uint32_t i);
  const Cell<Object*>& slot(uint32_t i) const;
  uint32_t nslots() const;
};

static_assert(sizeof(Object) == 32, "FT object header is 32 bytes");
static_assert(offsetof(Object, ob_flags) == 8);
static_assert(offsetof(Object, ob_mutex) == 10);
static_assert(offsetof(Object, ob_gc_bits) == 11);
static_assert(offsetof(Object, ob_ref_local) == 12);
static_assert(offsetof(Object, ob_ref_shared) == 16);
static_assert(offsetof(Object, ob_type) == 24);

// Model-only metadata in front of every Object. Fields that change per object
// are Cells written with Init and read with Peek (no scheduling point, not
// part of the modelled program, invisible to TSan); `nslots` and
// `heap_index` are fixed when the block is carved and never change.
struct alignas(16) BlockHeader {
  Cell<uint64_t> object_id;    // id of the current (or, once freed, the last) object; ids start at 1
  Cell<uint32_t> generation;   // how many objects have lived in this block (ABA counter)
  Cell<int32_t> alloc_thread;  // logical thread that allocated the current object; -1 for static
  Cell<uint8_t> live;          // 1 while allocated, 0 while on a free list
  uint32_t nslots = 0;
  int32_t heap_index = -1;     // owning heap (= thread index); -1 for static/immortal blocks
};
static_assert(sizeof(BlockHeader) == 32);

inline BlockHeader* HeaderOf(Object* o) { return reinterpret_cast<BlockHeader*>(o) - 1; }
inline const BlockHeader* HeaderOf(const Object* o) { return reinterpret_cast<const BlockHeader*>(o) - 1; }
inline Cell<Object*>* SlotsOf(Object* o) { return reinterpret_cast<Cell<Object*>*>(o + 1); }
inline const Cell<Object*>* SlotsOf(const Object* o) { return reinterpret_cast<const Cell<Object*>*>(o + 1); }

inline uint32_t Object::nslots() const { return HeaderOf(this)->nslots; }

// Bytes of one block holding an object with `nslots` slots (header included).
constexpr size_t BlockSize(uint32_t nslots) {
  return (sizeof(BlockHeader) + sizeof(Object) + nslots * sizeof(Cell<Object*>) + 15) & ~size_t{15};
}

// --- metadata accessors (no scheduling point; for auditors and reports) ----
inline uint64_t ObjectId(const Object* o) { return HeaderOf(o)->object_id.Peek(); }
inline int32_t AllocThread(const Object* o) { return HeaderOf(o)->alloc_thread.Peek(); }
inline bool IsBlockLive(const Object* o) { return HeaderOf(o)->live.Peek() != 0; }
inline uint32_t BlockGeneration(const Object* o) { return HeaderOf(o)->generation.Peek(); }
inline bool IsStaticBlock(const Object* o) { return HeaderOf(o)->heap_index < 0; }

// The true refcount local + (shared >> 2) (models _Py_REFCNT), read with
// Peek: for tests, auditors and reports only. Immortal objects report
// kImmortalRefcntLocal.
int64_t PeekRefcnt(const Object* o);

// --- creation and destruction ---------------------------------------------

// Allocates an object with `nslots` NULL slots from ts's heap, owned by ts
// with local = 1, shared = 0 (models PyType_GenericAlloc -> _PyObject_Init ->
// _Py_NewReference / new_reference). The block may be one just freed by ts
// (ABA, as mimalloc's LIFO free lists allow).
Object* NewObject(ThreadState& ts, uint32_t nslots, Type* type = nullptr);

// Makes `o` immortal (models _Py_SetImmortalUntracked: plain stores of tid 0,
// local UINT32_MAX, shared 0, then OR in _PyGC_BITS_DEFERRED).
void SetImmortal(ThreadState& ts, Object* o);

// A statically allocated immortal object (like _Py_NoneStruct): flags
// kStaticallyAllocatedFlag, tid 0, local UINT32_MAX, shared 0, gc bits
// DEFERRED. Set-up only: call while no logical thread runs. Owned by `rt`.
Object* NewStaticObject(Runtime& rt, uint32_t nslots, Type* type = nullptr);

// Models _Py_Dealloc -> subtype_dealloc -> clear_slots -> tp_free: clears
// each non-NULL slot (plain load, plain store of NULL, then Decref of the old
// value, which may recursively free) and returns the block to its heap. Runs
// on whichever thread dropped the last reference.
void Dealloc(ThreadState& ts, Object* o);

// --- tracking by the cyclic collector (defined in gc.cc; see gc.h) ----------

// PyType_GenericAlloc's _PyObject_GC_TRACK: sets _PyGC_BITS_TRACKED on the
// new instance `o` of `type` when it is a GC type (a heap type); returns o.
// A relaxed store with no scheduling point, as the rest of the
// initialisation (NewInstance calls it).
Object* GcTrackNewInstance(Object* o, const Type* type);
// Models PyObject_GC_UnTrack at the start of subtype_dealloc: the collector
// no longer sees the object (its dealloc may block and be suspended by a
// stop-the-world half-way). A relaxed store with no scheduling point.
void GcUntrack(Object* o);
// Whether the collector sees `o` (_PyObject_GC_IS_TRACKED). No scheduling point.
bool GcIsTracked(const Object* o);

}  // namespace ftf::core

#endif  // FTF_CORE_OBJECT_H_
