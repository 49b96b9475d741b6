// Tests for LOAD_GLOBAL (load_global.h): the adaptive counter, warm-up,
// specialization to LOAD_GLOBAL_MODULE / LOAD_GLOBAL_BUILTIN, deopt,
// respecialization, backoff, shadowing, NameError, the specializer variants
// and mutants (single-threaded, with another logical thread holding locks),
// and real threads loading globals while an invalidator churns the globals.

#include "core/load_global.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/critical_section.h"
#include "core/dict.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/sched_hook.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "core/variant.h"

namespace ftf::core {
namespace {

const Variant& V(const char* name) {
  const Variant* v = FindVariant(name);
  if (v == nullptr) ADD_FAILURE() << "no variant " << name;
  return v != nullptr ? *v : LockedVariant();
}

class LoadGlobalTest : public ::testing::Test {
 protected:
  explicit LoadGlobalTest(int n = 3) : rt_(n) {
    for (int i = 0; i < rt_.num_threads(); ++i) ThreadStart(rt_.thread(i));
    env_.globals = DictNew(T(0), state_);
    env_.builtins = DictNew(T(0), state_);
    env_.variant = &LockedVariant();
  }
  ~LoadGlobalTest() override {
    DictFree(T(0), env_.globals);
    DictFree(T(0), env_.builtins);
    for (Object* o : values_) Decref(T(0), o);
    for (int i = 0; i < rt_.num_threads(); ++i) ThreadExit(rt_.thread(i));
  }
  ThreadState& T(int i) { return rt_.thread(i); }
  Object* Name(const std::string& s) { return state_.Intern(rt_, s); }
  Object* Value(int owner = 0) {
    Object* o = NewObject(T(owner), 0);
    values_.push_back(o);
    return o;
  }
  LoadGlobalSite Site(Object* name) {
    LoadGlobalSite s;
    s.name = name;
    return s;
  }
  // Runs the instruction and drops the reference; returns the result.
  LoadGlobalResult Run(LoadGlobalSite& site, int t = 0) {
    LoadGlobalResult r = LoadGlobal(T(t), env_, site);
    if (r.value != nullptr) Decref(T(t), r.value);
    return r;
  }
  Mutex& GlobalsMutex() { return env_.globals->ob->ob_mutex; }
  Mutex& BuiltinsMutex() { return env_.builtins->ob->ob_mutex; }

  Runtime rt_;
  DictState state_;
  GlobalsEnv env_;
  std::vector<Object*> values_;
};

TEST(BackoffCounterTest, MatchesPycoreBackoff) {
  EXPECT_EQ(AdaptiveCounterWarmup(), (1 << 4) | 1);
  EXPECT_EQ(AdaptiveCounterCooldown(), 52 << 4);
  EXPECT_FALSE(BackoffCounterTriggers(AdaptiveCounterWarmup()));
  EXPECT_TRUE(BackoffCounterTriggers(AdvanceBackoffCounter(AdaptiveCounterWarmup())));
  EXPECT_FALSE(BackoffCounterTriggers(MakeBackoffCounter(0, kUnreachableBackoff)));
  EXPECT_EQ(RestartBackoffCounter(MakeBackoffCounter(0, 0)), MakeBackoffCounter(1, 1));
  EXPECT_EQ(RestartBackoffCounter(MakeBackoffCounter(0, 1)), MakeBackoffCounter(3, 2));
  EXPECT_EQ(RestartBackoffCounter(MakeBackoffCounter(0, 11)), MakeBackoffCounter(4095, 12));
  EXPECT_EQ(RestartBackoffCounter(MakeBackoffCounter(0, 12)), MakeBackoffCounter(4095, 12)) << "capped";
}

TEST_F(LoadGlobalTest, WarmupSpecializesOnTheSecondExecution) {
  Object* g = Name("G");
  Object* v = Value();
  StoreGlobal(T(0), env_, g, v);
  LoadGlobalSite site = Site(g);

  LoadGlobalResult r = Run(site);
  EXPECT_EQ(r.value, v);
  EXPECT_EQ(r.specialize_attempts, 0);
  EXPECT_FALSE(r.hit);
  EXPECT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobal);

