// BAD_LAYOUT: a specialized slot access used an offset that is not its
// member's in the object's current type. The must-detect test injects one
// fault through the core API (a type version tag handed out twice, so a
// stale _GUARD_TYPE_VERSION passes); the must-not-detect twin lets the guard
// deopt. Also: WRONG_VALUE's None rule for _Py_T_OBJECT members.

#include <gtest/gtest.h>

#include "audit/ledger.h"
#include "audit/value_log.h"
#include "audit_test_util.h"
#include "core/member.h"
#include "core/slot_access.h"
#include "core/type.h"

namespace ftf::audit {
namespace {

using core::Object;
using testing::LedgerTest;
using testing::TestHolders;

// --- BAD_LAYOUT -----------------------------------------------------------------

class SlotLayoutTest : public LedgerTest {
 protected:
  SlotLayoutTest() : sys_(rt_) {
    ta_ = sys_.NewHeapType(T(0), "TA", {{"a"}, {"b"}});
    // CPython sorts __slots__ names (type_new_copy_slots), so only names can
    // move a member: 'Z' sorts before 'a', which puts TB's 'a' at offset 40.
    tb_ = sys_.NewHeapType(T(0), "TB", {{"a"}, {"Z"}});
    xa_ = core::NewInstance(T(0), ta_);
    xb_ = core::NewInstance(T(0), tb_);
    holders_.table[0] = xa_;
    holders_.table[1] = xb_;
    for (Object* x : {xa_, xb_}) {
      for (const core::MemberDef& m : x->ob_type.Peek()->members) {
        const char* n = m.name.c_str();
        Object* v = core::NewObject(T(0), 0);
        ledger_.NoteStore(T(0), x, SlotKey(core::FindMember(x->ob_type.Peek(), n)->index), v);
        core::GenericSetAttr(T(0), x, n, v);
        core::Decref(T(0), v);  // the slot keeps the only reference
      }
    }
  }
  // One LOAD_ATTR <name> at `site`, checked as the runner checks it.
  void Load(core::AttrSite& site, Object* owner) {
    core::AttrResult r = core::LoadAttr(T(0), site, owner);
    if (r.specialized) ledger_.CheckSpecializedAccess(T(0), owner, site.name(), site.cached_index());
    ASSERT_TRUE(r.ok());
    const core::MemberDef* m = core::FindMember(owner->ob_type.Peek(), site.name());
    ledger_.CheckLoad(T(0), {{owner, SlotKey(m->index)}}, r.value, r.null_as_none);
    core::Decref(T(0), r.value);
  }
  std::optional<Finding> Scenario(bool duplicate_version) {
    core::AttrSite site(sys_, core::AttrSite::Family::kLoad, "a");
    Load(site, xa_);
    Load(site, xa_);
    EXPECT_EQ(site.opcode(), core::AttrOpcode::kLoadAttrSlot);
    EXPECT_EQ(site.cached_index(), core::SlotOffset(0));
    // The injected bug: a version tag handed out twice, so TB passes a guard
    // that was specialized for TA (what tp_version_tag exists to prevent).
    if (duplicate_version) core::SetVersionUnlocked(tb_, ta_->PeekVersion());
    return Catch([&] { Load(site, xb_); });
  }

  core::TypeSystem sys_;
  core::Type* ta_;
  core::Type* tb_;
  Object* xa_;
  Object* xb_;
};

TEST_F(SlotLayoutTest, BadLayoutWhenAStaleGuardPasses) {
  std::optional<Finding> f = Scenario(true);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kBadLayout);
  EXPECT_EQ(f->main_object(), core::ObjectId(xb_));
  EXPECT_NE(f->message.find("type TB has 'a' at offset 40; offset 32 is member 'Z'"), std::string::npos)
      << f->message;
}

TEST_F(SlotLayoutTest, NoBadLayoutWhenTheGuardDeopts) {
  EXPECT_FALSE(Scenario(false).has_value());
  EXPECT_FALSE(ledger_.has_finding());
}

// A class assignment whose compatibility check was skipped gives a 2-slot
// object a 3-slot type. The current type has 'c' at the offset a site
// specialized for that type caches, but the block has no third slot: the
// check must go by what the block holds, not by the (already wrong) type.
TEST_F(SlotLayoutTest, OffsetPastTheBlockIsBadLayoutEvenWhenTheCurrentTypeHasIt) {
  core::Type* tc = sys_.NewHeapType(T(0), "TC", {{"a"}, {"b"}, {"c"}});
  const size_t c_offset = core::FindMember(tc, "c")->offset;
  ASSERT_EQ(c_offset, core::SlotOffset(2));
  core::Type* before = xa_->ob_type.Peek();
  xa_->ob_type.Init(tc);  // the refused __class__ assignment, let through
  std::string why;
  EXPECT_FALSE(OffsetValidForCurrentType(xa_, "c", c_offset, &why));
  EXPECT_NE(why.find("the block holds 2 slot(s)"), std::string::npos) << why;
  std::optional<Finding> f = Catch([&] { ledger_.CheckSpecializedAccess(T(0), xa_, "c", c_offset); });
  xa_->ob_type.Init(before);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kBadLayout);
  EXPECT_EQ(f->main_object(), core::ObjectId(xa_));
  // The control: an object allocated with TC's three slots is fine.
  Object* xc = core::NewInstance(T(0), tc);
  EXPECT_TRUE(OffsetValidForCurrentType(xc, "c", c_offset, nullptr));
  core::Decref(T(0), xc);
}

TEST_F(LedgerTest, LoadOfNoneFromANullObjectSlotIsNotAWrongValue) {
  Object* x = core::NewObject(T(0), 1);
  holders_.regs[0][0] = x;
  EXPECT_FALSE(Catch([&] { ledger_.CheckLoad(T(0), {{x, SlotKey(0)}}, rt_.none(), /*null_as_none=*/true); })
                   .has_value());
  // The same None without the member-kind excuse was never stored there.
  std::optional<Finding> f = Catch([&] { ledger_.CheckLoad(T(0), {{x, SlotKey(0)}}, rt_.none()); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kWrongValue);
}

}  // namespace
}  // namespace ftf::audit
