// ledger_memory.cc - the ledger's view of memory rather than refcounts: raw
// (PyMem-like) blocks freed twice, and scheduling-point accesses into freed
// object blocks (see ledger.h, access_check.h).

#include <algorithm>

#include "absl/strings/str_format.h"
#include "audit/audit_scope.h"
#include "audit/ledger.h"
#include "audit/ledger_internal.h"
#include "core/object.h"
#include "core/thread_state.h"

namespace ftf::audit {

using core::Object;
using core::ThreadState;

// --- raw memory -------------------------------------------------------------

void RefLedger::OnRawAlloc(ThreadState& ts, void* p, size_t size) {
  AuditScope scope(mu_);
  raw_freed_.erase(p);  // malloc handed the address out again
  raw_live_[p] = RawBlock{next_raw_id_++, size};
}

void RefLedger::OnRawFree(ThreadState& ts, void* p) {
  AuditScope scope(mu_);
  auto it = raw_live_.find(p);
  if (it != raw_live_.end()) {
    raw_freed_[p] = it->second;
    raw_live_.erase(it);
    return;
  }
  auto f = raw_freed_.find(p);
  if (f == raw_freed_.end()) return;  // allocated before the ledger was installed
  Fail(Make(FindingKind::kDoubleFree, ts.index, 0,
            absl::StrFormat("raw block raw#%d (%d bytes) freed twice", f->second.raw_id, f->second.size)));
}

// --- scheduling-point accesses ----------------------------------------------

void RefLedger::CheckAccess(int thread, const core::Access& a) {
  if (a.addr == nullptr) return;
  AuditScope scope(mu_);
  if (free_blocks_.empty()) return;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(a.addr);
  auto it = std::upper_bound(free_blocks_.begin(), free_blocks_.end(), addr,
                             [](uintptr_t a, const FreeBlock& b) { return a < b.start; });
  if (it == free_blocks_.begin()) return;
  --it;
  if (addr >= it->end) return;
  const size_t offset = addr - it->start;
  const bool payload = offset >= offsetof(Object, ob_type);
  // Watches INV-OBJ-1 (core/object.h: a merge clears ob_tid before it
  // publishes MERGED, so no store lands in a block another thread freed) and,
  // for delayed decrefs, INV-QSBR-1 (core/qsbr.h: freed too early, the object
  // is touched by a reader that was still entitled to it).
  // What may touch a free block (docs/cpython-model.md §5): lock-free readers
  // load its refcount header (TryIncrefFast, TryIncRefShared) and CAS
  // ob_ref_shared (a CAS that succeeds is judged by the refcount event that
  // follows); the allocator stores its free-list link into the first word.
  bool allowed = false;
  switch (a.kind) {
    case core::AccessKind::kLoad:
      allowed = !payload;
      break;
    case core::AccessKind::kRmw:
      allowed = offset == offsetof(Object, ob_ref_shared);
      break;
    case core::AccessKind::kStore:
      allowed = offset == 0 && internal::EndsWith(a.loc.file, "core/heap.cc");
      break;
    case core::AccessKind::kFence:
      allowed = true;
      break;
  }
  if (allowed) return;
  const uint64_t id = it->id;
  const ObjectLife* life = Find(id);
  Finding f = Make(FindingKind::kUseAfterFree, thread, id,
                   absl::StrFormat("%s %s of obj#%d at offset %d, whose block was freed by T%d at step %d",
                                   core::AccessKindName(a.kind), payload ? "in the payload" : "of the header", id,
                                   offset, life ? life->free_thread : -1, life ? life->free_step : 0));
  // The access has not happened yet: its own location is the site.
  f.site = absl::StrFormat("%s:%d", internal::ShortPath(a.loc.file), a.loc.line);
  Fail(std::move(f));
}

FTF_AUDIT_UNSEEN void RefLedger::OnModelCrash(core::ThreadState& ts, const char* what, const char* file, int line) {
  AuditScope scope(mu_);
  Finding f = Make(FindingKind::kCrash, ts.index, 0, what);
  f.auditor = "model";
  // The faulting line itself, not the thread's last scheduling point.
  f.site = absl::StrFormat("%s:%d", internal::ShortPath(file), line);
  Fail(std::move(f));
}

}  // namespace ftf::audit
