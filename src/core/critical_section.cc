// critical_section.cc - models Python/critical_section.c and the inline parts
// of Include/internal/pycore_critical_section.h (see critical_section.h).

#include "core/critical_section.h"

#include "core/runtime.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

// tstate->critical_section is private to its thread: no other thread reads it,
// so it is read and written without scheduling points.
uintptr_t GetTag(const ThreadState& ts) { return ts.critical_section.Peek(); }
void SetTag(ThreadState& ts, uintptr_t v) { ts.critical_section.Init(v); }

CriticalSection* Untag(uintptr_t tag) { return reinterpret_cast<CriticalSection*>(tag & ~kCsMask); }

bool IsActive(uintptr_t tag) { return tag != 0 && (tag & kCsInactive) == 0; }

void Push(ThreadState& ts, CriticalSection* c, uintptr_t flags) {
  c->prev = GetTag(ts);
  SetTag(ts, reinterpret_cast<uintptr_t>(c) | flags);
}

// Models _PyCriticalSection_Pop: the new top, if suspended, is resumed.
// Models the world-stopped check of _PyCriticalSection_BeginSlow and
// _PyCriticalSection2_BeginSlow (gh-144513): while the world is stopped no
// other thread runs, so a section begun then takes no lock, and so cannot
// block on a mutex a stopped thread holds (e.g. one handed off to it while it
// was parked: gh-133130). CPython reads world_stopped plainly; only the
// requester runs while it is set, and it set it itself.
bool WorldStopped(const ThreadState& ts) { return ts.rt != nullptr && ts.rt->stw.world_stopped.Peek() != 0; }

void Pop(ThreadState& ts, CriticalSection* c, Loc loc) {
  uintptr_t prev = c->prev;
  SetTag(ts, prev);
  if ((prev & kCsInactive) != 0) CriticalSectionResume(ts, loc);
}

// Models _PyCriticalSection_BeginSlow.
void BeginSlow(ThreadState& ts, CriticalSection* c, Mutex* m, Loc loc) {
  uintptr_t tag = GetTag(ts);
  if (tag != 0) {
    // Locking the mutex the top-most section already holds is a no-op
    // (INV-CS-3); for a two-mutex top, either of its mutexes counts.
    CriticalSection* top = Untag(tag);
    if (top->mutex == m) {
      c->mutex = nullptr;
      c->prev = 0;
      return;
    }
    if ((tag & kCsTwoMutexes) != 0 && reinterpret_cast<CriticalSection2*>(top)->mutex2 == m) {
      c->mutex = nullptr;
      c->prev = 0;
      return;
    }
  }
  if (WorldStopped(ts)) {
    c->mutex = nullptr;
    c->prev = 0;
    return;
  }
  // Push first with no mutex recorded, so a suspension while blocked below
  // does not try to unlock a mutex we do not hold yet.
  c->mutex = nullptr;
  Push(ts, c, 0);
  m->Lock(&ts, LockFlags::kDetach, loc);
  c->mutex = m;
}

// Models _PyCriticalSection2_BeginSlow. NOTE: when m1 is already held
// (is_m1_locked), the section records no mutex until both are taken, so a
// suspension while blocked on m2 keeps m1 locked, exactly as CPython does.
void BeginSlow2(ThreadState& ts, CriticalSection2* c, Mutex* m1, Mutex* m2, bool is_m1_locked, Loc loc) {
  c->base.mutex = nullptr;
  c->mutex2 = nullptr;
  if (WorldStopped(ts)) {
    // A no-op section (End2 sees no mutex); the first mutex, if the fast
    // path took it, is given back.
    if (is_m1_locked) m1->Unlock(loc);
    c->base.prev = 0;
    return;
  }
  Push(ts, &c->base, kCsTwoMutexes);
  if (!is_m1_locked) m1->Lock(&ts, LockFlags::kDetach, loc);
  m2->Lock(&ts, LockFlags::kDetach, loc);
  c->base.mutex = m1;
  c->mutex2 = m2;
}

void SortByAddress(Mutex*& m1, Mutex*& m2) {
  if (reinterpret_cast<uintptr_t>(m2) < reinterpret_cast<uintptr_t>(m1)) {
    Mutex* tmp = m1;
    m1 = m2;
    m2 = tmp;
  }
}

}  // namespace

void CriticalSectionBegin(ThreadState& ts, CriticalSection* c, Mutex* m, Loc loc) {
  if (m->LockFast(loc)) {
    c->mutex = m;
    Push(ts, c, 0);
    return;
  }
  BeginSlow(ts, c, m, loc);
}

void CriticalSectionEnd(ThreadState& ts, CriticalSection* c, Loc loc) {
  // A no-op section (INV-CS-3) was never pushed.
  if (c->mutex == nullptr) return;
  c->mutex->Unlock(loc);
  Pop(ts, c, loc);
}

void CriticalSection2Begin(ThreadState& ts, CriticalSection2* c, Mutex* m1, Mutex* m2, Loc loc) {
  if (m1 == m2) {
    c->mutex2 = nullptr;
    CriticalSectionBegin(ts, &c->base, m1, loc);
    return;
  }
  SortByAddress(m1, m2);  // INV-CS-1
  if (m1->LockFast(loc)) {
    if (m2->LockFast(loc)) {
      c->base.mutex = m1;
      c->mutex2 = m2;
      Push(ts, &c->base, kCsTwoMutexes);
    } else {
      BeginSlow2(ts, c, m1, m2, /*is_m1_locked=*/true, loc);
    }
  } else {
    BeginSlow2(ts, c, m1, m2, /*is_m1_locked=*/false, loc);
  }
}

