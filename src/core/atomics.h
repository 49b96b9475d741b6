// atomics.h - the one wrapper through which the core touches shared memory.
//
// Every shared field of the model (refcounts, mutex bytes, slot pointers, dict
// entries, QSBR sequences...) is a `Cell<T>`. A Cell names the memory order of
// every access at the call site (`ref_shared.LoadRelaxed()`,
// `slot.ExchangeSeqCst(v)`) the way CPython's `_Py_atomic_load_ptr_relaxed`
// does, and each access first calls the scheduling hook with its source
// location, so a deterministic scheduler can switch logical threads at exactly
// the points where real hardware could interleave them. Stores of pointers
// also hand the hook the pointer they write: that is how the executor learns
// that an object no other thread could reach so far is now published
// (docs/scheduling.md).
//
// Plain (non-atomic) accesses exist on purpose: CPython reads and writes some
// fields plainly (e.g. `old = *addr` inside a critical section in
// PyMember_SetOne, or `Py_SET_TYPE`). They are real plain C++ accesses, so
// ThreadSanitizer reports them when two logical threads race on them.
//
// This is the only file of src/core that names std::atomic / std::atomic_ref.
//
// Thread-safety: a Cell is as thread-safe as the orders its callers choose.
// Memory ordering: exactly the order in the method name; kPlain is none.
//
// In builds with FTF_SCHED_HOOKS=0 (the `release` preset) the hook compiles to
// nothing and a Cell is exactly a std::atomic_ref access.

#ifndef FTF_CORE_ATOMICS_H_
#define FTF_CORE_ATOMICS_H_

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "core/sched_hook.h"

namespace ftf::core {

#if defined(__clang__) || defined(__GNUC__)
#define FTF_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define FTF_NO_TSAN
#endif

// Tag for constructing a Cell without writing its storage: for memory the
// model's allocator hands out, whose fields are then set with Init() (relaxed
// atomic stores), as CPython's allocator does not zero object memory with
// plain stores that a stale lock-free reader could race with.
struct NoInit {};

template <typename T>
class Cell {
  static_assert(std::is_trivially_copyable_v<T>, "Cell holds trivially copyable values");

 public:
  constexpr Cell() : v_{} {}
  constexpr explicit Cell(T v) : v_(v) {}
  explicit Cell(NoInit) {}
  Cell(const Cell&) = delete;
  Cell& operator=(const Cell&) = delete;

  // --- loads -------------------------------------------------------------
  T LoadPlain(Loc loc = Loc::Here()) const {
    Point(AccessKind::kLoad, Order::kPlain, loc);
    return v_;
  }
  T LoadRelaxed(Loc loc = Loc::Here()) const { return Load(Order::kRelaxed, std::memory_order_relaxed, loc); }
  T LoadAcquire(Loc loc = Loc::Here()) const { return Load(Order::kAcquire, std::memory_order_acquire, loc); }
  T LoadSeqCst(Loc loc = Loc::Here()) const { return Load(Order::kSeqCst, std::memory_order_seq_cst, loc); }

  // --- stores ------------------------------------------------------------
  void StorePlain(T v, Loc loc = Loc::Here()) {
    Point(AccessKind::kStore, Order::kPlain, loc, Published(v));
    v_ = v;
  }
  void StoreRelaxed(T v, Loc loc = Loc::Here()) { Store(v, Order::kRelaxed, std::memory_order_relaxed, loc); }
  void StoreRelease(T v, Loc loc = Loc::Here()) { Store(v, Order::kRelease, std::memory_order_release, loc); }
  void StoreSeqCst(T v, Loc loc = Loc::Here()) { Store(v, Order::kSeqCst, std::memory_order_seq_cst, loc); }