  r = Run(site);
  EXPECT_EQ(r.value, v);
  EXPECT_EQ(r.specialize_attempts, 1);
  EXPECT_EQ(r.specialize.outcome, SpecializeOutcome::kModule);
  EXPECT_TRUE(r.hit) << "DISPATCH_SAME_OPARG runs the new LOAD_GLOBAL_MODULE at once";
  EXPECT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalModule);
  EXPECT_EQ(site.counter, AdaptiveCounterCooldown());
  EXPECT_EQ(site.index, 0);
  EXPECT_EQ(site.module_keys_version, DictPeekVersion(env_.globals));
  EXPECT_TRUE(DictPeekShared(env_.globals));

  r = Run(site);
  EXPECT_EQ(r.dispatched, LoadGlobalOpcode::kLoadGlobalModule);
  EXPECT_TRUE(r.hit);
  EXPECT_EQ(r.value, v);
  EXPECT_EQ(site.counter, AdaptiveCounterCooldown()) << "hits do not touch the counter";
  EXPECT_EQ(PeekRefcnt(v), 2) << "every result reference was dropped";
}

TEST_F(LoadGlobalTest, BuiltinSpecialization) {
  Object* len = Name("len");
  Object* v = Value();
  StoreBuiltin(T(0), env_, len, v);
  StoreGlobal(T(0), env_, Name("other"), Value());
  LoadGlobalSite site = Site(len);
  Run(site);
  LoadGlobalResult r = Run(site);
  EXPECT_EQ(r.specialize.outcome, SpecializeOutcome::kBuiltin);
  EXPECT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalBuiltin);
  EXPECT_EQ(site.module_keys_version, DictPeekVersion(env_.globals));
  EXPECT_EQ(site.builtin_keys_version, DictPeekVersion(env_.builtins));
  EXPECT_TRUE(DictPeekShared(env_.builtins));
  r = Run(site);
  EXPECT_TRUE(r.hit);
  EXPECT_TRUE(r.from_builtins);
  EXPECT_EQ(r.value, v);
}

TEST_F(LoadGlobalTest, DeoptOnVersionChangeStillReturnsTheValue) {
  Object* g = Name("G");
  Object* v = Value();
  StoreGlobal(T(0), env_, g, v);
  LoadGlobalSite site = Site(g);
  Run(site);
  Run(site);
  ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalModule);
  InvalidateGlobals(T(0), env_, Name("_temp_key"), Value());
  EXPECT_EQ(DictPeekVersion(env_.globals), 0u);
  LoadGlobalResult r = Run(site);
  EXPECT_FALSE(r.hit);
  EXPECT_EQ(r.deopts, 1);
  EXPECT_EQ(r.deopt, DeoptReason::kGlobalsVersion);
  EXPECT_EQ(r.value, v) << "the generic path answers";
  EXPECT_EQ(r.specialize_attempts, 0);
  EXPECT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalModule) << "a miss does not unspecialize";
  EXPECT_EQ(BackoffCounterValue(site.counter), kAdaptiveCooldownValue - 1);
}

TEST_F(LoadGlobalTest, RespecializesOnThe53rdMiss) {
  Object* g = Name("G");
  Object* v = Value();
  Object* temp = Name("_temp_key");
  StoreGlobal(T(0), env_, g, v);
  LoadGlobalSite site = Site(g);
  Run(site);
  Run(site);
  ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalModule);
  for (int miss = 1; miss <= 52; ++miss) {
    InvalidateGlobals(T(0), env_, temp, v);
    LoadGlobalResult r = Run(site);
    ASSERT_EQ(r.deopts, 1) << "miss " << miss;
    ASSERT_EQ(r.specialize_attempts, 0) << "miss " << miss;
    ASSERT_EQ(r.value, v);
  }
  InvalidateGlobals(T(0), env_, temp, v);
  LoadGlobalResult r = Run(site);
  EXPECT_EQ(r.deopts, 1);
  EXPECT_EQ(r.specialize_attempts, 1) << "the 53rd miss respecializes";
  EXPECT_EQ(r.specialize.outcome, SpecializeOutcome::kModule);
  EXPECT_TRUE(r.hit) << "and the fresh specialization hits at once";
  EXPECT_EQ(site.module_keys_version, DictPeekVersion(env_.globals));
  EXPECT_EQ(site.counter, AdaptiveCounterCooldown());
}

