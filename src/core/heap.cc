// heap.cc - the per-thread object heaps and raw blocks (see heap.h).

#include "core/heap.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "core/observer.h"
#include "core/runtime.h"
#include "core/thread_state.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FTF_HEAP_ASAN 1
#endif
#endif
#if !defined(FTF_HEAP_ASAN) && defined(__SANITIZE_ADDRESS__)
#define FTF_HEAP_ASAN 1
#endif
#if defined(FTF_HEAP_ASAN)
#include <sanitizer/asan_interface.h>
#endif

#if defined(FTF_TSAN)
extern "C" void __tsan_ignore_thread_begin(void);
extern "C" void __tsan_ignore_thread_end(void);
// The entry point the compiler's instrumentation calls for a write of a
// whole range (not in the public header, but part of the runtime's ABI).
extern "C" void __tsan_write_range(void* addr, unsigned long size);
#endif

namespace ftf::core {

namespace {
#if defined(FTF_TSAN)
void TsanIgnoreBegin() { __tsan_ignore_thread_begin(); }
void TsanIgnoreEnd() { __tsan_ignore_thread_end(); }
#else
void TsanIgnoreBegin() {}
void TsanIgnoreEnd() {}
#endif
}  // namespace
namespace {

// Under TSan FreeRaw keeps the block until Reset (see FreeRaw).
#if defined(FTF_TSAN)
constexpr bool kRawFreeAtReset = true;
#else
constexpr bool kRawFreeAtReset = false;
#endif

// Chunk ("page") size; at least kMinBlocksPerChunk blocks per chunk.
constexpr size_t kChunkBytes = 4096;
constexpr size_t kMinBlocksPerChunk = 8;

void Poison(const void* p, size_t n) {
#if defined(FTF_HEAP_ASAN)
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

void Unpoison(const void* p, size_t n) {
#if defined(FTF_HEAP_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// The part of a free block that stays readable: the header up to ob_type.
constexpr size_t kReadablePrefix = offsetof(Object, ob_type);

// Bytes from ob_type to the end of the block.
size_t PoisonedTail(uint32_t nslots) { return BlockSize(nslots) - sizeof(BlockHeader) - kReadablePrefix; }

[[noreturn]] void Fatal(const char* what, const Object* o) {
  std::fprintf(stderr, "ftfuzz: model fatal error: %s (object #%llu)\n", what,
               static_cast<unsigned long long>(o ? ObjectId(o) : 0));
  std::abort();
}

}  // namespace

bool HaveAsan() {
#if defined(FTF_HEAP_ASAN)
  return true;
#else
  return false;
#endif
}

bool IsPoisonedForAsan(const void* p) {
#if defined(FTF_HEAP_ASAN)
  return __asan_address_is_poisoned(p) != 0;
#else
  (void)p;
  return false;
#endif
}

Heap::Heap(Runtime* rt, int index) : rt_(rt), index_(index) {}

Heap::~Heap() { Reset(); ReleaseChunks(); }

// Models mimalloc's page extension: carve the next block of this size class
// from the current chunk, or take a new chunk.
Object* Heap::Carve(uint32_t nslots) {
  SizeClass& c = classes_[nslots];
  const size_t bs = BlockSize(nslots);
  if (c.bump == c.bump_end) {
    const size_t count = std::max(kMinBlocksPerChunk, kChunkBytes / bs);
    const size_t bytes = count * bs;
    const size_t alloc_bytes = (bytes + 63) & ~size_t{63};
    // A chunk an earlier input used for this size class, or a fresh one
    // (TakeChunk, at the end of this file). The allocator taking a chunk is
    // not an access of the modelled program (CPython's mimalloc is not
    // instrumented): a fresh chunk is allocated inside a TSan ignore scope so
    // it has no "written at allocation" history that a stale lock-free reader
    // of a later object would race with; a kept chunk's history is the
    // earlier inputs', which all happen before this one (the executor's done
    // and start tokens). Its old contents are never read: every carved block
    // is initialised below. (No lines added here: scheduling points are
    // hashed by file and line, and the ones further down must keep theirs.)
    char* chunk = TakeChunk(nslots, alloc_bytes);
    chunks_.push_back(Chunk{chunk, alloc_bytes, nslots});
    Poison(chunk, bytes);  // uncarved memory is off limits too
    c.bump = chunk;
    c.bump_end = chunk + bytes;
  }
  char* b = c.bump;
  c.bump += bs;
  Unpoison(b, bs);
  auto* h = new (b) BlockHeader();
  h->nslots = nslots;
  h->heap_index = index_;
  // No plain zeroing of the object part: a stale lock-free reader may load
  // ob_tid / ob_ref_* of this address (relaxed atomics) once the object is
  // published with a relaxed store, and CPython's allocator writes no plain
  // zeros there either. Every field is set with a relaxed Init().
  auto* o = new (b + sizeof(BlockHeader)) Object(NoInit{});
  o->ob_tid.Init(0);
  o->ob_flags.Init(0);
  o->ob_mutex.InitBits(0);
  o->ob_gc_bits.Init(0);
  o->ob_ref_local.Init(0);
  o->ob_ref_shared.Init(0);
  o->ob_type.Init(nullptr);
  Cell<Object*>* slots = SlotsOf(o);
  for (uint32_t i = 0; i < nslots; ++i) {
    new (&slots[i]) Cell<Object*>(NoInit{});
    slots[i].Init(nullptr);
  }
  return o;
}

// Models mi_heap_malloc's path: page->free first; when empty, collect the
// cross-thread frees (_mi_page_free_collect); otherwise extend the page.
Object* Heap::AllocBlock(uint32_t nslots, bool* reused) {
  SizeClass& c = classes_[nslots];
  Object* o = c.local_free;
  if (o == nullptr) o = c.xthread.ExchangeSeqCst(nullptr);
  if (o != nullptr) {
    // mi_block_next: a plain read of the link in the block's first word.
    c.local_free = reinterpret_cast<Object*>(o->ob_tid.LoadPlain());
    Unpoison(&o->ob_type, PoisonedTail(nslots));
    *reused = true;
    return o;
  }
  *reused = false;
  return Carve(nslots);
}

// mi_block_set_next: the link goes into the block's first word, ob_tid.
void Heap::StoreLink(Object* o, Object* next) {
  if (rt_->plain_free_list_link) {
    o->ob_tid.StorePlain(reinterpret_cast<uintptr_t>(next));
  } else {
    o->ob_tid.StoreRelaxed(reinterpret_cast<uintptr_t>(next));
  }
}

// mi_free on the owning thread: push on the local LIFO list.
void Heap::FreeLocal(Object* o) {
  SizeClass& c = classes_[o->nslots()];
  StoreLink(o, c.local_free);
  c.local_free = o;
}

// _mi_free_block_mt: push on the page's xthread_free list with a CAS.
void Heap::FreeRemote(Object* o) {
  SizeClass& c = classes_[o->nslots()];
  Object* head = c.xthread.LoadRelaxed();
  do {
    StoreLink(o, head);
  } while (!c.xthread.CompareExchangeSeqCst(head, o));
}

void* Heap::AllocRaw(size_t size) {
  void* block = std::malloc(sizeof(RawHeader) + size);
  if (block == nullptr) {
    std::fprintf(stderr, "ftfuzz: out of memory (raw block of %zu bytes)\n", size);
    std::abort();
  }
  RawEntry& e = raw_.emplace_back();
  e.block = block;
  auto* h = static_cast<RawHeader*>(block);
  h->entry = &e;
  h->size = size;
  return h + 1;
}

void Heap::FreeRaw(void* p) {
  RawHeader* h = static_cast<RawHeader*>(p) - 1;
  h->entry->freed.Init(1);
#if defined(FTF_TSAN)
  // Under TSan the block goes back to malloc only at Reset: the free is a
  // write of the whole block by the freeing thread, so a reader that does
  // not happen after it still races with it, and no later allocation of
  // this run can get the address. With a real free, whether the allocator
  // handed the block out again within the run depended on its caches, that
  // is on the runs before in the process, and with it which of the
  // reader's accesses TSan reported (README, "Known gaps").
  __tsan_write_range(h, sizeof(RawHeader) + h->size);
#else
  std::free(h);
#endif
}

size_t Heap::RawSize(const void* p) { return static_cast<const RawHeader*>(p)[-1].size; }

size_t Heap::live_raw_blocks() const {
  size_t n = 0;
  for (const RawEntry& e : raw_) n += e.freed.Peek() == 0 ? 1 : 0;
  return n;
}

size_t Heap::local_free_count(uint32_t nslots) const {
  size_t n = 0;
  for (const Object* o = classes_[nslots].local_free; o != nullptr;
       o = reinterpret_cast<const Object*>(o->ob_tid.Peek())) {
    ++n;
  }
  return n;
}

void Heap::Reset() {
  for (RawEntry& e : raw_) {
    if (e.freed.Peek() == 0 || kRawFreeAtReset) std::free(e.block);
  }
  raw_.clear();
  for (SizeClass& c : classes_) {
    c.local_free = nullptr;
    c.bump = c.bump_end = nullptr;
    c.xthread.Init(nullptr);
  }
  for (const Chunk& chunk : chunks_) {
    // Kept for the next input (TakeChunk); off limits until carved again.
    Poison(chunk.base, chunk.bytes);
    spare_[chunk.nslots].push_back(chunk);
  }
  chunks_.clear();
}

Object* AllocObjectBlock(ThreadState& ts, uint32_t nslots, uint64_t* previous_id) {
  if (nslots > kMaxSlots) {
    std::fprintf(stderr, "ftfuzz: model fatal error: object with %u slots (max %u)\n", nslots, kMaxSlots);
    std::abort();
  }
  bool reused = false;
  Object* o = ts.heap->AllocBlock(nslots, &reused);
  BlockHeader* h = HeaderOf(o);
  *previous_id = reused ? h->object_id.Peek() : 0;
  h->object_id.Init(ts.rt->next_object_id.FetchAddRelaxedNoPoint(1));  // model-only id: no point
  h->generation.Init(h->generation.Peek() + 1);
  h->alloc_thread.Init(ts.index);
  h->live.Init(1);
  NoteAllocated(o, sizeof(Object) + nslots * sizeof(Cell<Object*>), reused);  // docs/scheduling.md
  return o;
}

void FreeObjectBlock(ThreadState& ts, Object* o) {
  BlockHeader* h = HeaderOf(o);
  if (h->heap_index < 0) Fatal("freeing a statically allocated object", o);
  if (Observer* obs = ts.rt->observer) obs->OnFreeBlock(ts, o);
  if (h->live.Peek() == 0) Fatal("double free of an object block", o);
  h->live.Init(0);
  Poison(&o->ob_type, PoisonedTail(h->nslots));
  Heap& owner = ts.rt->heap(h->heap_index);
  if (h->heap_index == ts.index) {
    owner.FreeLocal(o);
  } else {
    owner.FreeRemote(o);
  }
}

void* AllocRaw(ThreadState& ts, size_t size) {
  void* p = ts.heap->AllocRaw(size);
  if (Observer* obs = ts.rt->observer) obs->OnRawAlloc(ts, p, size);
  return p;
}

void FreeRaw(ThreadState& ts, void* p) {
  if (p == nullptr) return;
  if (Observer* obs = ts.rt->observer) obs->OnRawFree(ts, p);
  Heap::FreeRaw(p);
}

// --- chunk reuse across inputs (after every scheduling point of this file) ---

char* Heap::TakeChunk(uint32_t nslots, size_t alloc_bytes) {
  std::vector<Chunk>& spare = spare_[nslots];
  if (!spare.empty()) {
    char* chunk = static_cast<char*>(spare.back().base);  // same size class, same size
    spare.pop_back();
    return chunk;
  }
  TsanIgnoreBegin();
  char* chunk = static_cast<char*>(std::aligned_alloc(64, alloc_bytes));
  TsanIgnoreEnd();
  if (chunk == nullptr) {
    std::fprintf(stderr, "ftfuzz: out of memory in the object heap\n");
    std::abort();
  }
  return chunk;
}

void Heap::ReleaseChunks() {
  for (std::vector<Chunk>& spare : spare_) {
    for (const Chunk& chunk : spare) {
      // Unpoison the whole allocation before handing it back to the C allocator.
      Unpoison(chunk.base, chunk.bytes);
      std::free(chunk.base);
    }
    spare.clear();
  }
}

// Models gc_visit_heaps' walk of one mimalloc heap: every carved block of
// every chunk (the current chunk of a size class only up to its bump pointer).
void Heap::ForEachLiveObject(const std::function<void(Object*)>& fn) const {
  for (const Chunk& chunk : chunks_) {
    const size_t bs = BlockSize(chunk.nslots);
    const SizeClass& c = classes_[chunk.nslots];
    char* begin = static_cast<char*>(chunk.base);
    char* end = begin + (chunk.bytes / bs) * bs;
    if (c.bump >= begin && c.bump <= end) end = c.bump;
    for (char* b = begin; b < end; b += bs) {
      auto* h = reinterpret_cast<BlockHeader*>(b);
      if (h->live.Peek() != 0) fn(reinterpret_cast<Object*>(h + 1));
    }
  }
}

}  // namespace ftf::core
