// sched_hook.h - how the core hands control to an executor.
//
// The core never decides who runs. At every shared-memory access (through
// Cell, atomics.h) it calls SchedHook::OnAccess (the executor decides whether
// the access is a scheduling point: an access to memory no other thread can
// reach yet is not, docs/scheduling.md), and whenever a logical thread
// cannot proceed (a parked PyMutex waiter, a thread paused for stop-the-world,
// the requester of a stop-the-world waiting for the others) it calls
// WaitUntil with a predicate. The deterministic fiber executor (src/sched/)
// implements the hook: OnAccess is a context switch decided by the input, and
// WaitUntil marks the thread blocked until its predicate holds (everyone
// blocked = DEADLOCK). With no hook installed (plain real threads, unit
// tests) OnAccess does nothing and WaitUntil yields the OS thread until the
// predicate holds.
//
// The hook is process-wide, not in thread-local storage (the fibers of one OS
// thread would all see one copy anyway). It is
// installed before logical threads start and removed after they finish.

#ifndef FTF_CORE_SCHED_HOOK_H_
#define FTF_CORE_SCHED_HOOK_H_

#include <cstddef>
#include <cstdint>

#ifndef FTF_SCHED_HOOKS
#define FTF_SCHED_HOOKS 1
#endif

namespace ftf::core {

// A source location, captured by default arguments at the call site
// (std::source_location needs clang >= 15 with libstdc++; this works with 14).
struct Loc {
  const char* file = "";
  int line = 0;
  static constexpr Loc Here(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return Loc{file, line};
  }
};

enum class Order : uint8_t { kPlain, kRelaxed, kAcquire, kRelease, kSeqCst };
enum class AccessKind : uint8_t { kLoad, kStore, kRmw, kFence };

const char* OrderName(Order o);
const char* AccessKindName(AccessKind k);

struct Access {
  const void* addr;  // nullptr for fences
  AccessKind kind;
  Order order;
  Loc loc;
  // A store or read-modify-write of a pointer-typed Cell: the pointer it
  // writes (for a compare-exchange, the one it may write), else nullptr.
  // Storing a pointer is how an object becomes reachable by another thread
  // (docs/scheduling.md: publication).
  const void* stored = nullptr;
};

// What a blocked logical thread waits for. `ready` is evaluated by the
// executor (in fiber mode from whichever fiber is deciding, inside TSan's
// ignore brackets, so it is invisible to TSan); it must only Peek() at state
// and must not block. `what` and `key` describe the wait in DEADLOCK reports.
struct WaitSpec {
  const char* what;              // e.g. "PyMutex_Lock", "stop-the-world"
  const void* key;               // the mutex / object waited on, or nullptr
  bool (*ready)(const void* ctx);
  const void* ctx;
  Loc loc;
};

class SchedHook {
 public:
  virtual ~SchedHook() = default;
  // A scheduling point just before `a` is performed by the running logical thread.
  virtual void OnAccess(const Access& a) = 0;
  // Returns once spec.ready(spec.ctx) is true. May never return if the run is
  // abandoned (deadlock): the executor then unwinds the logical thread itself.
  virtual void WaitUntil(const WaitSpec& spec) = 0;
  // The running logical thread's allocator handed out [begin, begin+bytes)
  // for an object (`reused`: the block held an earlier object). An executor
  // may treat the block as private to that thread until it is published
  // (docs/scheduling.md). Not a scheduling point.
  virtual void OnAllocate(const void* begin, size_t bytes, bool reused) {
    (void)begin; (void)bytes; (void)reused;
  }
  // `p` was written somewhere with no scheduling point (Cell::Init of a
  // pointer, a pointer handed to a structure other threads read): it may be
  // reachable by other threads from now on. Not a scheduling point.
  virtual void OnPublish(const void* p) { (void)p; }
  // A yes/no event the modelled code cannot decide itself because the model
  // has no clock (e.g. "has this PyMutex waiter waited longer than
  // TIME_TO_BE_FAIR_NS?"). Not a scheduling point. The fiber executor answers
  // from the input's schedule (FiberExecutor::Choose); other hooks say no.
  virtual bool ChooseEvent(const char* what) {
    (void)what;
    return false;
  }
};

// The installed hook, or nullptr. A plain global (not thread-local storage, not
// atomic): it is written only while no logical thread runs.
extern SchedHook* g_sched_hook;
inline SchedHook* CurrentSchedHook() { return g_sched_hook; }
// Installs `h` (nullptr removes it); returns the previous hook.
SchedHook* InstallSchedHook(SchedHook* h);

// Reports an allocation / a publication to the installed hook, if any.
inline void NoteAllocated(const void* begin, size_t bytes, bool reused) {
#if FTF_SCHED_HOOKS
  if (SchedHook* h = CurrentSchedHook()) h->OnAllocate(begin, bytes, reused);
#else
  (void)begin; (void)bytes; (void)reused;
#endif
}
inline void NotePublished(const void* p) {
#if FTF_SCHED_HOOKS
  if (p != nullptr) {
    if (SchedHook* h = CurrentSchedHook()) h->OnPublish(p);
  }
#else
  (void)p;
#endif
}

// Blocks the running logical thread until spec.ready holds: through the hook
// if one is installed, otherwise by yielding the OS thread in a loop.
void WaitUntil(const WaitSpec& spec);

// The installed hook's answer to ChooseEvent(what); no hook: no.
bool InputChooses(const char* what);

}  // namespace ftf::core

#endif  // FTF_CORE_SCHED_HOOK_H_