TEST_F(LoadGlobalTest, FailedSpecializationBacksOffExponentially) {
  LoadGlobalSite site = Site(Name("missing"));
  std::vector<int> attempts_at;
  for (int exec = 1; exec <= 60; ++exec) {
    LoadGlobalResult r = Run(site);
    EXPECT_TRUE(r.name_error());
    if (r.specialize_attempts > 0) {
      EXPECT_EQ(r.specialize_attempts, 1);
      EXPECT_EQ(r.specialize.outcome, SpecializeOutcome::kFailed);
      EXPECT_EQ(r.specialize.fail, SpecializeFail::kNotFound);
      attempts_at.push_back(exec);
    }
    EXPECT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobal);
  }
  // Gaps of 2^b - 1 executions: 3, 7, 15, 31.
  EXPECT_EQ(attempts_at, (std::vector<int>{2, 5, 12, 27, 58}));
  EXPECT_EQ(BackoffCounterExponent(site.counter), 6) << "warm-up 1, then one more per failure";
}

TEST_F(LoadGlobalTest, NewGlobalShadowsASpecializedBuiltin) {
  Object* len = Name("len");
  Object* builtin_len = Value();
  Object* global_len = Value();
  StoreBuiltin(T(0), env_, len, builtin_len);
  LoadGlobalSite site = Site(len);
  Run(site);
  Run(site);
  ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalBuiltin);
  StoreGlobal(T(0), env_, len, global_len);
  LoadGlobalResult r = Run(site);
  EXPECT_EQ(r.deopt, DeoptReason::kGlobalsVersion);
  EXPECT_EQ(r.value, global_len);
  EXPECT_FALSE(r.from_builtins);
  DeleteGlobal(T(0), env_, len);
  r = Run(site);
  EXPECT_EQ(r.value, builtin_len) << "the builtin is visible again";
}

TEST_F(LoadGlobalTest, BuiltinsChangeDeoptsWithTheBuiltinsGuard) {
  Object* len = Name("len");
  StoreBuiltin(T(0), env_, len, Value());
  LoadGlobalSite site = Site(len);
  Run(site);
  Run(site);
  ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalBuiltin);
  StoreBuiltin(T(0), env_, Name("newbuiltin"), Value());
  LoadGlobalResult r = Run(site);
  EXPECT_EQ(r.deopt, DeoptReason::kBuiltinsVersion);
  EXPECT_FALSE(r.name_error());
}

TEST_F(LoadGlobalTest, OverwriteKeepsTheSpecializationAndShowsTheNewValue) {
  Object* g = Name("G");
  Object* v1 = Value();
  Object* v2 = Value();
  StoreGlobal(T(0), env_, g, v1);
  LoadGlobalSite site = Site(g);
  Run(site);
  Run(site);
  StoreGlobal(T(0), env_, g, v2);
  LoadGlobalResult r = Run(site);
  EXPECT_TRUE(r.hit);
  EXPECT_EQ(r.value, v2);
  EXPECT_EQ(PeekRefcnt(v1), 1);
}

TEST_F(LoadGlobalTest, DeletedGlobalDeoptsToNameError) {
  Object* g = Name("G");
  StoreGlobal(T(0), env_, g, Value());
  LoadGlobalSite site = Site(g);
  Run(site);
  Run(site);
  DeleteGlobal(T(0), env_, g);
  LoadGlobalResult r = Run(site);
  EXPECT_TRUE(r.name_error());
  EXPECT_EQ(r.deopt, DeoptReason::kGlobalsVersion);
}

TEST_F(LoadGlobalTest, ANullEntryDeoptsEvenWithoutTheGuard) {
  env_.variant = &V("mutant_no_keys_version_guard");
  Object* g = Name("G");
  StoreGlobal(T(0), env_, g, Value());
  LoadGlobalSite site = Site(g);
  Run(site);
  Run(site);
  DeleteGlobal(T(0), env_, g);
  LoadGlobalResult r = Run(site);
  EXPECT_EQ(r.deopt, DeoptReason::kNullValue);
  EXPECT_TRUE(r.name_error());
}