  // --- read-modify-write (all sequentially consistent, as CPython's) ------
  T ExchangeSeqCst(T v, Loc loc = Loc::Here()) {
    Point(AccessKind::kRmw, Order::kSeqCst, loc, Published(v));
    return Ref().exchange(v, std::memory_order_seq_cst);
  }
  // On failure `expected` receives the current value (like compare_exchange_strong).
  bool CompareExchangeSeqCst(T& expected, T desired, Loc loc = Loc::Here()) {
    Point(AccessKind::kRmw, Order::kSeqCst, loc, Published(desired));
    return Ref().compare_exchange_strong(expected, desired, std::memory_order_seq_cst);
  }
  template <typename U = T>
  T FetchAddSeqCst(U delta, Loc loc = Loc::Here()) {
    Point(AccessKind::kRmw, Order::kSeqCst, loc);
    return Ref().fetch_add(delta, std::memory_order_seq_cst);
  }
  template <typename U = T>
  T FetchAddRelaxed(U delta, Loc loc = Loc::Here()) {
    Point(AccessKind::kRmw, Order::kRelaxed, loc);
    return Ref().fetch_add(delta, std::memory_order_relaxed);
  }
  template <typename U = T>
  T FetchOrSeqCst(U bits, Loc loc = Loc::Here()) {
    Point(AccessKind::kRmw, Order::kSeqCst, loc);
    return Ref().fetch_or(bits, std::memory_order_seq_cst);
  }
  template <typename U = T>
  T FetchAndSeqCst(U bits, Loc loc = Loc::Here()) {
    Point(AccessKind::kRmw, Order::kSeqCst, loc);
    return Ref().fetch_and(bits, std::memory_order_seq_cst);
  }

  // --- no scheduling point ------------------------------------------------
  // Init: a relaxed atomic store with no scheduling point. For initialising a
  // freshly allocated block before it is published (CPython's new_reference
  // uses relaxed stores under TSan for the same reason: a stale reader may be
  // doing an atomic CAS on the reused block).
  // A pointer written here is reported as published (NotePublished): Init
  // makes no point, so the executor would not see it otherwise.
  void Init(T v) {
    NotePublished(Published(v));
    Ref().store(v, std::memory_order_relaxed);
  }
  // A seq_cst store with no scheduling point: for stores CPython makes while
  // holding an internal raw lock inside which the model must not switch
  // (the parking lot's unpark callback).
  void StoreSeqCstNoPoint(T v) {
    NotePublished(Published(v));
    Ref().store(v, std::memory_order_seq_cst);
  }
  // A relaxed fetch-add with no scheduling point: for the model's own
  // bookkeeping kept in a Cell so that real threads can share it (the
  // allocation counter behind object ids), which is no access of the
  // modelled program (docs/scheduling.md).
  template <typename U = T>
  T FetchAddRelaxedNoPoint(U delta) {
    return Ref().fetch_add(delta, std::memory_order_relaxed);
  }

  // Peek: read the value for auditors, reports and wait predicates. Not a
  // scheduling point, not an access of the modelled program, and invisible to
  // ThreadSanitizer. Only valid where no other OS thread can run concurrently
  // (fiber mode, or after all threads joined).
  FTF_NO_TSAN T Peek() const { return *const_cast<const volatile T*>(&v_); }
  // Poke: the write counterpart of Peek, for fault injection in tests only.
  FTF_NO_TSAN void Poke(T v) {
    NotePublished(Published(v));
    *const_cast<volatile T*>(&v_) = v;
  }

  const void* address() const { return &v_; }

 private:
  // The pointer a write of `v` publishes: `v` itself for pointer-typed
  // Cells, nullptr otherwise.
  static const void* Published(T v) {
    if constexpr (std::is_pointer_v<T>) {
      return static_cast<const void*>(v);
    } else {
      (void)v;
      return nullptr;
    }
  }
  // Hands the access to the executor, which decides whether it is a
  // scheduling point (docs/scheduling.md).
  void Point(AccessKind kind, Order order, Loc loc, const void* stored = nullptr) const {
#if FTF_SCHED_HOOKS
    if (SchedHook* h = CurrentSchedHook()) h->OnAccess(Access{&v_, kind, order, loc, stored});
#else
    (void)kind; (void)order; (void)loc; (void)stored;
#endif
  }
  T Load(Order order, std::memory_order mo, Loc loc) const {
    Point(AccessKind::kLoad, order, loc);
    return Ref().load(mo);
  }
  void Store(T v, Order order, std::memory_order mo, Loc loc) {
    Point(AccessKind::kStore, order, loc, Published(v));
    Ref().store(v, mo);
  }
  std::atomic_ref<T> Ref() const { return std::atomic_ref<T>(v_); }

  alignas(std::atomic_ref<T>::required_alignment) mutable T v_;
};

// A fence with a scheduling point (models _Py_atomic_fence_seq_cst).
inline void FenceSeqCst(Loc loc = Loc::Here()) {
#if FTF_SCHED_HOOKS
  if (SchedHook* h = CurrentSchedHook()) h->OnAccess(Access{nullptr, AccessKind::kFence, Order::kSeqCst, loc});
#else
  (void)loc;
#endif
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace ftf::core

#endif  // FTF_CORE_ATOMICS_H_
