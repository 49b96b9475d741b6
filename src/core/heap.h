// heap.h - the model's own allocator for objects and raw memory.
//
// Models the properties of CPython's mimalloc object heaps that lock-free
// readers rely on (docs/cpython-model.md §5; Objects/mimalloc/, Objects/obmalloc.c
// _PyObject_MiMalloc / _PyObject_MiFree, Include/internal/pycore_mimalloc.h):
//
// * One heap per logical thread, one size class per slot count. A block
//   stays in its size class and its heap for the whole run: object memory
//   remains object-shaped memory of the same size (heap tags, page QSBR).
// * Blocks freed by the owning thread go on a LIFO free list and are handed
//   out again by the very next allocation of the same size by that thread,
//   so ABA at the same address is possible and likely.
// * Blocks freed by another thread go on the owning heap's cross-thread list
//   (mimalloc's xthread_free: a CAS push), collected by the owner when its
//   local list is empty (_mi_page_free_collect).
// * The free-list link overwrites only the first word (ob_tid) of the block
//   (mi_block_set_next). ob_ref_local (0) and ob_ref_shared (0 or MERGED)
//   keep saying "dead". mimalloc stores the link plainly, and so does the
//   model by default (Runtime::plain_free_list_link): TSan then also reports
//   a stale reader's relaxed ob_tid load in _Py_TryIncrefFast racing with
//   the free, which CPython relies on being benign; turn the option off to
//   store the link with a relaxed atomic store instead.
// * The rest of a free block, from ob_type on, is poisoned for ASan
//   (CPython's debug_offset leaves the same prefix unfilled, gh-115491).
//
// Blocks are carved from chunks owned by the heap (so by the Runtime) and
// returned only by Runtime::Reset / destruction. Model gaps: mimalloc keeps a
// separate local_free list, so in CPython a block is reused at once only when
// the page's free list is exhausted; the model reuses more eagerly. Size
// classes are exact slot counts, not mimalloc's rounded bins. Pages are never
// repurposed for another size class (the QSBR page delay of gh-115103 is
// therefore always satisfied).
//
// Raw memory (PyMem_Malloc-like: dict keys, list arrays) comes from malloc
// and goes back with free, so ASan reports a use after a too-early (e.g.
// QSBR-violating) free. Under TSan a freed block is instead written whole by
// the freeing thread (so TSan sees a reader racing with the free) and goes
// back to malloc at Reset: no address is reused within a run, which keeps
// what TSan reports independent of the allocator's caches. Each heap records
// the raw blocks it handed out so that Reset frees those the program leaked
// (and, under TSan, those it freed).
//
// Thread-safety: a heap's free lists and chunks are touched only by its own
// logical thread, except `xthread` lists, pushed by any thread with a CAS and
// taken by the owner with an exchange. Raw blocks may be freed by any thread.
// Memory ordering: the cross-thread push and take are seq_cst RMWs (mimalloc
// uses release/acquire), giving the owner a happens-before edge from the
// remote free, as in CPython.

#ifndef FTF_CORE_HEAP_H_
#define FTF_CORE_HEAP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "core/atomics.h"
#include "core/object.h"

namespace ftf::core {

struct ThreadState;
class Runtime;

class Heap {
 public:
  Heap(Runtime* rt, int index);
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  int index() const { return index_; }

  // Returns an unpoisoned block for an object of `nslots` slots. `reused` is
  // set when the block held an earlier object (taken from a free list).
  // Only the owning logical thread calls this. The Object's fields still hold
  // whatever they held (a fresh block: constructed zero Cells).
  Object* AllocBlock(uint32_t nslots, bool* reused);
  // Owner-only: push on the local LIFO list (mimalloc's local free).
  void FreeLocal(Object* o);
  // Any thread: push on the cross-thread list of o's size class.
  void FreeRemote(Object* o);

  // Raw blocks (see AllocRaw below).
  void* AllocRaw(size_t size);
  static void FreeRaw(void* p);
  static size_t RawSize(const void* p);

  // Frees every raw block still allocated and empties every size class;
  // back to empty. The chunks are kept aside (poisoned under ASan) and
  // carved again, in the same size class, by the next input: the allocator
  // behaves exactly as with fresh chunks, without a malloc/free (and the
  // sanitizers' shadow bookkeeping) per chunk per input. Only while no
  // logical thread runs.
  void Reset();

  // Calls fn(o) for every object block of this heap that holds a live
  // object, chunk by chunk in carving order (a deterministic order).
  // Reads only the never-poisoned BlockHeaders to skip free blocks. For the
  // collector (gc.h: gc_visit_heaps), with the world stopped.
  void ForEachLiveObject(const std::function<void(Object*)>& fn) const;

  // Introspection for tests.
  size_t chunk_count() const { return chunks_.size(); }
  size_t live_raw_blocks() const;
  size_t local_free_count(uint32_t nslots) const;

 private:
  struct SizeClass {
    Object* local_free = nullptr;  // LIFO, linked through ob_tid (owner only)
    char* bump = nullptr;          // next uncarved block of the current chunk
    char* bump_end = nullptr;
    Cell<Object*> xthread;         // blocks freed by other threads
  };
  struct RawEntry {
    void* block = nullptr;  // the malloc'd block (header included)
    Cell<uint8_t> freed;    // set (Init) by whichever thread frees it
  };
  struct RawHeader {
    RawEntry* entry;
    uint64_t size;
  };
  static_assert(sizeof(RawHeader) == 16);

  struct Chunk {
    void* base;
    size_t bytes;
    uint32_t nslots;  // the size class it was carved for
  };
  // A chunk of `alloc_bytes` for size class `nslots`: a spare one, or a
  // fresh allocation.
  char* TakeChunk(uint32_t nslots, size_t alloc_bytes);
  // Returns the spare chunks to the C allocator (the destructor).
  void ReleaseChunks();

  Object* Carve(uint32_t nslots);
  void StoreLink(Object* o, Object* next);

  Runtime* rt_;
  int index_;
  std::array<SizeClass, kMaxSlots + 1> classes_;
  std::vector<Chunk> chunks_;  // in use by this input
  // Chunks of earlier inputs, per size class, ready to be carved again.
  std::array<std::vector<Chunk>, kMaxSlots + 1> spare_;
  std::deque<RawEntry> raw_;  // stable addresses: remote frees write entry->freed
};

// Models PyObject_Malloc for the object heaps: a block from ts's heap, with
// its BlockHeader's object_id/generation/alloc_thread/live updated. Sets
// `*previous_id` to the id of the object the block held before (0 if fresh).
Object* AllocObjectBlock(ThreadState& ts, uint32_t nslots, uint64_t* previous_id);
// Models PyObject_Free (mi_free): poisons the payload and returns the block
// to its heap, locally or through the cross-thread list. Any thread.
void FreeObjectBlock(ThreadState& ts, Object* o);

// Models PyMem_Malloc / PyMem_Free for raw memory (dict keys, arrays):
// malloc/free underneath. FreeRaw may run on any thread. Use
// FreeDelayed (qsbr.h) for memory that lock-free readers may still touch.
void* AllocRaw(ThreadState& ts, size_t size);
void FreeRaw(ThreadState& ts, void* p);

// True if ASan is on and the byte at `p` is poisoned (tests; false without ASan).
bool IsPoisonedForAsan(const void* p);
// True when built with AddressSanitizer.
bool HaveAsan();

}  // namespace ftf::core

#endif  // FTF_CORE_HEAP_H_