TEST_F(LoadGlobalTest, OutOfVersionsFailsSpecialization) {
  Object* g = Name("G");
  StoreGlobal(T(0), env_, g, Value());
  state_.next_keys_version.Poke(0x10000);  // the next version does not fit in u16
  LoadGlobalSite site = Site(g);
  Run(site);
  LoadGlobalResult r = Run(site);
  EXPECT_EQ(r.specialize.outcome, SpecializeOutcome::kFailed);
  EXPECT_EQ(r.specialize.fail, SpecializeFail::kVersionOutOfRange);
  EXPECT_FALSE(r.name_error());
  state_.next_keys_version.Poke(0);
  StoreGlobal(T(0), env_, Name("H"), Value());  // version back to 0
  site = Site(g);
  Run(site);
  r = Run(site);
  EXPECT_EQ(r.specialize.fail, SpecializeFail::kOutOfVersions);
}

// --- the specializer's lock strategies, with thread 1 holding a dict lock ----

class SpecializeVariantTest : public LoadGlobalTest {
 protected:
  SpecializeVariantTest() {
    g_ = Name("G");
    StoreGlobal(T(0), env_, g_, Value());
    StoreBuiltin(T(0), env_, Name("len"), Value());
    site_ = Site(g_);
    Run(site_);  // warm-up: the next execution specializes
    site_.counter = AdvanceBackoffCounter(AdaptiveCounterWarmup());
  }
  // Thread 1 holds `m` in a critical section for the duration of `body`.
  template <typename F>
  void WhileHeld(Mutex& m, F body) {
    CriticalSection cs;
    CriticalSectionBegin(T(1), &cs, &m);
    body();
    CriticalSectionEnd(T(1), &cs);
  }
  Object* g_ = nullptr;
  LoadGlobalSite site_;
};

TEST_F(SpecializeVariantTest, TryBeginGivesUpAndBacksOffWhenBuiltinsIsHeld) {
  env_.variant = &V("trybegin_globals");
  uint16_t before = site_.counter;
  WhileHeld(BuiltinsMutex(), [&] {
    SpecializeResult r = SpecializeLoadGlobal(T(0), env_, site_);
    EXPECT_EQ(r.outcome, SpecializeOutcome::kContended);
    EXPECT_FALSE(GlobalsMutex().IsLocked()) << "the first mutex was released";
  });
  EXPECT_EQ(site_.opcode, LoadGlobalOpcode::kLoadGlobal);
  EXPECT_EQ(site_.counter, RestartBackoffCounter(before)) << "unspecialize(): backoff";
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
  SpecializeResult r = SpecializeLoadGlobal(T(0), env_, site_);
  EXPECT_EQ(r.outcome, SpecializeOutcome::kModule) << "uncontended TryBegin specializes";
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
}

TEST_F(SpecializeVariantTest, TryBeginMutantLeavesTheFirstMutexLocked) {
  env_.variant = &V("mutant_trybegin_keeps_first_lock");
  // TryBegin sorts by address: the mutex that is not held must be the first.
  bool globals_first = &GlobalsMutex() < &BuiltinsMutex();
  Mutex& held = globals_first ? BuiltinsMutex() : GlobalsMutex();
  Mutex& leaked = globals_first ? GlobalsMutex() : BuiltinsMutex();
  WhileHeld(held, [&] {
    EXPECT_EQ(SpecializeLoadGlobal(T(0), env_, site_).outcome, SpecializeOutcome::kContended);
  });
  EXPECT_TRUE(leaked.IsLocked()) << "nobody's critical section holds it: every later Lock blocks forever";
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
  leaked.PokeBits(0);  // clean up for the fixture's teardown
}

TEST_F(SpecializeVariantTest, IsLockedPrecheckGivesUpOnEitherMutex) {
  env_.variant = &V("islocked_globals");
  WhileHeld(GlobalsMutex(), [&] {
    EXPECT_EQ(SpecializeLoadGlobal(T(0), env_, site_).outcome, SpecializeOutcome::kContended);
  });
  EXPECT_EQ(site_.opcode, LoadGlobalOpcode::kLoadGlobal);
  site_.counter = AdvanceBackoffCounter(AdaptiveCounterWarmup());
  WhileHeld(BuiltinsMutex(), [&] {
    EXPECT_EQ(SpecializeLoadGlobal(T(0), env_, site_).outcome, SpecializeOutcome::kContended);
  });
  EXPECT_EQ(SpecializeLoadGlobal(T(0), env_, site_).outcome, SpecializeOutcome::kModule);
}

