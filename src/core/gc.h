// gc.h - the free-threaded cyclic garbage collector (gc.collect()).
// What CPython does here: docs/cpython-model.md §20.
//
// Models Python/gc_free_threading.c of CPython 3.13 (gc_collect_internal and
// the functions it calls). One collection, run by the requesting thread:
//
//   1. _PyEval_StopTheWorld.
//   2. merge_all_queued_objects: every thread's BRC queue (brc.h) is merged
//      on its owner's behalf (merge_queued_objects, merge_refcount). A
//      non-GC object whose count is now 0 is kept (+1) for a decref later.
//   3. process_delayed_frees: wr_seq advances, the collector reports a
//      quiescent state, takes every other thread's QSBR queue and runs
//      _PyMem_ProcessDelayed (qsbr.h): with the world stopped every goal is
//      reached.
//   4. deduce_unreachable_heap: over every tracked object of every heap,
//      update_refs computes gc_refs = refcount - (references from the slots
//      of other tracked objects) IN ob_tid, marking all of them UNREACHABLE;
//      mark_heap_visitor clears the bit of every object with gc_refs > 0 and
//      of everything reachable from it; scan_heap_visitor merges each object
//      left unreachable with one extra reference and links it into the
//      `unreachable` worklist THROUGH ob_tid, and restores ob_tid of every
//      other one (gc_restore_tid: 0 if merged, else the heap owner's id, or a
//      merge when that thread is gone).
//   5. _PyEval_StartTheWorld; the non-GC objects of step 2 are decref'ed.
//   6. finalize_garbage: tp_finalize of each unreachable object not yet
//      _PyGC_FINALIZED, with the world RUNNING (a finalizer may store the
//      object somewhere: resurrection). The bit is set first, so a
//      finalizer runs at most once per object (PEP 442).
//   7. _PyEval_StopTheWorld; handle_resurrected_objects recomputes, in
//      ob_ref_local, the references from outside the unreachable set; an
//      object with some, and everything reachable from it, leaves the
//      worklist (merge_refcount(op, -1)). _PyEval_StartTheWorld.
//   8. delete_garbage: for each object still on the list, tp_clear
//      (subtype_clear -> clear_slots) and drop the worklist's reference; the
//      cycle's refcounts reach zero and Dealloc frees them.
//
// What "unreachable" means in the model. Tracked objects (the GC heap) are
// the instances of heap types (Py_TPFLAGS_HAVE_GC, _PyGC_BITS_TRACKED set at
// creation, cleared when their dealloc starts, as subtype_dealloc's
// PyObject_GC_UnTrack); their only references to other objects are their
// slots (subtype_traverse). Every other reference is external: a thread's
// register (a C or frame local), the world's shared-object table (a module
// attribute), an entry of the globals or builtins dict (dicts and value
// objects are not tracked here, so whatever they hold counts as held from
// outside), an operation's temporary. So an object is unreachable iff every
// reference to it comes from the slots of other unreachable objects: a
// cycle (`r0.a = r0; del r0`) or a queued object whose merged count is 0.
// Deferred references (3.14: stack references to objects with deferred
// refcounts) come in through GcClient::VisitDeferredStackRefs and
// GcDeferredBias.
//
// Not modelled: generations and thresholds (a collection happens only at a
// GC_COLLECT operation), weakrefs and their callbacks, legacy tp_del,
// _PyGC_ClearAllFreeLists, immortalization of objects with a count above
// INT32_MAX, gc.freeze. The finalizer is called only by the collector:
// PyObject_CallFinalizerFromDealloc (a finalizer on the dealloc path of an
// object whose count reached zero) is not modelled.
//
// Thread-safety: everything except steps 5, 6 and 8 runs with the world
// stopped, with plain accesses (as CPython: "no atomics necessary"). Steps 6
// and 8 touch only objects on the worklist, which nothing else references
// unless a finalizer published one (then it leaves the list in step 7).

#ifndef FTF_CORE_GC_H_
#define FTF_CORE_GC_H_

#include <cstdint>
#include <functional>

namespace ftf::core {

struct Object;
struct ThreadState;
struct Type;

// ob_gc_bits of 3.13 (Include/internal/pycore_gc.h) the collector uses;
// TRACKED, SHARED and DEFERRED are in object.h.
inline constexpr uint8_t kGcBitsFinalized = 1u << 1;    // _PyGC_BITS_FINALIZED
inline constexpr uint8_t kGcBitsUnreachable = 1u << 2;  // _PyGC_BITS_UNREACHABLE

// What the interpreter tells the collector.
class GcClient {
 public:
  virtual ~GcClient() = default;
  // Whether o's type has a tp_finalize (a `__del__`).
  virtual bool HasFinalizer(const Object* o) const = 0;
  // Calls tp_finalize(o) on thread ts, world running; the collector holds
  // a reference to o for the duration.
  virtual void Finalize(ThreadState& ts, Object* o) = 0;
  // Deferred references held on the threads' stacks (3.14's
  // gc_visit_thread_stacks): each visit of an object adds one external
  // reference to it. None by default (the model has no stack references yet).
  virtual void VisitDeferredStackRefs(const std::function<void(Object*)>& visit) const {}
};

// A deliberate break of the collector (mutants in variant.cc).
struct GcOptions {
  // merge_all_queued_objects runs before _PyEval_StopTheWorld, so the owners
  // still run while the collector merges their objects (mutant_gc_merge_before_stop).
  bool merge_before_stop = false;
  // handle_resurrected_objects is skipped: an object a finalizer stored
  // somewhere is cleared all the same (mutant_gc_ignores_resurrection).
  bool skip_resurrection_check = false;
};

// What one collection did (for tests and the export's comparison).
struct GcStats {
  int merged = 0;       // queued objects merged on their owners' behalf
  int unreachable = 0;  // objects found unreachable in step 4
  int finalized = 0;    // finalizers called
  int resurrected = 0;  // objects that left the worklist in step 7
  int collected = 0;    // objects cleared in step 8
};

// Models gc.collect() -> gc_collect_main -> gc_collect_internal on thread ts
// (attached, at an operation boundary, holding no critical section). Only
// one collection runs at a time: gc_collect_main returns at once when
// gcstate->collecting is already set (Runtime::gc_collecting); the two
// would otherwise both use ob_tid of the same objects.
GcStats GcCollect(ThreadState& ts, GcClient& client, const GcOptions& options = {});

// GcTrackNewInstance, GcUntrack and GcIsTracked (tracking) are in object.h.

// --- deferred reference counting: the collector's hooks (gc_deferred.cc) ---
// The part of Py_REFCNT(o) that is a deferral bias and no reference
// (update_refs: `refcount -= _Py_REF_DEFERRED` when
// _PyObject_HasDeferredRefcount); 0 for an ordinary object.
intptr_t GcDeferredBias(const Object* o);
// disable_deferred_refcounting itself is GcDisableDeferredRefcount
// (deferred.h), shared with the tear-down's collection of deferred objects.

}  // namespace ftf::core

#endif  // FTF_CORE_GC_H_