void CriticalSection2End(ThreadState& ts, CriticalSection2* c, Loc loc) {
  if (c->base.mutex == nullptr) return;  // degraded to a no-op one-mutex section
  if (c->mutex2 != nullptr) c->mutex2->Unlock(loc);
  c->base.mutex->Unlock(loc);
  Pop(ts, &c->base, loc);
}

bool CriticalSectionTryBegin(ThreadState& ts, CriticalSection* c, Mutex* m, Loc loc) {
  if (!m->LockFast(loc)) return false;
  c->mutex = m;
  Push(ts, c, 0);
  return true;
}

bool CriticalSection2TryBegin(ThreadState& ts, CriticalSection2* c, Mutex* m1, Mutex* m2,
                              bool keep_first_on_failure, Loc loc) {
  if (m1 == m2) {
    c->mutex2 = nullptr;
    return CriticalSectionTryBegin(ts, &c->base, m1, loc);
  }
  SortByAddress(m1, m2);
  if (!m1->LockFast(loc)) return false;
  if (!m2->LockFast(loc)) {
    if (!keep_first_on_failure) m1->Unlock(loc);
    return false;
  }
  c->base.mutex = m1;
  c->mutex2 = m2;
  Push(ts, &c->base, kCsTwoMutexes);
  return true;
}

void CriticalSectionSuspendAll(ThreadState& ts, Loc loc) {
  // Walk down from the top over the active sections (INV-CS-2). The tag of
  // the top lives in the thread state; the others in the sections' prev.
  uintptr_t* tagptr = nullptr;
  uintptr_t tag = GetTag(ts);
  while (IsActive(tag)) {
    CriticalSection* c = Untag(tag);
    if (c->mutex != nullptr) {
      c->mutex->Unlock(loc);
      if ((tag & kCsTwoMutexes) != 0) {
        auto* c2 = reinterpret_cast<CriticalSection2*>(c);
        if (c2->mutex2 != nullptr) c2->mutex2->Unlock(loc);
      }
    }
    if (tagptr == nullptr) {
      SetTag(ts, tag | kCsInactive);
    } else {
      *tagptr = tag | kCsInactive;
    }
    tagptr = &c->prev;
    tag = *tagptr;
  }
}

void CriticalSectionResume(ThreadState& ts, Loc loc) {
  uintptr_t p = GetTag(ts);
  CriticalSection* c = Untag(p);
  Mutex* m1 = c->mutex;
  c->mutex = nullptr;
  Mutex* m2 = nullptr;
  CriticalSection2* c2 = nullptr;
  if ((p & kCsTwoMutexes) != 0) {
    c2 = reinterpret_cast<CriticalSection2*>(c);
    m2 = c2->mutex2;
    c2->mutex2 = nullptr;
  }
  // Re-locking may block again (and suspend again: the section records no
  // mutex meanwhile, so nothing is unlocked twice).
  if (m1 != nullptr) m1->Lock(&ts, LockFlags::kDetach, loc);
  if (m2 != nullptr) m2->Lock(&ts, LockFlags::kDetach, loc);
  c->mutex = m1;
  if (m2 != nullptr) c2->mutex2 = m2;
  SetTag(ts, GetTag(ts) & ~kCsInactive);
}

// type_lock_prevent_release: the section keeps the mutex locked, but no
// longer records it, so _PyCriticalSection_SuspendAll leaves it locked and
// _PyCriticalSection_Resume does not re-lock it.
void CriticalSectionPin(ThreadState& ts, Mutex* m) {
  uintptr_t tag = GetTag(ts);
  CriticalSection* c = Untag(tag);
  if ((tag & kCsTwoMutexes) == 0) {
    c->mutex = nullptr;
    return;
  }
  auto* c2 = reinterpret_cast<CriticalSection2*>(c);
  if (c->mutex == m) {
    c->mutex = c2->mutex2;
    c2->mutex2 = nullptr;
  } else {
    c2->mutex2 = nullptr;
  }
}

// type_lock_allow_release: the section records the mutex again (as its
// first, or as its second when the other one is still recorded).
void CriticalSectionUnpin(ThreadState& ts, Mutex* m) {
  uintptr_t tag = GetTag(ts);
  CriticalSection* c = Untag(tag);
  if ((tag & kCsTwoMutexes) == 0) {
    c->mutex = m;
    return;
  }
  reinterpret_cast<CriticalSection2*>(c)->mutex2 = m;
}

CriticalSection* TopCriticalSection(const ThreadState& ts) { return Untag(GetTag(ts)); }

bool TopSectionHolds(const ThreadState& ts, const Mutex* m) {
  uintptr_t tag = GetTag(ts);
  if (!IsActive(tag)) return false;
  CriticalSection* c = Untag(tag);
  if (c->mutex == m) return true;
  return (tag & kCsTwoMutexes) != 0 && reinterpret_cast<CriticalSection2*>(c)->mutex2 == m;
}

int CriticalSectionDepth(const ThreadState& ts) {
  int n = 0;
  for (uintptr_t tag = GetTag(ts); tag != 0; tag = Untag(tag)->prev) ++n;
  return n;
}

}  // namespace ftf::core