TEST_F(SpecializeVariantTest, RetryNextLeavesTheCounterAtZero) {
  Variant v = V("islocked_globals");
  v.contended_counter = ContendedSpecializeCounter::kRetryNext;
  env_.variant = &v;
  uint16_t before = site_.counter;
  WhileHeld(GlobalsMutex(), [&] {
    EXPECT_EQ(SpecializeLoadGlobal(T(0), env_, site_).outcome, SpecializeOutcome::kContended);
  });
  EXPECT_EQ(site_.counter, before);
  EXPECT_TRUE(BackoffCounterTriggers(site_.counter)) << "the re-dispatch would try again at once";
}

TEST_F(SpecializeVariantTest, LockedVariantSpecializesUnderBothLocks) {
  // With nobody else holding them, the blocking CS2 takes and releases both.
  SpecializeResult r = SpecializeLoadGlobal(T(0), env_, site_);
  EXPECT_EQ(r.outcome, SpecializeOutcome::kModule);
  EXPECT_FALSE(GlobalsMutex().IsLocked());
  EXPECT_FALSE(BuiltinsMutex().IsLocked());
  EXPECT_EQ(CriticalSectionDepth(T(0)), 0);
}

TEST_F(SpecializeVariantTest, UnlockedMutantSpecializesWhileAnotherThreadHoldsTheLocks) {
  env_.variant = &V("mutant_unlocked_specializer");
  WhileHeld(GlobalsMutex(), [&] {
    EXPECT_EQ(SpecializeLoadGlobal(T(0), env_, site_).outcome, SpecializeOutcome::kModule)
        << "no critical section: the writer's lock does not exclude the specializer";
  });
}

// The keys-version guard is what makes a reused entry number safe: popitem
// moves dk_nentries back and the next insert puts another key in the entry.
TEST_F(LoadGlobalTest, WithoutTheGuardAReusedEntryYieldsAnotherNamesValue) {
  Object* a = Name("a");
  Object* b = Name("b");
  Object* c = Name("c");
  Object* vc = Value();
  StoreGlobal(T(0), env_, a, Value());
  StoreGlobal(T(0), env_, b, Value());
  for (const char* variant : {"locked", "mutant_no_keys_version_guard"}) {
    SCOPED_TRACE(variant);
    env_.variant = &V(variant);
    LoadGlobalSite site = Site(b);
    Run(site);
    Run(site);
    ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalModule);
    ASSERT_EQ(site.index, 1);
    DictPopResult p = DictPopItem(T(0), env_.globals);  // removes b (entry 1)
    ASSERT_EQ(p.key, b);
    StoreGlobal(T(0), env_, c, vc);  // c takes entry 1
    LoadGlobalResult r = Run(site);
    if (env_.variant->keys_version_guard) {
      EXPECT_TRUE(r.name_error()) << "guarded: deopt, and b is gone";
    } else {
      EXPECT_TRUE(r.hit);
      EXPECT_EQ(r.value, vc) << "unguarded: LOAD_GLOBAL b returns c's value";
    }
    // Restore {a, b} for the next round.
    DeleteGlobal(T(0), env_, c);
    StoreGlobal(T(0), env_, b, p.value);
    Decref(T(0), p.value);
    // b is now at entry 3 (deleted entries are not reused); start again from
    // a fresh table so that b is at index 1 again.
    DeleteGlobal(T(0), env_, b);
    DictResizeLockHeld(T(0), env_.globals, 3);  // no other thread runs: no lock needed here
    StoreGlobal(T(0), env_, b, Value());
  }
}

// Without the guard, LOAD_GLOBAL_BUILTIN also misses a new global of the
// same name: no concurrency is needed to see a wrong value.
TEST_F(LoadGlobalTest, WithoutTheGuardANewGlobalDoesNotShadowTheBuiltin) {
  Object* len = Name("len");
  Object* builtin_len = Value();
  Object* global_len = Value();
  StoreBuiltin(T(0), env_, len, builtin_len);
  for (const char* variant : {"locked", "mutant_no_keys_version_guard"}) {
    SCOPED_TRACE(variant);
    env_.variant = &V(variant);
    LoadGlobalSite site = Site(len);
    Run(site);
    Run(site);
    ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalBuiltin);
    StoreGlobal(T(0), env_, len, global_len);
    LoadGlobalResult r = Run(site);
    EXPECT_EQ(r.value, env_.variant->keys_version_guard ? global_len : builtin_len);
    DeleteGlobal(T(0), env_, len);
  }
}

