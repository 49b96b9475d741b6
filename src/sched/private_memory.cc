// private_memory.cc - the table of private object blocks (see private_memory.h).

#include "sched/private_memory.h"

namespace ftf::sched {
namespace {

constexpr int kGranuleShift = 4;  // 16-byte granules: blocks are 16-byte aligned
// Granules of the largest block (255 slots: 32 + 255 * 8 bytes), with room.
constexpr size_t kMaxGranules = 160;

FTF_SCHED_INTERNAL inline size_t HomeOf(uintptr_t granule, size_t table_size) {
  return static_cast<size_t>((granule * 0x9E3779B97F4A7C15ull) >> 40) & (table_size - 1);
}

}  // namespace

PrivateMemory::PrivateMemory()
    : table_storage_(new Slot[kTableSize]()),
      block_storage_(new Block[kMaxBlocks]()),
      table_(table_storage_.get()),
      blocks_(block_storage_.get()) {}

PrivateMemory::~PrivateMemory() = default;

FTF_SCHED_INTERNAL void PrivateMemory::BeginRun() {
  num_blocks_ = 0;
  full_ = false;
  lo_ = hi_ = 0;
  for (size_t i = 0; i < kPageWords; ++i) page_bits_[i] = 0;
  if (++generation_ == 0) {  // wrapped: stale slots could look current
    for (size_t i = 0; i < kTableSize; ++i) table_[i].generation = 0;
    generation_ = 1;
  }
}

FTF_SCHED_INTERNAL const PrivateMemory::Slot* PrivateMemory::Find(uintptr_t granule) const {
  const size_t home = HomeOf(granule, kTableSize);
  for (size_t i = 0; i < kMaxProbes; ++i) {
    const Slot* s = &table_[(home + i) & (kTableSize - 1)];
    if (s->generation != generation_) return nullptr;  // empty: the chain ends here
    if (s->granule == granule) return s;
  }
  return nullptr;
}

FTF_SCHED_INTERNAL PrivateMemory::Block* PrivateMemory::BlockAt(const void* addr) {
  const Slot* s = Find(reinterpret_cast<uintptr_t>(addr) >> kGranuleShift);
  return s == nullptr ? nullptr : &blocks_[s->block];
}

FTF_SCHED_INTERNAL int PrivateMemory::OwnerSlow(const void* addr) const {
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  if (a < lo_ || a >= hi_) return -1;
  const Slot* s = Find(a >> kGranuleShift);
  if (s == nullptr) return -1;
  const Block& b = blocks_[s->block];
  return b.published ? -1 : b.owner;
}

FTF_SCHED_INTERNAL void PrivateMemory::Publish(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a < lo_ || a >= hi_) return;
  if (Block* b = BlockAt(p)) b->published = true;
}

FTF_SCHED_INTERNAL void PrivateMemory::OnAllocate(int thread, const void* begin, size_t bytes, bool reused) {
  // A reused block keeps its entry: private to its allocating thread if it
  // never was published (only that thread's allocator hands it out), else
  // published; a block with no entry is shared. Nothing to do either way.
  if (reused || full_ || bytes == 0) return;
  const uintptr_t first = reinterpret_cast<uintptr_t>(begin) >> kGranuleShift;
  const uintptr_t last = (reinterpret_cast<uintptr_t>(begin) + bytes - 1) >> kGranuleShift;
  if (Find(first) != nullptr) return;  // already known (cannot happen for a fresh block): keep it
  if (num_blocks_ >= kMaxBlocks) {
    full_ = true;
    return;
  }
  const uint32_t id = num_blocks_;
  // All granules or none: a block registered in part could be published
  // through its first granule while another still looked private.
  Slot* placed[kMaxGranules];
  size_t n = 0;
  for (uintptr_t g = first; g <= last; ++g) {
    Slot* slot = nullptr;
    const size_t home = HomeOf(g, kTableSize);
    for (size_t i = 0; i < kMaxProbes; ++i) {
      Slot* s = &table_[(home + i) & (kTableSize - 1)];
      if (s->generation != generation_) {
        slot = s;
        break;
      }
    }
    if (slot == nullptr || n == sizeof(placed) / sizeof(placed[0])) {
      // No room: undo (the slots placed so far were empty and are the ends
      // of their chains, so emptying them again breaks no other chain).
      for (size_t i = 0; i < n; ++i) placed[i]->generation = 0;
      full_ = true;
      return;
    }
    slot->granule = g;
    slot->generation = generation_;
    slot->block = id;
    placed[n++] = slot;
  }
  Block& b = blocks_[id];
  b.begin = reinterpret_cast<uintptr_t>(begin);
  b.bytes = static_cast<uint32_t>(bytes);
  b.owner = static_cast<int8_t>(thread);
  b.published = false;
  num_blocks_ = id + 1;
  const uintptr_t end = b.begin + bytes;
  if (id == 0 || b.begin < lo_) lo_ = b.begin;
  if (id == 0 || end > hi_) hi_ = end;
  for (uintptr_t page = b.begin >> kPageShift; page <= (end - 1) >> kPageShift; ++page) {
    page_bits_[(page >> 6) & (kPageWords - 1)] |= uint64_t{1} << (page & 63);
  }
}

}  // namespace ftf::sched
