// Tests for modelled crashes (fatal.h): the core describes the crash to the
// installed handler and then stops the process; with no handler it stops
// all the same, saying only its own fatal error.

#include "core/fatal.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/critical_section.h"
#include "core/dict.h"
#include "core/dict_keys.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

ModelCrash g_seen{};
int g_calls = 0;

void Record(const ModelCrash& c) {
  g_seen = c;
  ++g_calls;
}

TEST(FatalTest, NotifyCallsTheInstalledHandlerOnly) {
  g_calls = 0;
  NotifyModelCrash({"core/x.cc", "F", "why"});  // none installed: nothing happens
  EXPECT_EQ(g_calls, 0);
  ModelCrashHandler old = InstallModelCrashHandler(&Record);
  NotifyModelCrash({"core/x.cc", "F", "why"});
  EXPECT_EQ(InstallModelCrashHandler(old), &Record);
  ASSERT_EQ(g_calls, 1);
  EXPECT_STREQ(g_seen.file, "core/x.cc");
  EXPECT_STREQ(g_seen.function, "F");
  EXPECT_STREQ(g_seen.cause, "why");
}

void PrintMarker(const ModelCrash& c) {
  std::fprintf(stderr, "handler saw %s in %s\n", c.file, c.function);
}

// A table whose live index points at an entry with a NULL key (what a
// mutation without the lock can leave): the lock-held lookup, like CPython's
// unicode_get_hash, cannot go on. The handler hears of it first.
void LookUpTheBrokenKey() {
  Runtime rt(1);
  ThreadState& ts = rt.thread(0);
  ThreadStart(ts);
  DictState state;
  Dict* d = DictNew(ts, state);
  Object* a = state.Intern(rt, "a");
  Object* v = NewObject(ts, 0);
  DictSetItem(ts, d, a, v);
  Object* value = nullptr;
  const intptr_t ix = DictPeekIndexOf(d, a, &value);
  DictPeekKeys(d)->entries()[ix].me_key.Poke(nullptr);
  InstallModelCrashHandler(&PrintMarker);
  CriticalSection cs;
  CriticalSectionBegin(ts, &cs, &d->ob->ob_mutex);
  DictLookupLockHeld(ts, d, a, state.HashOf(a), &value);
}

TEST(FatalDeathTest, NullKeyUnderALiveIndexNotifiesThenStops) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(LookUpTheBrokenKey(), "handler saw core/dict_keys.cc in KeysLookupLockHeld(.|\n)*model fatal error");
}

}  // namespace
}  // namespace ftf::core