// --- exact interleavings: a writer injected at one access of a reader --------

// A scheduling hook that, once armed, runs `action` (another logical
// thread's operations, on this OS thread) just before the first access that
// satisfies `match`. The action's own accesses do not re-trigger it.
class Injector : public SchedHook {
 public:
  Injector() { previous_ = InstallSchedHook(this); }
  ~Injector() override { InstallSchedHook(previous_); }
  void Arm(std::function<bool(const Access&)> match, std::function<void()> action) {
    match_ = std::move(match);
    action_ = std::move(action);
    armed_ = true;
  }
  bool fired() const { return fired_; }
  void OnAccess(const Access& a) override {
    if (!armed_ || running_ || !match_(a)) return;
    armed_ = false;
    running_ = true;
    action_();
    running_ = false;
    fired_ = true;
  }
  void WaitUntil(const WaitSpec& spec) override {
    // Single OS thread: a wait could never end. The tests avoid blocking.
    ADD_FAILURE() << "unexpected wait: " << spec.what;
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
  }

 private:
  SchedHook* previous_ = nullptr;
  std::function<bool(const Access&)> match_;
  std::function<void()> action_;
  bool armed_ = false;
  bool running_ = false;
  bool fired_ = false;
};

// The specializer without a critical section (mutant_unlocked_specializer)
// can look the name up, lose the race to a writer that reuses the entry
// (popitem + insert), and then stamp a fresh version on the mutated keys:
// the cache pairs b's stale index with a valid version.
TEST_F(LoadGlobalTest, UnlockedSpecializerCachesAStaleIndex) {
  env_.variant = &V("mutant_unlocked_specializer");
  Object* a = Name("a");
  Object* b = Name("b");
  Object* c = Name("c");
  Object* vc = Value(/*owner=*/1);  // owned by the reader: TryIncrefFast succeeds
  StoreGlobal(T(0), env_, a, Value());
  StoreGlobal(T(0), env_, b, Value());
  LoadGlobalSite site = Site(b);
  Run(site, 1);  // warm-up (and thread 1's read marks globals SHARED)
  DictPopResult popped;
  {
    Injector inj;
    DictKeys* keys = DictPeekKeys(env_.globals);
    inj.Arm([&](const Access& x) { return x.addr == keys->dk_version.address() && x.kind == AccessKind::kLoad; },
            [&] {
              popped = DictPopItem(T(0), env_.globals);  // b leaves entry 1
              StoreGlobal(T(0), env_, c, vc);           // c takes entry 1
            });
    SpecializeResult r = SpecializeLoadGlobal(T(1), env_, site);
    EXPECT_TRUE(inj.fired());
    EXPECT_EQ(r.outcome, SpecializeOutcome::kModule);
  }
  EXPECT_EQ(popped.key, b);
  EXPECT_EQ(site.index, 1);
  EXPECT_EQ(site.module_keys_version, DictPeekVersion(env_.globals)) << "a version of the keys that hold c there";
  LoadGlobalResult r = LoadGlobal(T(1), env_, site);
  EXPECT_TRUE(r.hit);
  EXPECT_EQ(r.value, vc) << "LOAD_GLOBAL b answers with c's value";
  if (r.value != nullptr) Decref(T(1), r.value);
  Decref(T(0), popped.value);
}

