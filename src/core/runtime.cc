// runtime.cc - construction and per-input reset of the modelled interpreter.

#include "core/runtime.h"

#include "core/parking_lot.h"

#include <cstdlib>
#include <new>

namespace ftf::core {
namespace {

// Puts the header of a static immortal object back in its initial state
// (the values NewStaticObject gives it); used for None between inputs.
void ReinitStaticHeader(Object* o) {
  o->ob_tid.Init(0);
  o->ob_flags.Init(kStaticallyAllocatedFlag);
  new (&o->ob_mutex) Mutex();
  o->ob_gc_bits.Init(kGcBitsDeferred);
  o->ob_ref_local.Init(kImmortalRefcntLocal);
  o->ob_ref_shared.Init(0);
}

}  // namespace

Runtime::Runtime(int num_threads) {
  // Create the process-wide parking lot now, on the thread that builds the
  // runtime. Created lazily by the first logical thread to park, its
  // function-local static's guard would be a happens-before edge (TSan models
  // __cxa_guard_acquire/release as acquire/release) from that thread to every
  // thread parking after it, in the first run of the process only: a race on
  // that path would be hidden in a fresh process and found in a long-running
  // fuzzer, so its crash file would not reproduce.
  GlobalParkingLot();
  threads_.reserve(static_cast<size_t>(num_threads));
  heaps_.reserve(static_cast<size_t>(num_threads));
  for (int i = 0; i < num_threads; ++i) {
    auto ts = std::make_unique<ThreadState>();
    ts->rt = this;
    ts->index = i;
    ts->tid = static_cast<uintptr_t>(i + 1) * kTidStride;
    heaps_.push_back(std::make_unique<Heap>(this, i));
    ts->heap = heaps_.back().get();
    threads_.push_back(std::move(ts));
  }
  // Every thread has its QSBR entry from the start (a World lays the array
  // out again for a program that creates threads during the run).
  QsbrLayOutArray(*this, std::vector<bool>(threads_.size(), true));
  none_ = NewStaticObject(*this, 0);
  permanent_static_blocks_ = static_blocks_.size();
  first_dynamic_id_ = next_object_id.Peek();
}

Runtime::~Runtime() {
  heaps_.clear();  // frees chunks and leaked raw blocks
  for (void* b : static_blocks_) std::free(b);
}

ThreadState* Runtime::FindThreadByTid(uintptr_t tid) {
  // tids are (index + 1) * kTidStride; check rather than trust the arithmetic,
  // since a corrupted ob_tid (e.g. a free-list link) may arrive here.
  if (tid == 0 || tid % kTidStride != 0) return nullptr;
  uintptr_t i = tid / kTidStride - 1;
  if (i >= threads_.size()) return nullptr;
  ThreadState* ts = threads_[i].get();
  return ts->tid == tid ? ts : nullptr;
}

void Runtime::Reset() {
  for (auto& h : heaps_) h->Reset();

  // Every ThreadState back to its defaults (whoever added the field), keeping
  // its identity. Vectors lose their capacity; that is cheap next to a run.
  for (auto& p : threads_) {
    ThreadState& ts = *p;
    Runtime* rt = ts.rt;
    int index = ts.index;
    uintptr_t tid = ts.tid;
    Heap* heap = ts.heap;
    ts.~ThreadState();
    new (&ts) ThreadState();
    ts.rt = rt;
    ts.index = index;
    ts.tid = tid;
    ts.heap = heap;
  }

  stw.~StwState();
  new (&stw) StwState();

  // QSBR: sequences and the abandoned-items queue (its raw blocks were freed
  // with the heaps); the policy knobs are configuration and survive.
  uint32_t deferred_limit = qsbr.deferred_limit;
  size_t free_mem_limit = qsbr.free_mem_limit;
  qsbr.~QsbrShared();
  new (&qsbr) QsbrShared();
  qsbr.deferred_limit = deferred_limit;
  qsbr.free_mem_limit = free_mem_limit;
  QsbrLayOutArray(*this, std::vector<bool>(threads_.size(), true));

  // Static objects made during the input go; the constructor's stay.
  for (size_t i = permanent_static_blocks_; i < static_blocks_.size(); ++i) std::free(static_blocks_[i]);
  static_blocks_.resize(permanent_static_blocks_);
  next_object_id.Init(first_dynamic_id_);
  gc_collecting.Init(0);
  ReinitStaticHeader(none_);
  // `faults` and `observer` are the harness's configuration: kept.
}

}  // namespace ftf::core
