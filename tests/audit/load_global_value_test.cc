// WRONG_VALUE: a load returned a value never stored in that place. The
// must-detect test injects one fault into the core, the registered mutant
// variant mutant_no_keys_version_guard (LOAD_GLOBAL_MODULE without its
// dk_version guard reads an entry another key now owns); the must-not-detect
// twin runs the same program on the `locked` variant. The test plays the
// interpreter: NoteStore before every store, CheckLoad after every load.
// (slot_layout_test.cc has BAD_LAYOUT: core/load_global.h and
// core/slot_access.h cannot be included in one file yet.)

#include <gtest/gtest.h>

#include <utility>

#include "audit/ledger.h"
#include "audit/value_log.h"
#include "audit_test_util.h"
#include "core/dict.h"
#include "core/load_global.h"
#include "core/variant.h"

namespace ftf::audit {
namespace {

using core::Object;
using testing::LedgerTest;
using testing::TestHolders;

// Registers and table, plus the two dicts (their values and their objects).
class DictHolders : public TestHolders {
 public:
  void ForEachHolder(const HolderVisitor& visit) const override {
    TestHolders::ForEachHolder(visit);
    ForEachDictHolder(globals, "globals", true, visit);
    ForEachDictHolder(builtins, "builtins", true, visit);
  }
  const core::Dict* globals = nullptr;
  const core::Dict* builtins = nullptr;
};

// --- WRONG_VALUE ----------------------------------------------------------------

class LoadGlobalValueTest : public LedgerTest {
 protected:
  LoadGlobalValueTest() {
    ledger_.set_holders(&dh_);
    env_.globals = core::DictNew(T(0), state_);
    env_.builtins = core::DictNew(T(0), state_);
    dh_.globals = env_.globals;
    dh_.builtins = env_.builtins;
  }
  ~LoadGlobalValueTest() override {
    dh_.globals = dh_.builtins = nullptr;  // stop listing a dict before freeing it
    core::DictFree(T(0), env_.globals);
    core::DictFree(T(0), env_.builtins);
    for (auto& r : dh_.regs[0]) core::XDecref(T(0), std::exchange(r, nullptr));
  }
  Object* Key(int name) { return state_.Intern(rt_, "g" + std::to_string(name)); }
  // globals[g<name>] = value, announced to the ledger first.
  void Store(int name, Object* value) {
    ledger_.NoteStore(T(0), env_.globals->ob, DictKey(name), value);
    core::StoreGlobal(T(0), env_, Key(name), value);
  }
  // One LOAD_GLOBAL g<name> at `site`, checked: the value must come from
  // globals[g<name>] or builtins[g<name>].
  core::LoadGlobalResult Load(core::LoadGlobalSite& site, int name) {
    core::LoadGlobalResult r = core::LoadGlobal(T(0), env_, site);
    if (r.value != nullptr) {
      ledger_.CheckLoad(T(0), {{env_.globals->ob, DictKey(name)}, {env_.builtins->ob, DictKey(name)}}, r.value);
      core::Decref(T(0), r.value);
    }
    return r;
  }
  // The popitem scenario (docs/cpython-model.md §15): g1 specialized at entry 1,
  // then popitem + insert put g2 in entry 1.
  std::optional<Finding> Scenario(const char* variant) {
    env_.variant = core::FindVariant(variant);
    for (int i = 0; i < 3; ++i) dh_.regs[0][i] = core::NewObject(T(0), 0);
    Store(0, dh_.regs[0][0]);
    Store(1, dh_.regs[0][1]);
    core::LoadGlobalSite site;
    site.name = Key(1);
    Load(site, 1);
    Load(site, 1);
    EXPECT_EQ(site.opcode, core::LoadGlobalOpcode::kLoadGlobalModule);
    core::DictPopResult p = core::DictPopItem(T(0), env_.globals);  // g1 leaves entry 1
    EXPECT_EQ(p.key, Key(1));
    core::Decref(T(0), p.value);
    Store(2, dh_.regs[0][2]);  // g2 takes entry 1
    return Catch([&] { Load(site, 1); });
  }

  core::DictState state_;
  core::GlobalsEnv env_;
  DictHolders dh_;
};

TEST_F(LoadGlobalValueTest, WrongValueWithoutTheKeysVersionGuard) {
  std::optional<Finding> f = Scenario("mutant_no_keys_version_guard");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kWrongValue);
  EXPECT_EQ(f->main_object(), core::ObjectId(env_.globals->ob));
  ASSERT_EQ(f->objects.size(), 2u);
  EXPECT_EQ(f->objects[1], core::ObjectId(dh_.regs[0][2])) << "g2's value, loaded as g1";
  EXPECT_NE(f->message.find("never stored there"), std::string::npos) << f->message;
}

TEST_F(LoadGlobalValueTest, NoWrongValueWithTheGuard) {
  EXPECT_FALSE(Scenario("locked").has_value());
  // Holders (registers, dict entries, dict objects) match every refcount.
  ledger_.CheckEnd(/*world_torn_down=*/false);
  EXPECT_FALSE(ledger_.has_finding()) << ledger_.finding()->message << "\n" << ledger_.finding()->details;
}

}  // namespace
}  // namespace ftf::audit
