// Tests for string-keyed dicts and their keys objects (dict.h, dict_keys.h):
// single-threaded semantics (references, versions, popitem, resize, shared
// bit, QSBR retirement) and real-thread lookups under mutation.

#include "core/dict.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/critical_section.h"
#include "core/heap.h"
#include "core/object.h"
#include "core/observer.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"

namespace ftf::core {
namespace {

// Records the raw frees (keys objects) the core performs. Thread-safe.
class RawFreeObserver : public Observer {
 public:
  void OnRawFree(ThreadState& ts, void* p) override {
    std::lock_guard<std::mutex> g(mu_);
    freed_.push_back(p);
  }
  bool Freed(const void* p) {
    std::lock_guard<std::mutex> g(mu_);
    for (void* q : freed_)
      if (q == p) return true;
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<void*> freed_;
};

class DictTest : public ::testing::Test {
 protected:
  explicit DictTest(int n = 3) : rt_(n) {
    rt_.observer = &obs_;
    for (int i = 0; i < rt_.num_threads(); ++i) ThreadStart(rt_.thread(i));
  }
  ~DictTest() override {
    for (Dict* d : dicts_) DictFree(T(0), d);
    for (Object* o : values_) Decref(T(0), o);
    for (int i = 0; i < rt_.num_threads(); ++i) ThreadExit(rt_.thread(i));
    rt_.observer = nullptr;
  }
  ThreadState& T(int i) { return rt_.thread(i); }
  Object* Name(const std::string& s) { return state_.Intern(rt_, s); }
  // A mortal value owned by thread `owner`; the fixture keeps one reference.
  Object* Value(int owner = 0) {
    Object* o = NewObject(T(owner), 0);
    values_.push_back(o);
    return o;
  }
  Dict* NewDict(int owner = 0, intptr_t presize = 0) {
    Dict* d = DictNew(T(owner), state_, presize);
    dicts_.push_back(d);
    return d;
  }
  uint32_t AssignVersion(Dict* d, int t = 0) {
    CriticalSection cs;
    CriticalSectionBegin(T(t), &cs, &d->ob->ob_mutex);
    uint32_t v = DictGetKeysVersionForCurrentState(T(t), d);
    CriticalSectionEnd(T(t), &cs);
    return v;
  }
  Object* Get(Dict* d, Object* key, int t = 0) {
    DictLookupResult r = DictLookupThreadsafe(T(t), d, key);
    return r.value;  // new reference (caller decrefs) or nullptr
  }
  // Looks `key` up and drops the reference; returns the (borrowed) value.
  Object* Peek(Dict* d, Object* key, int t = 0) {
    Object* v = Get(d, key, t);
    if (v != nullptr) Decref(T(t), v);
    return v;
  }

