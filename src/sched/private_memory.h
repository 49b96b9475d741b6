// private_memory.h - which object blocks only one logical thread can reach.
//
// Executor logic, not a model of CPython: the partial-order reduction of
// docs/scheduling.md. A block the running thread's allocator handed out in
// this run is private to that thread until a pointer to it is stored
// anywhere (a pointer-typed Cell store or RMW, Cell::Init, or
// core::NotePublished); from then on, for the rest of the run, it is
// published. While a block is private no other thread holds a pointer to it,
// so no other thread can access it: an access of its owner to it commutes
// with every access of every other thread, and the executor runs it without
// a scheduling point.
//
// A reused block (taken from a free list) stays private only if it never
// was published in this run: a published block that was freed and handed
// out again may still be reached through a stale pointer (the ABA window of
// the lock-free readers), so it stays published.
//
// Checked, not trusted: an access of another thread to a private block means
// the object escaped by a path that reported no publication. The block is
// then published (every later access is a point again) and the escape is
// counted; the tests require the count to stay 0 on every corpus input.
//
// Lookups are by 16-byte granule (blocks are 16-byte aligned and at most a
// few hundred bytes): a small open-addressing table, cleared in O(1) per run
// by a generation number. A full table stops registering: blocks it cannot
// hold are shared (points), which is always sound.
//
// Thread-safety: the methods run inside fibers and are FTF_SCHED_INTERNAL
// (sanitizer_glue.h): invisible to TSan, no allocation; BeginRun runs in the
// scheduler context. Memory ordering: none (one OS thread).

#ifndef FTF_SCHED_PRIVATE_MEMORY_H_
#define FTF_SCHED_PRIVATE_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sched/sanitizer_glue.h"

namespace ftf::sched {

class PrivateMemory {
 public:
  PrivateMemory();
  ~PrivateMemory();
  PrivateMemory(const PrivateMemory&) = delete;
  PrivateMemory& operator=(const PrivateMemory&) = delete;

  // Scheduler context: forget every block.
  void BeginRun();
  // `thread`'s allocator handed out [begin, begin + bytes). A fresh block
  // becomes private to `thread`; a reused one keeps what it was (private to
  // `thread` only if it never was published; unknown blocks stay shared).
  void OnAllocate(int thread, const void* begin, size_t bytes, bool reused);
  // The thread a private block containing `addr` belongs to, or -1 (not a
  // block of this run, or published). Inline: it runs at every access, and
  // most accesses (to the world's objects) leave at the page filter.
  FTF_SCHED_INTERNAL int Owner(const void* addr) const {
    const uintptr_t page = reinterpret_cast<uintptr_t>(addr) >> kPageShift;
    if (((page_bits_[(page >> 6) & (kPageWords - 1)] >> (page & 63)) & 1) == 0) return -1;
    return OwnerSlow(addr);
  }
  // The block containing `p` (if any) is published.
  void Publish(const void* p);

  FTF_SCHED_INTERNAL uint64_t blocks() const { return num_blocks_; }

 private:
  struct Block {
    uintptr_t begin;
    uint32_t bytes;
    int8_t owner;
    bool published;
    uint8_t pad[2];
  };
  struct Slot {
    uintptr_t granule;
    uint32_t generation;
    uint32_t block;
  };
  // Small enough to stay in cache: it is probed at every access. A run that
  // allocates more than it holds has its later blocks shared (points).
  static constexpr size_t kTableSize = 1 << 11;  // granules (power of two)
  static constexpr size_t kMaxBlocks = 512;      // blocks per run
  static constexpr size_t kMaxProbes = 16;

  // A bit per 4 KiB page (hashed by page number) that holds part of a
  // registered block: a clear bit means no private block there.
  static constexpr int kPageShift = 12;
  static constexpr size_t kPageWords = 64;  // 4096 bits

  int OwnerSlow(const void* addr) const;
  // The slot of `granule` (nullptr if absent).
  const Slot* Find(uintptr_t granule) const;
  Block* BlockAt(const void* addr);

  std::unique_ptr<Slot[]> table_storage_;
  std::unique_ptr<Block[]> block_storage_;
  Slot* table_;     // raw copies of the storage pointers, for fiber-side code
  Block* blocks_;
  uint32_t generation_ = 1;  // slots start at 0: empty
  // The address range the registered blocks span: most accesses (to the
  // world's objects, made before the run) fall outside it and need no probe.
  uintptr_t lo_ = 0;
  uintptr_t hi_ = 0;
  uint64_t page_bits_[kPageWords] = {};
  uint32_t num_blocks_ = 0;
  bool full_ = false;
};

}  // namespace ftf::sched

#endif  // FTF_SCHED_PRIVATE_MEMORY_H_