// The hazard of docs/cpython-model.md §15, in the `locked` variant:
// the version guard and the value load are separate loads. A writer that
// runs between them can pop b and insert c into the same entry; the value
// load then reads c's value, and _Py_TryIncrefCompare cannot tell (for a
// value the reader owns it does not even re-check). No critical section is
// involved on the reader's side, so CPython itself can interleave this way.
TEST_F(LoadGlobalTest, LockedModuleLoadRacingPopitemAndInsertReturnsAnotherNamesValue) {
  Object* a = Name("a");
  Object* b = Name("b");
  Object* c = Name("c");
  Object* vc = Value(/*owner=*/1);  // owned by the reader: TryIncrefFast succeeds
  StoreGlobal(T(0), env_, a, Value());
  StoreGlobal(T(0), env_, b, Value());
  LoadGlobalSite site = Site(b);
  Run(site, 1);
  Run(site, 1);
  ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalModule);
  DictPopResult popped;
  LoadGlobalResult r;
  {
    Injector inj;
    DictKeys* keys = DictPeekKeys(env_.globals);
    const void* value_cell = keys->entries()[1].me_value.address();
    inj.Arm([&](const Access& x) { return x.addr == value_cell && x.kind == AccessKind::kLoad; },
            [&] {
              popped = DictPopItem(T(0), env_.globals);
              StoreGlobal(T(0), env_, c, vc);
            });
    r = LoadGlobal(T(1), env_, site);
    EXPECT_TRUE(inj.fired());
  }
  EXPECT_TRUE(r.hit) << "the guard passed before the writer ran";
  EXPECT_EQ(r.value, vc) << "LOAD_GLOBAL b returned c's value in `locked`";
  if (r.value != nullptr) Decref(T(1), r.value);
  Decref(T(0), popped.value);
}

// The same separation of guard and value load, across a resize. The
// reader checked the version of the keys it loaded (K1); the writer then
// inserts a key (resize to K2; K1 is retired through QSBR but keeps its
// entries' pointers), rebinds b (the old value is freed) and allocates a new
// object, which reuses the freed block (ABA) and gets a shared reference
// flag. The reader's value load still reads K1's stale pointer;
// _Py_TryIncrefCompare succeeds on the recycled block and its re-load of the
// (stale) K1 entry matches. LOAD_GLOBAL_MODULE does not re-check ma_keys
// after the incref (the generic lookup does), so b answers with an object
// that was never bound to any name.
TEST_F(LoadGlobalTest, LockedModuleLoadAcrossResizeCanReturnARecycledObject) {
  rt_.qsbr.deferred_limit = 1;
  Object* b = Name("b");
  Object* v1 = NewObject(T(0), 0);  // only the dict will hold it
  StoreGlobal(T(0), env_, Name("a"), Value());
  StoreGlobal(T(0), env_, b, v1);
  Decref(T(0), v1);
  for (const char* n : {"x", "y", "z"}) StoreGlobal(T(0), env_, Name(n), Value());
  ASSERT_EQ(DictPeekKeys(env_.globals)->dk_usable.Peek(), 0) << "the next insert resizes";
  LoadGlobalSite site = Site(b);
  Run(site, 1);
  Run(site, 1);
  ASSERT_EQ(site.opcode, LoadGlobalOpcode::kLoadGlobalModule);
  Object* v2 = Value();
  Object* recycled = nullptr;
  LoadGlobalResult r;
  {
    Injector inj;
    DictKeys* k1 = DictPeekKeys(env_.globals);
    const void* value_cell = k1->entries()[1].me_value.address();
    inj.Arm([&](const Access& x) { return x.addr == value_cell && x.kind == AccessKind::kLoad; },
            [&] {
              EXPECT_TRUE(StoreGlobal(T(0), env_, Name("t"), Value()).resized);
              StoreGlobal(T(0), env_, b, v2);  // frees v1
              recycled = NewObject(T(0), 0);   // same size, same heap: v1's block
              SetMaybeWeakref(T(0), recycled);  // e.g. a weakref was made to it
            });
    r = LoadGlobal(T(1), env_, site);
    EXPECT_TRUE(inj.fired());
  }
  EXPECT_EQ(recycled, v1) << "the allocator handed v1's block out again";
  EXPECT_TRUE(r.hit);
  EXPECT_EQ(r.value, recycled) << "LOAD_GLOBAL b returned an object never bound to b";
  if (r.value != nullptr) Decref(T(1), r.value);
  Decref(T(0), recycled);
}

// --- real threads --------------------------------------------------------------

// The seed benchmark's shape: readers load 8 globals and 3 builtins in a loop,
// an invalidator inserts and deletes a temporary global. Every value must be
// the bound one; references must balance; keys retired by the resizes that
// the churn causes must not be freed under a reader (ASan).
class RealThreadsTest : public LoadGlobalTest, public ::testing::WithParamInterface<const char*> {
 protected:
  RealThreadsTest() : LoadGlobalTest(4) { rt_.qsbr.deferred_limit = 1; }
};

