// gc.cc - the free-threaded cyclic garbage collector (see gc.h).
//
// Function names follow Python/gc_free_threading.c (3.13); each comment names
// the CPython function modelled. ob_tid doubles as gc_refs and as the
// worklist link exactly as there, so a thread that reads it at the wrong time
// sees what it would see in CPython.

#include "core/gc.h"

#include <vector>

#include "core/deferred.h"
#include "core/heap.h"
#include "core/object.h"
#include "core/observer.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "core/type.h"

namespace ftf::core {
namespace {

bool IsUnreachable(const Object* o) { return (o->ob_gc_bits.LoadPlain() & kGcBitsUnreachable) != 0; }
void SetGcBits(Object* o, uint8_t bits) { o->ob_gc_bits.StorePlain(static_cast<uint8_t>(o->ob_gc_bits.LoadPlain() | bits)); }
void ClearGcBits(Object* o, uint8_t bits) {
  o->ob_gc_bits.StorePlain(static_cast<uint8_t>(o->ob_gc_bits.LoadPlain() & ~bits));
}

// Py_REFCNT with plain loads (the world is stopped).
intptr_t RefcntPlain(const Object* o) {
  return static_cast<intptr_t>(o->ob_ref_local.LoadPlain()) + RefSharedCount(o->ob_ref_shared.LoadPlain());
}

// Objects the collector visits (op_from_block): tracked, mortal.
bool Visible(const Object* o) {
  return GcIsTracked(o) && o->ob_ref_local.LoadPlain() != kImmortalRefcntLocal;
}

// A worklist linked through ob_tid (struct worklist).
struct Worklist {
  uintptr_t head = 0;
};
Object* Next(const Object* o) { return reinterpret_cast<Object*>(o->ob_tid.LoadPlain()); }

// Models worklist_push: ob_tid must be 0 (merged) when an object is linked.
void Push(Worklist& w, Object* o) {
  o->ob_tid.StorePlain(w.head);
  w.head = reinterpret_cast<uintptr_t>(o);
}

// Models worklist_pop: the relaxed store, because the world may be running.
Object* Pop(Worklist& w) {
  auto* o = reinterpret_cast<Object*>(w.head);
  if (o != nullptr) {
    w.head = o->ob_tid.LoadPlain();
    o->ob_tid.StoreRelaxed(0);
  }
  return o;
}

class Collector {
 public:
  Collector(ThreadState& ts, GcClient& client, const GcOptions& options)
      : ts_(ts), rt_(*ts.rt), client_(client), options_(options) {}

  GcStats Run();

 private:
  // Calls fn(o) for every live object of every heap, heap by heap
  // (gc_visit_heaps: the heaps of every thread, exited ones included).
  template <typename Fn>
  void VisitHeaps(Fn fn) {
    for (int i = 0; i < rt_.num_threads(); ++i) rt_.heap(i).ForEachLiveObject([&](Object* o) {
      if (Visible(o)) fn(o);
    });
  }
  // subtype_traverse: fn(referent) for every non-NULL slot.
  template <typename Fn>
  static void Traverse(Object* o, Fn fn) {
    Cell<Object*>* slots = SlotsOf(o);
    for (uint32_t i = 0, n = o->nslots(); i < n; ++i) {
      if (Object* r = slots[i].LoadPlain()) fn(r);
    }
  }

  intptr_t MergeRefcount(Object* o, intptr_t extra);
  void RestoreTid(Object* o);
  void MergeQueuedObjects(ThreadState& owner);
  void MergeAllQueuedObjects();
  void ProcessDelayedFrees();
  void UpdateRefs(Object* o);
  void MarkReachable(Object* o);
  void DeduceUnreachableHeap();
  void FinalizeGarbage();
  void HandleResurrectedObjects();
  void DeleteGarbage();

