// object.cc - object creation, immortalisation and deallocation (see object.h).

#include "core/object.h"

#include <cstdio>
#include <cstdlib>
#include <new>

#include "core/heap.h"
#include "core/observer.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

[[noreturn]] void SlotOutOfRange(const Object* o, uint32_t i) {
  std::fprintf(stderr, "ftfuzz: model fatal error: slot %u of object #%llu with %u slots\n", i,
               static_cast<unsigned long long>(ObjectId(o)), o->nslots());
  std::abort();
}

// The non-refcount part of new_reference and of _PyObject_Init: ob_flags
// and ob_mutex are plain stores in CPython, and so are ob_type and the
// zeroed payload (PyType_GenericAlloc memsets it). Re-constructing the Cells
// in place gives exactly that: plain, TSan-visible writes, no scheduling point.
void InitPlainFields(Object* o, uint16_t flags, Type* type) {
  new (&o->ob_flags) Cell<uint16_t>(flags);
  new (&o->ob_mutex) Mutex();
  new (&o->ob_type) Cell<Type*>(type);
  Cell<Object*>* slots = SlotsOf(o);
  for (uint32_t i = 0, n = o->nslots(); i < n; ++i) new (&slots[i]) Cell<Object*>();
}

}  // namespace

Cell<Object*>& Object::slot(uint32_t i) {
  if (i >= nslots()) SlotOutOfRange(this, i);
  return SlotsOf(this)[i];
}

const Cell<Object*>& Object::slot(uint32_t i) const {
  if (i >= nslots()) SlotOutOfRange(this, i);
  return SlotsOf(this)[i];
}

int64_t PeekRefcnt(const Object* o) {
  uint32_t local = o->ob_ref_local.Peek();
  if (local == kImmortalRefcntLocal) return kImmortalRefcntLocal;
  return static_cast<int64_t>(local) + RefSharedCount(o->ob_ref_shared.Peek());
}

Object* NewObject(ThreadState& ts, uint32_t nslots, Type* type) {
  uint64_t previous_id = 0;
  Object* o = AllocObjectBlock(ts, nslots, &previous_id);
  Observer* obs = ts.rt->observer;
  if (obs != nullptr && previous_id != 0) obs->OnReuse(ts, o, previous_id);
  InitPlainFields(o, 0, type);
  // new_reference: relaxed stores under TSan (gh-129665), because a stale
  // reader may be running TryIncRefShared's CAS on this very block.
  o->ob_tid.Init(ts.tid);
  o->ob_gc_bits.Init(0);
  o->ob_ref_local.Init(1);
  o->ob_ref_shared.Init(0);
  if (obs != nullptr) obs->OnAlloc(ts, o);
  return o;
}

void SetImmortal(ThreadState& ts, Object* o) {
  uint32_t before = o->ob_ref_local.LoadRelaxed();
  o->ob_tid.StorePlain(0);
  o->ob_ref_local.StorePlain(kImmortalRefcntLocal);
  o->ob_ref_shared.StorePlain(0);
  o->ob_gc_bits.FetchOrSeqCst(kGcBitsDeferred);  // _Py_atomic_or_uint8
  if (Observer* obs = ts.rt->observer) obs->OnRefChange(ts, o, RefOp::kSetImmortal, before, kImmortalRefcntLocal);
}

Object* NewStaticObject(Runtime& rt, uint32_t nslots, Type* type) {
  if (nslots > kMaxSlots) {
    std::fprintf(stderr, "ftfuzz: model fatal error: static object with %u slots\n", nslots);
    std::abort();
  }
  const size_t bytes = BlockSize(nslots);
  void* block = std::aligned_alloc(64, (bytes + 63) & ~size_t{63});
  if (block == nullptr) std::abort();
  rt.AddStaticBlock(block);
  auto* h = new (block) BlockHeader();
  h->nslots = nslots;
  h->heap_index = -1;
  // Set-up time: no scheduling point, no concurrent allocation.
  uint64_t id = rt.next_object_id.Peek();
  rt.next_object_id.Init(id + 1);
  h->object_id.Init(id);
  h->generation.Init(1);
  h->alloc_thread.Init(-1);
  h->live.Init(1);
  auto* o = new (h + 1) Object();
  InitPlainFields(o, kStaticallyAllocatedFlag, type);
  o->ob_tid.Init(0);
  o->ob_gc_bits.Init(kGcBitsDeferred);
  o->ob_ref_local.Init(kImmortalRefcntLocal);
  o->ob_ref_shared.Init(0);
  return o;
}

void Dealloc(ThreadState& ts, Object* o) {
  GcUntrack(o); if (Observer* obs = ts.rt->observer) obs->OnDealloc(ts, o);  // PyObject_GC_UnTrack first
  // clear_slots: plain load, plain store of NULL, then drop the reference
  // (which may free further objects, here, on this thread).
  Cell<Object*>* slots = SlotsOf(o);
  for (uint32_t i = 0, n = o->nslots(); i < n; ++i) {
    Object* old = slots[i].LoadPlain();
    if (old != nullptr) {
      slots[i].StorePlain(nullptr);
      Decref(ts, old);
    }
  }
  FreeObjectBlock(ts, o);
}

}  // namespace ftf::core