  Runtime rt_;
  RawFreeObserver obs_;
  DictState state_;
  std::vector<Dict*> dicts_;
  std::vector<Object*> values_;
};

TEST_F(DictTest, InsertLookupOverwriteDeleteKeepReferencesExact) {
  Dict* d = NewDict();
  Object* a = Name("a");
  Object* v1 = Value();
  Object* v2 = Value();
  EXPECT_EQ(PeekRefcnt(v1), 1);
  DictSetResult r = DictSetItem(T(0), d, a, v1);
  EXPECT_TRUE(r.inserted);
  EXPECT_EQ(PeekRefcnt(v1), 2) << "the dict holds its own reference";
  EXPECT_EQ(DictPeekUsed(d), 1);
  EXPECT_EQ(Peek(d, a), v1);
  EXPECT_EQ(PeekRefcnt(v1), 2) << "lookup returned a new reference that was dropped";

  r = DictSetItem(T(0), d, a, v2);
  EXPECT_FALSE(r.inserted);
  EXPECT_EQ(PeekRefcnt(v1), 1) << "overwrite releases the old value at once";
  EXPECT_EQ(PeekRefcnt(v2), 2);
  EXPECT_EQ(Peek(d, a), v2);
  DictSetItem(T(0), d, a, v2);  // same value again: no change in references
  EXPECT_EQ(PeekRefcnt(v2), 2);

  EXPECT_TRUE(DictDelItem(T(0), d, a));
  EXPECT_EQ(PeekRefcnt(v2), 1);
  EXPECT_EQ(DictPeekUsed(d), 0);
  EXPECT_EQ(Get(d, a), nullptr);
  EXPECT_FALSE(DictDelItem(T(0), d, a)) << "KeyError";
  EXPECT_TRUE(IsImmortal(a)) << "interned names are immortal";
}

// dict.setdefault / PyDict_SetDefaultRef (dict_setdefault_ref_lock_held):
// a missing key gets the default (the dict takes a reference, the version is
// reset); a present key is left alone, however its default differs; the
// optional result is a new reference to the value now in the dict; the
// insert note runs only for an insert, before the value is in the table.
TEST_F(DictTest, SetDefaultInsertsOnlyWhenAbsent) {
  Dict* d = NewDict();
  Object* a = Name("a");
  Object* v1 = Value();
  Object* v2 = Value();
  AssignVersion(d);
  struct Note {
    Dict* d;
    Object* key;
    int calls = 0;
    bool present_at_call = true;
  } note{d, a};
  auto on_insert = [](void* ctx) {
    Note& n = *static_cast<Note*>(ctx);
    ++n.calls;
    n.present_at_call = DictPeekIndexOf(n.d, n.key) >= 0;
  };
  EXPECT_FALSE(DictSetDefaultRef(T(0), d, a, v1, nullptr, on_insert, &note)) << "absent: inserted";
  EXPECT_EQ(note.calls, 1);
  EXPECT_FALSE(note.present_at_call) << "the note runs before the insert";
  EXPECT_EQ(Peek(d, a), v1);
  EXPECT_EQ(PeekRefcnt(v1), 2) << "the dict holds its own reference";
  EXPECT_EQ(DictPeekVersion(d), 0u) << "a new key resets the keys version";

  const uint32_t version = AssignVersion(d);
  Object* result = nullptr;
  EXPECT_TRUE(DictSetDefaultRef(T(0), d, a, v2, &result, on_insert, &note)) << "present: unchanged";
  EXPECT_EQ(note.calls, 1) << "no insert, no note";
  EXPECT_EQ(result, v1);
  EXPECT_EQ(PeekRefcnt(v1), 3) << "result is a new reference";
  Decref(T(0), result);
  EXPECT_EQ(PeekRefcnt(v2), 1) << "the default was not taken";
  EXPECT_EQ(DictPeekVersion(d), version) << "nothing changed: the version stays";
  EXPECT_EQ(DictPeekUsed(d), 1);
}

TEST_F(DictTest, VersionsResetOnInsertDeletePopitemButNotOverwrite) {
  Dict* d = NewDict();
  Object* a = Name("a");
  Object* b = Name("b");
  DictSetItem(T(0), d, a, Value());
  EXPECT_EQ(DictPeekVersion(d), 0u) << "new keys have no version";
  EXPECT_FALSE(DictPeekShared(d));
  uint32_t v = AssignVersion(d);
  EXPECT_EQ(v, kFirstKeysVersion) << "the counter starts at 2";
  EXPECT_TRUE(DictPeekShared(d)) << "assigning a version marks the dict SHARED";
  EXPECT_EQ(AssignVersion(d), v) << "an existing version is returned as is";

  DictSetItem(T(0), d, a, Value());  // overwrite
  EXPECT_EQ(DictPeekVersion(d), v) << "overwriting keeps the version";

  DictSetItem(T(0), d, b, Value());  // insert
  EXPECT_EQ(DictPeekVersion(d), 0u) << "insert resets the version";
  uint32_t v2 = AssignVersion(d);
  EXPECT_EQ(v2, v + 1);

  DictDelItem(T(0), d, b);
  EXPECT_EQ(DictPeekVersion(d), 0u) << "delete resets the version";
  EXPECT_EQ(AssignVersion(d), v + 2);

  DictPopResult p = DictPopItem(T(0), d);
  ASSERT_EQ(p.key, a);
  Decref(T(0), p.value);
  EXPECT_EQ(DictPeekVersion(d), 0u) << "popitem resets the version";
}

TEST_F(DictTest, VersionCounterIsInterpreterWideAndRunsOut) {
  Dict* d1 = NewDict();
  Dict* d2 = NewDict();
  DictSetItem(T(0), d1, Name("x"), Value());
  DictSetItem(T(0), d2, Name("y"), Value());
  uint32_t v1 = AssignVersion(d1);
  uint32_t v2 = AssignVersion(d2);
  EXPECT_EQ(v2, v1 + 1) << "one counter for all dicts";

  state_.next_keys_version.Poke(UINT32_MAX);
  DictSetItem(T(0), d1, Name("z"), Value());
  EXPECT_EQ(AssignVersion(d1), UINT32_MAX);
  DictSetItem(T(0), d1, Name("w"), Value());
  EXPECT_EQ(AssignVersion(d1), 0u) << "wrapped: out of versions";
  EXPECT_EQ(NextKeysVersion(state_), 0u) << "and it stays exhausted";
  EXPECT_EQ(state_.next_keys_version.Peek(), 0u);
}

TEST_F(DictTest, NonOwnerReadMarksShared) {
  Dict* d = NewDict(/*owner=*/0);
  Object* a = Name("a");
  DictSetItem(T(0), d, a, Value());
  EXPECT_NE(Peek(d, a, /*t=*/0), nullptr);
  EXPECT_FALSE(DictPeekShared(d)) << "the owner reads without sharing";
  EXPECT_NE(Peek(d, a, /*t=*/1), nullptr);
  EXPECT_TRUE(DictPeekShared(d)) << "ensure_shared_on_read";
}

TEST_F(DictTest, NonOwnerResizeMarksShared) {
  Dict* d = NewDict(/*owner=*/0);
  for (int i = 0; i < 6; ++i) DictSetItem(T(1), d, Name("k" + std::to_string(i)), Value());
  EXPECT_TRUE(DictPeekShared(d)) << "ensure_shared_on_resize";
}

TEST_F(DictTest, DeleteLeavesDummyAndAppendsNewEntries) {
  Dict* d = NewDict();
  Object* a = Name("a");
  Object* b = Name("b");
  Object* c = Name("c");
  DictSetItem(T(0), d, a, Value());
  DictSetItem(T(0), d, b, Value());
  DictKeys* keys = DictPeekKeys(d);
  intptr_t slot_b = -1;
  for (intptr_t i = 0; i < keys->size(); ++i)
    if (PeekIndex(keys, i) == 1) slot_b = i;
  ASSERT_GE(slot_b, 0);
  DictDelItem(T(0), d, b);
  EXPECT_EQ(PeekIndex(keys, slot_b), kDkixDummy);
  EXPECT_EQ(keys->entries()[1].me_key.Peek(), nullptr);
  EXPECT_EQ(keys->entries()[1].me_value.Peek(), nullptr);
  EXPECT_EQ(keys->dk_nentries.Peek(), 2) << "deleted entries are not reused";
  DictSetItem(T(0), d, c, Value());
  EXPECT_EQ(DictPeekIndexOf(d, c), 2);
  EXPECT_EQ(DictPeekKeys(d), keys);
}

TEST_F(DictTest, PopitemMovesNentriesBackSoTheNextInsertReusesTheEntry) {
  Dict* d = NewDict();
  Object* a = Name("a");
  Object* b = Name("b");
  Object* c = Name("c");
  Object* vb = Value();
  DictSetItem(T(0), d, a, Value());
  DictSetItem(T(0), d, b, vb);
  DictKeys* keys = DictPeekKeys(d);
  intptr_t usable = keys->dk_usable.Peek();
  DictPopResult p = DictPopItem(T(0), d);
  EXPECT_EQ(p.key, b);
  EXPECT_EQ(p.value, vb);
  EXPECT_EQ(PeekRefcnt(vb), 2) << "the dict's reference passed to the caller";
  Decref(T(0), p.value);
  EXPECT_EQ(keys->dk_nentries.Peek(), 1);
  EXPECT_EQ(keys->dk_usable.Peek(), usable) << "the DUMMY index slot is not given back";
  Object* vc = Value();
  DictSetItem(T(0), d, c, vc);
  EXPECT_EQ(DictPeekIndexOf(d, c), 1) << "c reuses b's entry";
  std::vector<DictPeekedEntry> live = DictPeekEntries(d);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[1].ix, 1);
  EXPECT_EQ(live[1].key, c);
  EXPECT_EQ(live[1].value, vc);
  EXPECT_EQ(Get(d, b), nullptr);
  EXPECT_EQ(DictPopItem(T(0), NewDict()).key, nullptr) << "popitem on an empty dict";
}

TEST_F(DictTest, ResizeCompactsAndPublishesNewKeysWithVersionZero) {
  Dict* d = NewDict();
  std::vector<Object*> names, vals;
  for (int i = 0; i < 5; ++i) {  // a size-8 table has 5 usable entries
    names.push_back(Name("n" + std::to_string(i)));
    vals.push_back(Value());
    EXPECT_FALSE(DictSetItem(T(0), d, names.back(), vals.back()).resized);
  }
  DictDelItem(T(0), d, names[1]);
  DictDelItem(T(0), d, names[3]);
  AssignVersion(d);
  DictKeys* old = DictPeekKeys(d);
  Object* n5 = Name("n5");
  DictSetResult r = DictSetItem(T(0), d, n5, Value());
  EXPECT_TRUE(r.resized);
  DictKeys* now = DictPeekKeys(d);
  EXPECT_NE(now, old);
  EXPECT_EQ(DictPeekVersion(d), 0u);
  EXPECT_EQ(now->dk_nentries.Peek(), 4) << "three survivors moved, compacted, plus n5";
  EXPECT_EQ(DictPeekIndexOf(d, names[0]), 0);
  EXPECT_EQ(DictPeekIndexOf(d, names[2]), 1);
  EXPECT_EQ(DictPeekIndexOf(d, names[4]), 2);
  EXPECT_EQ(DictPeekIndexOf(d, n5), 3);
  for (int i : {0, 2, 4}) {
    EXPECT_EQ(Peek(d, names[i]), vals[i]);
    EXPECT_EQ(PeekRefcnt(vals[i]), 2) << "ownership moved without refcount changes";
  }
  EXPECT_EQ(PeekRefcnt(vals[1]), 1);
}

TEST_F(DictTest, UnsharedDictFreesOldKeysAtOnce) {
  Dict* d = NewDict();
  for (int i = 0; i < 5; ++i) DictSetItem(T(0), d, Name("u" + std::to_string(i)), Value());
  DictKeys* old = DictPeekKeys(d);
  ASSERT_FALSE(DictPeekShared(d));
  DictSetItem(T(0), d, Name("u5"), Value());
  EXPECT_TRUE(obs_.Freed(old)) << "not shared: no reader can hold the old keys";
}

TEST_F(DictTest, SharedDictRetiresOldKeysThroughQsbr) {
  rt_.qsbr.deferred_limit = 1;  // advance wr_seq on every retirement
  Dict* d = NewDict();
  for (int i = 0; i < 5; ++i) DictSetItem(T(0), d, Name("s" + std::to_string(i)), Value());
  Object* s0 = Name("s0");
  EXPECT_NE(Peek(d, s0, 1), nullptr);  // thread 1 reads: SHARED
  ASSERT_TRUE(DictPeekShared(d));
  DictKeys* old = DictPeekKeys(d);
  DictSetItem(T(0), d, Name("s5"), Value());  // resize
  ASSERT_NE(DictPeekKeys(d), old);
  SafePoint(T(0));
  EXPECT_FALSE(obs_.Freed(old)) << "threads 1 and 2 may still hold the old keys";
  SafePoint(T(1));
  SafePoint(T(0));
  EXPECT_FALSE(obs_.Freed(old)) << "thread 2 has not passed a quiescent state";
  SafePoint(T(2));
  SafePoint(T(0));
  EXPECT_TRUE(obs_.Freed(old)) << "every thread passed a quiescent state";
}

// The owner's resize of a dict another thread reads is what the SHARED bit
// is for: the old keys wait for QSBR. The fault tests ownership instead.
TEST_F(DictTest, OwnersResizeOfASharedDictRetiresTheKeysUnlessItTestsOwnership) {
  for (bool tests_owner : {false, true}) {
    rt_.faults.dict_resize_tests_owner = tests_owner;
    Dict* d = NewDict(/*owner=*/0);
    for (int i = 0; i < 5; ++i) DictSetItem(T(0), d, Name("o" + std::to_string(i)), Value());
    EXPECT_NE(Peek(d, Name("o0"), /*t=*/1), nullptr);
    ASSERT_TRUE(DictPeekShared(d));
    DictKeys* old = DictPeekKeys(d);
    const size_t queued = T(0).delayed.size();
    DictSetItem(T(0), d, Name("o5"), Value());  // the owner resizes
    ASSERT_NE(DictPeekKeys(d), old);
    EXPECT_EQ(obs_.Freed(old), tests_owner) << (tests_owner ? "the fault frees at once" : "retired through QSBR");
    EXPECT_EQ(T(0).delayed.size(), queued + (tests_owner ? 0 : 1));
  }
  rt_.faults.dict_resize_tests_owner = false;
}

TEST_F(DictTest, CollidingNamesProbePastDummies) {
  Dict* d = NewDict();
  Object* p = state_.InternWithHash(rt_, "p", 5);
  Object* q = state_.InternWithHash(rt_, "q", 5);
  Object* r = state_.InternWithHash(rt_, "r", 5);
  Object* vq = Value();
  Object* vr = Value();
  DictSetItem(T(0), d, p, Value());
  DictSetItem(T(0), d, q, vq);
  DictSetItem(T(0), d, r, vr);
  EXPECT_EQ(PeekIndex(DictPeekKeys(d), 5), 0) << "p took the home slot";
  DictDelItem(T(0), d, p);
  EXPECT_EQ(PeekIndex(DictPeekKeys(d), 5), kDkixDummy);
  EXPECT_EQ(Peek(d, q), vq) << "a DUMMY slot does not end the probe";
  EXPECT_EQ(Peek(d, r), vr);
  EXPECT_EQ(Peek(d, r, 1), vr);  // the lock-free path, from a non-owner
  EXPECT_EQ(Get(d, p), nullptr);
}

TEST_F(DictTest, IndexWidthFollowsTableSize) {
  Dict* d = NewDict(0, /*presize=*/200);  // 2^9 slots: 16-bit indices
  EXPECT_GE(DictPeekKeys(d)->dk_log2_size, 8);
  std::vector<Object*> names;
  for (int i = 0; i < 200; ++i) {
    names.push_back(Name("w" + std::to_string(i)));
    DictSetItem(T(0), d, names.back(), Value());
  }
  for (int i = 0; i < 200; ++i) EXPECT_EQ(DictPeekIndexOf(d, names[i]), i);
  for (int i = 0; i < 200; i += 7) EXPECT_NE(Peek(d, names[i], 1), nullptr);
}

TEST_F(DictTest, LockFreeReadOfAForeignValueFallsBackAndSetsMaybeWeakref) {
  Dict* d = NewDict(0);
  Object* a = Name("a");
  Object* v = Value(/*owner=*/0);  // shared == 0: non-owners cannot TryIncRefShared it
  DictSetItem(T(0), d, a, v);
  DictLookupResult r = DictLookupThreadsafe(T(1), d, a);
  EXPECT_EQ(r.value, v);
  EXPECT_TRUE(r.fell_back) << "TryXGetRef refused shared == 0; the locked path answered";
  EXPECT_EQ(RefSharedFlags(v->ob_ref_shared.Peek()), kRefMaybeWeakref) << "_Py_NewRefWithLock (gh-124642)";
  Decref(T(1), r.value);
  r = DictLookupThreadsafe(T(1), d, a);
  EXPECT_EQ(r.value, v);
  EXPECT_FALSE(r.fell_back) << "now the lock-free path succeeds";
  Decref(T(1), r.value);
  EXPECT_EQ(PeekRefcnt(v), 2);
}

TEST_F(DictTest, CalculateLog2KeySizeMatchesCPythonsBitTrick) {
  EXPECT_EQ(CalculateLog2KeySize(0), 3);
  EXPECT_EQ(CalculateLog2KeySize(8), 3);
  EXPECT_EQ(CalculateLog2KeySize(5), 4);  // ((5|8)-1)|7 = 15
  EXPECT_EQ(CalculateLog2KeySize(15), 4);
  EXPECT_EQ(CalculateLog2KeySize(16), 5);
  EXPECT_EQ(CalculateLog2KeySize(33), 6);
}

// Real threads: readers look names up lock-free while a writer inserts,
// overwrites, deletes and resizes. Values are never wrong, references balance,
// and (under ASan) no reader touches freed keys.
TEST_F(DictTest, RealThreadsReadersAndAWriter) {
  rt_.qsbr.deferred_limit = 1;
  Dict* d = NewDict(0);
  constexpr int kStable = 6;
  std::vector<Object*> names, vals;
  for (int i = 0; i < kStable; ++i) {
    names.push_back(Name("g" + std::to_string(i)));
    vals.push_back(Value(0));
    DictSetItem(T(0), d, names[i], vals[i]);
  }
  std::vector<Object*> churn;
  for (int i = 0; i < 8; ++i) churn.push_back(Name("t" + std::to_string(i)));

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  auto reader = [&](int t) {
    for (int it = 0; it < 3000; ++it) {
      int i = it % kStable;
      Object* v = Get(d, names[i], t);
      if (v != vals[i]) wrong.fetch_add(1, std::memory_order_relaxed);
      if (v != nullptr) Decref(T(t), v);
      if (it % 16 == 0) SafePoint(T(t));
    }
  };
  std::thread writer([&] {
    int it = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      Object* k = churn[it % churn.size()];
      Object* tmp = NewObject(T(0), 0);  // a mortal value, freed when deleted
      DictSetItem(T(0), d, k, tmp);
      Decref(T(0), tmp);
      if (it % 3 == 0) DictDelItem(T(0), d, k);
      if (it % 5 == 0) DictSetItem(T(0), d, names[it % kStable], vals[it % kStable]);  // overwrite, same value
      if (it % 4 == 0) SafePoint(T(0));
      ++it;
    }
    for (Object* k : churn) DictDelItem(T(0), d, k);
  });
  std::thread r1(reader, 1), r2(reader, 2);
  r1.join();
  r2.join();
  stop.store(true);
  writer.join();
  EXPECT_EQ(wrong.load(), 0);
  for (int i = 0; i < kStable; ++i) EXPECT_EQ(PeekRefcnt(vals[i]), 2) << "fixture + dict";
  EXPECT_EQ(DictPeekUsed(d), kStable);
}

}  // namespace
}  // namespace ftf::core