  ThreadState& ts_;
  Runtime& rt_;
  GcClient& client_;
  const GcOptions& options_;
  Worklist unreachable_;
  std::vector<Object*> objs_to_decref_;  // state->objs_to_decref
  GcStats stats_;
};

// Models merge_refcount: the whole count into ob_ref_shared, MERGED, tid 0.
intptr_t Collector::MergeRefcount(Object* o, intptr_t extra) {
  const intptr_t before = o->ob_ref_shared.LoadPlain();
  const intptr_t refcount = RefcntPlain(o) + extra;
  o->ob_tid.StorePlain(0);
  o->ob_ref_local.StorePlain(0);
  const intptr_t after = RefShared(refcount, kRefMerged);
  o->ob_ref_shared.StorePlain(after);
  if (Observer* obs = rt_.observer) obs->OnRefChange(ts_, o, RefOp::kExplicitMerge, before, after);
  return refcount;
}

// Models gc_restore_tid: a merged object keeps tid 0; any other gets the id
// of the thread whose heap holds it (mimalloc's segment->thread_id), or is
// merged when that thread is gone (an abandoned segment's id is 0).
void Collector::RestoreTid(Object* o) {
  if (RefSharedFlags(o->ob_ref_shared.LoadPlain()) == kRefMerged) {
    o->ob_tid.StorePlain(0);
    return;
  }
  const int heap = HeaderOf(o)->heap_index;
  const ThreadState& owner = rt_.thread(heap);
  const ThreadStatus s = owner.Status();
  const bool alive = s != ThreadStatus::kExited && s != ThreadStatus::kNotStarted;
  o->ob_tid.StorePlain(alive ? owner.tid : 0);
  if (!alive) MergeRefcount(o, 0);
}

// Models merge_queued_objects: the owner's queue, without its bucket lock
// (the owner is stopped), merged with -1 for the queue's reference.
void Collector::MergeQueuedObjects(ThreadState& owner) {
  owner.brc_local.insert(owner.brc_local.end(), owner.brc_queue.begin(), owner.brc_queue.end());
  owner.brc_queue.clear();
  while (!owner.brc_local.empty()) {
    Object* o = owner.brc_local.back();
    owner.brc_local.pop_back();
    ++stats_.merged;
    if (MergeRefcount(o, -1) == 0 && !GcIsTracked(o)) {
      // A dead non-GC object: kept alive (+1) and decref'ed once the world
      // runs again. A dead tracked one is cyclic trash for step 4.
      MergeRefcount(o, 1);
      objs_to_decref_.push_back(o);
    }
  }
}

// Models merge_all_queued_objects (under HEAD_LOCK).
void Collector::MergeAllQueuedObjects() {
  rt_.stw.head_lock.Lock(&ts_, LockFlags::kDontDetach);
  for (int i = 0; i < rt_.num_threads(); ++i) MergeQueuedObjects(rt_.thread(i));
  rt_.stw.head_lock.Unlock();
}

// Models process_delayed_frees: advance, be quiescent, take every other
// thread's queue (llist_concat under HEAD_LOCK), process.
void Collector::ProcessDelayedFrees() {
  QsbrAdvance(rt_);
  QsbrQuiescentState(ts_);
  rt_.stw.head_lock.Lock(&ts_, LockFlags::kDontDetach);
  for (int i = 0; i < rt_.num_threads(); ++i) {
    ThreadState& other = rt_.thread(i);
    if (&other == &ts_) continue;
    ts_.delayed.insert(ts_.delayed.end(), other.delayed.begin() + static_cast<std::ptrdiff_t>(other.delayed_rd),
                       other.delayed.end());
    other.delayed.clear();
    other.delayed_rd = 0;
  }
  rt_.stw.head_lock.Unlock();
  ProcessDelayed(ts_);
}

// Models update_refs + visit_decref (gc_maybe_init_refs, gc_add_refs, gc_decref).
void Collector::UpdateRefs(Object* o) {
  auto maybe_init = [](Object* x) {
    if (!IsUnreachable(x)) {
      SetGcBits(x, kGcBitsUnreachable);
      x->ob_tid.StorePlain(0);
    }
  };
  const intptr_t refcount = RefcntPlain(o) - GcDeferredBias(o);
  maybe_init(o);
  o->ob_tid.StorePlain(o->ob_tid.LoadPlain() + static_cast<uintptr_t>(refcount));
  Traverse(o, [&](Object* r) {
    if (!Visible(r)) return;
    maybe_init(r);
    r->ob_tid.StorePlain(r->ob_tid.LoadPlain() - 1);
  });
}

// Models mark_reachable + visit_clear_unreachable.
void Collector::MarkReachable(Object* o) {
  std::vector<Object*> stack{o};
  while (!stack.empty()) {
    Object* x = stack.back();
    stack.pop_back();
    Traverse(x, [&](Object* r) {
      if (Visible(r) && IsUnreachable(r)) {
        ClearGcBits(r, kGcBitsUnreachable);
        stack.push_back(r);
      }
    });
  }
}

// Models deduce_unreachable_heap: update_refs, mark_heap_visitor, scan_heap_visitor.
void Collector::DeduceUnreachableHeap() {
  VisitHeaps([&](Object* o) { UpdateRefs(o); });
  client_.VisitDeferredStackRefs([&](Object* o) {
    if (Visible(o) && IsUnreachable(o)) o->ob_tid.StorePlain(o->ob_tid.LoadPlain() + 1);
  });
  VisitHeaps([&](Object* o) {
    // gc_get_refs(op) != 0: CPython asserts it is not negative.
    if (IsUnreachable(o) && o->ob_tid.LoadPlain() != 0) {
      ClearGcBits(o, kGcBitsUnreachable);
      MarkReachable(o);
    }
  });
  VisitHeaps([&](Object* o) {
    if (IsUnreachable(o)) {
      GcDisableDeferredRefcount(ts_, o);  // merges as CPython's does (merge_refcount(op, 0))
      MergeRefcount(o, 1);  // the worklist's reference
      Push(unreachable_, o);
      ++stats_.unreachable;
    } else {
      RestoreTid(o);
    }
  });
}

// Models finalize_garbage (world running): _PyGC_SET_FINALIZED, then tp_finalize.
void Collector::FinalizeGarbage() {
  for (Object* o = reinterpret_cast<Object*>(unreachable_.head); o != nullptr; o = Next(o)) {
    const uint8_t bits = o->ob_gc_bits.LoadRelaxed();
    if ((bits & kGcBitsFinalized) != 0 || !client_.HasFinalizer(o)) continue;
    o->ob_gc_bits.StoreRelaxed(static_cast<uint8_t>(bits | kGcBitsFinalized));  // _PyObject_SET_GC_BITS
    ++stats_.finalized;
    client_.Finalize(ts_, o);
  }
}

// Models handle_resurrected_objects (world stopped): ob_ref_local counts the
// references from outside the unreachable set; those objects, and what they
// reach, leave the worklist (worklist_remove, merge_refcount(op, -1)).
void Collector::HandleResurrectedObjects() {
  for (Object* o = reinterpret_cast<Object*>(unreachable_.head); o != nullptr; o = Next(o)) {
    const intptr_t refcount = RefSharedCount(o->ob_ref_shared.LoadPlain());
    o->ob_ref_local.StorePlain(o->ob_ref_local.LoadPlain() + static_cast<uint32_t>(refcount) - 1);
    Traverse(o, [&](Object* r) {
      if (Visible(r) && IsUnreachable(r)) r->ob_ref_local.StorePlain(r->ob_ref_local.LoadPlain() - 1);
    });
  }
  bool any = false;
  for (Object* o = reinterpret_cast<Object*>(unreachable_.head); o != nullptr; o = Next(o)) {
    const auto gc_refs = static_cast<int32_t>(o->ob_ref_local.LoadPlain());
    o->ob_ref_local.StorePlain(0);
    if (IsUnreachable(o) && gc_refs > 0) {
      any = true;
      ClearGcBits(o, kGcBitsUnreachable);
      MarkReachable(o);
    }
  }
  if (!any) return;
  // WORKSTACK_FOR_EACH_ITER + worklist_remove.
  Object* prev = nullptr;
  for (Object* o = reinterpret_cast<Object*>(unreachable_.head); o != nullptr;) {
    Object* next = Next(o);
    if (IsUnreachable(o)) {
      prev = o;
    } else {
      if (prev == nullptr) {
        unreachable_.head = reinterpret_cast<uintptr_t>(next);
      } else {
        prev->ob_tid.StorePlain(reinterpret_cast<uintptr_t>(next));
      }
      o->ob_tid.StorePlain(0);
      ++stats_.resurrected;
      MergeRefcount(o, -1);  // the worklist's reference
    }
    o = next;
  }
}

// Models delete_garbage: tp_clear and the worklist's reference for each
// object still unreachable.
void Collector::DeleteGarbage() {
  while (Object* o = Pop(unreachable_)) {
    ClearGcBits(o, kGcBitsUnreachable);
    ++stats_.collected;
    if (Observer* obs = rt_.observer) obs->OnGcClear(ts_, o);
    // subtype_clear -> clear_slots: plain load, plain store of NULL, decref.
    Cell<Object*>* slots = SlotsOf(o);
    for (uint32_t i = 0, n = o->nslots(); i < n; ++i) {
      if (Object* old = slots[i].LoadPlain()) {
        slots[i].StorePlain(nullptr);
        Decref(ts_, old);
      }
    }
    Decref(ts_, o);  // the worklist's reference
  }
}

GcStats Collector::Run() {
  if (options_.merge_before_stop) MergeAllQueuedObjects();
  StopTheWorld(ts_);
  if (!options_.merge_before_stop) MergeAllQueuedObjects();
  ProcessDelayedFrees();
  DeduceUnreachableHeap();
  StartTheWorld(ts_);
  // cleanup_worklist(&state->objs_to_decref): the dead non-GC objects.
  for (Object* o : objs_to_decref_) Decref(ts_, o);
  FinalizeGarbage();
  if (!options_.skip_resurrection_check) {
    StopTheWorld(ts_);
    HandleResurrectedObjects();
    StartTheWorld(ts_);
  }
  DeleteGarbage();
  return stats_;
}

}  // namespace

// Models gc_collect_main's guard: one collection at a time per interpreter;
// a thread that finds one running returns without collecting (the CAS of
// gcstate->collecting from 0 to 1, and its seq_cst store of 0 at the end).
GcStats GcCollect(ThreadState& ts, GcClient& client, const GcOptions& options) {
  int32_t expected = 0;
  if (!ts.rt->gc_collecting.CompareExchangeSeqCst(expected, 1)) return GcStats{};
  Collector c(ts, client, options);
  GcStats stats = c.Run();
  ts.rt->gc_collecting.StoreSeqCst(0);
  return stats;
}

Object* GcTrackNewInstance(Object* o, const Type* type) {
  if ((type->flags & kTpFlagsHaveGc) != 0) o->ob_gc_bits.Init(static_cast<uint8_t>(o->ob_gc_bits.Peek() | kGcBitsTracked));
  return o;
}

void GcUntrack(Object* o) { o->ob_gc_bits.Init(static_cast<uint8_t>(o->ob_gc_bits.Peek() & ~kGcBitsTracked)); }

bool GcIsTracked(const Object* o) { return (o->ob_gc_bits.Peek() & kGcBitsTracked) != 0; }

}  // namespace ftf::core