TEST_P(RealThreadsTest, ReadersSeeTheRightValuesWhileTheInvalidatorChurns) {
  env_.variant = &V(GetParam());
  std::vector<Object*> names, vals;
  for (int i = 1; i <= 8; ++i) {
    names.push_back(Name("G" + std::to_string(i)));
    vals.push_back(Value(0));
    StoreGlobal(T(0), env_, names.back(), vals.back());
  }
  for (const char* b : {"len", "sum", "abs"}) {
    names.push_back(Name(b));
    vals.push_back(Value(0));
    StoreBuiltin(T(0), env_, names.back(), vals.back());
  }
  Object* temp = Name("_temp_key");
  constexpr int kReaders = 3;
  constexpr int kIters = 1500;
  std::atomic<int> wrong{0};
  std::atomic<int> hits{0};
  std::atomic<int> readers_done{0};
  auto reader = [&](int t) {
    std::vector<LoadGlobalSite> sites;
    for (Object* n : names) sites.push_back(Site(n));
    int local_hits = 0;
    for (int it = 0; it < kIters; ++it) {
      for (size_t i = 0; i < sites.size(); ++i) {
        LoadGlobalResult r = LoadGlobal(T(t), env_, sites[i]);
        if (r.value != vals[i]) wrong.fetch_add(1, std::memory_order_relaxed);
        if (r.hit) ++local_hits;
        if (r.value != nullptr) Decref(T(t), r.value);
      }
      SafePoint(T(t));  // the loop's backward jump: _CHECK_PERIODIC
    }
    hits.fetch_add(local_hits);
    readers_done.fetch_add(1);
  };
  std::thread invalidator([&] {
    int n = 0;
    while (readers_done.load() < kReaders) {
      Object* tmp = NewObject(T(0), 0);  // mortal: freed by the delete
      InvalidateGlobals(T(0), env_, temp, tmp);
      Decref(T(0), tmp);
      if (++n % 8 == 0) SafePoint(T(0));
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> readers;
  for (int t = 1; t <= kReaders; ++t) readers.emplace_back(reader, t);
  for (auto& th : readers) th.join();
  invalidator.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(hits.load(), 0) << "some loads were answered by specialized instructions";
  for (size_t i = 0; i < vals.size(); ++i) EXPECT_EQ(PeekRefcnt(vals[i]), 2) << "fixture + dict, name " << i;
  EXPECT_EQ(DictPeekUsed(env_.globals), 8);
  EXPECT_FALSE(GlobalsMutex().IsLocked());
  EXPECT_FALSE(BuiltinsMutex().IsLocked());
}

// A reproducer, not a regression test (disabled: it is meant to fail under
// TSan). mutant_unlocked_specializer with real threads: the specializer's
// plain loads (ma_keys, me_key), which CPython makes under the dicts'
// locks, race with a writer's release stores. Run with
//   core_tests --gtest_also_run_disabled_tests --gtest_filter='*UnlockedSpecializerTsanReproducer*'
TEST_F(LoadGlobalTest, DISABLED_UnlockedSpecializerTsanReproducer) {
  env_.variant = &V("mutant_unlocked_specializer");
  for (int i = 0; i < 4; ++i) StoreGlobal(T(0), env_, Name("G" + std::to_string(i)), Value());
  StoreBuiltin(T(0), env_, Name("len"), Value());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    Object* temp = Name("_temp_key");
    while (!stop.load()) {
      Object* v = NewObject(T(0), 0);
      InvalidateGlobals(T(0), env_, temp, v);
      Decref(T(0), v);
      SafePoint(T(0));
    }
  });
  LoadGlobalSite site = Site(Name("len"));
  for (int it = 0; it < 20000; ++it) {
    site.counter = AdvanceBackoffCounter(AdaptiveCounterWarmup());
    SpecializeLoadGlobal(T(1), env_, site);
    SafePoint(T(1));
  }
  stop.store(true);
  writer.join();
}

INSTANTIATE_TEST_SUITE_P(Variants, RealThreadsTest,
                         ::testing::Values("locked", "trybegin_globals", "islocked_globals"));

}  // namespace
}  // namespace ftf::core
