// dict_popitem_race_test.cc - the lock-free generic lookup
// (_Py_dict_lookup_threadsafe) racing popitem + insert into the reused entry.
//
// CPython as it is (recheck_key false): the lookup matched key b at entry 1,
// popitem and an insert of c reuse entry 1 of the same keys object before the
// value load, ma_keys is unchanged, so d[b] answers with c's value
// (findings/20261122-load-global-module-popitem-entry-reuse.md, "generic
// lookups"). With the fix of locked_popitem_fixed (recheck_key true) the
// lookup re-reads the entry's key, sees c, and takes the locked path: b is gone.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/dict.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/sched_hook.h"
#include "core/stw.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

class OneShot : public SchedHook {
 public:
  OneShot() { prev_ = InstallSchedHook(this); }
  ~OneShot() override { InstallSchedHook(prev_); }
  std::function<bool(const Access&)> match;
  std::function<void()> action;
  bool armed = false, running = false, fired = false;
  void OnAccess(const Access& a) override {
    if (!armed || running || !match(a)) return;
    armed = false;
    running = true;
    action();
    running = false;
    fired = true;
  }
  void WaitUntil(const WaitSpec& spec) override {
    ADD_FAILURE() << "unexpected wait " << spec.what;
  }
  SchedHook* prev_ = nullptr;
};

class GenericLookupVsPopitem : public ::testing::TestWithParam<bool> {};

TEST_P(GenericLookupVsPopitem, EntryReuseBetweenKeyMatchAndValueLoad) {
  const bool recheck = GetParam();
  Runtime rt(3);
  for (int i = 0; i < 3; ++i) ThreadStart(rt.thread(i));
  DictState state;
  Dict* d = DictNew(rt.thread(0), state);
  Object* a = state.Intern(rt, "a");
  Object* b = state.Intern(rt, "b");
  Object* c = state.Intern(rt, "c");
  Object* va = NewObject(rt.thread(0), 0);
  Object* vb = NewObject(rt.thread(0), 0);
  Object* vc = NewObject(rt.thread(1), 0);  // owned by the reader
  DictSetItem(rt.thread(0), d, a, va);
  DictSetItem(rt.thread(0), d, b, vb);
  // First read by thread 1 marks the dict SHARED (ensure_shared_on_read).
  DictLookupResult warm = DictLookupThreadsafe(rt.thread(1), d, b);
  ASSERT_EQ(warm.value, vb);
  Decref(rt.thread(1), warm.value);
  DictPopResult popped;
  DictLookupResult r;
  {
    OneShot hook;
    DictKeys* keys = DictPeekKeys(d);
    const void* cell = keys->entries()[1].me_value.address();
    hook.match = [&](const Access& x) { return x.addr == cell && x.kind == AccessKind::kLoad; };
    hook.action = [&] {
      popped = DictPopItem(rt.thread(0), d);  // b leaves entry 1
      DictSetItem(rt.thread(0), d, c, vc);    // c takes entry 1, same keys object
    };
    hook.armed = true;
    r = DictLookupThreadsafe(rt.thread(1), d, b, recheck);
    EXPECT_TRUE(hook.fired);
  }
  EXPECT_EQ(popped.key, b);
  if (!recheck) {
    EXPECT_FALSE(r.fell_back) << "the lock-free path answered";
    EXPECT_EQ(r.value, vc) << "d[b] answered with c's value (the CPython race)";
  } else {
    EXPECT_TRUE(r.fell_back) << "the key re-check sent the lookup to the locked path";
    EXPECT_EQ(r.value, nullptr) << "b was popped: not found";
  }
  if (r.value != nullptr) Decref(rt.thread(1), r.value);
  Decref(rt.thread(0), popped.value);
  DictFree(rt.thread(0), d);
  Decref(rt.thread(0), va);
  Decref(rt.thread(0), vb);
  Decref(rt.thread(1), vc);
  for (int i = 0; i < 3; ++i) ThreadExit(rt.thread(i));
}

INSTANTIATE_TEST_SUITE_P(Recheck, GenericLookupVsPopitem, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "WithKeyRecheck" : "AsCPython"; });

}  // namespace
}  // namespace ftf::core
