// RefLedger and deferred reference counting (core/deferred.h): a deferred
// object other than a type is accounted with its _Py_REF_DEFERRED bias taken
// off, and a register holding a tagged stack reference is a holder with no
// count. One must-detect and one must-not-detect test per check involved.

#include <gtest/gtest.h>

#include "audit/ledger.h"
#include "audit_test_util.h"
#include "core/deferred.h"
#include "core/refcount.h"
#include "core/type.h"

namespace ftf::audit {
namespace {

using core::Decref;
using core::Incref;
using core::Object;

// The ledger takes a deferred object with no type for a heap type's object:
// functions get the `object` type, as the runner's.
class DeferredLedgerTest : public testing::LedgerTest {
 protected:
  core::TypeSystem types_{rt_};
};

// A function's count never reaches zero (the bias), but its true count can
// go below zero: a decref of a reference never taken is an over-release.
TEST_F(DeferredLedgerTest, OverRelease_DeferredObjectDecrefedMoreThanItIsHeld) {
  Object* fn = core::NewFunctionObject(T(0), types_.object_type());
  holders_.regs[0][0] = fn;
  Incref(T(1), fn);
  ASSERT_FALSE(Catch([&] { Decref(T(1), fn); }).has_value());  // its own reference
  // Wrong call sequence: T1 drops T0's reference (the count is 0 now; the
  // bias keeps ob_ref_shared far above it), then one more.
  ASSERT_FALSE(Catch([&] { Decref(T(1), fn); }).has_value());
  std::optional<Finding> f = Catch([&] { Decref(T(1), fn); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kOverRelease);
  EXPECT_NE(f->message.find("from 0 to -1"), std::string::npos) << f->message;
}

// Counted and tagged holders together: the counted ones match the count,
// the tagged one holds none. No LEAK while the world is alive.
TEST_F(DeferredLedgerTest, Leak_NotReportedForATaggedRegister) {
  Object* fn = core::NewFunctionObject(T(0), types_.object_type());
  holders_.regs[0][0] = fn;  // the creator's counted reference
  holders_.regs[1][0] = fn;  // a LOAD_GLOBAL's tagged reference
  holders_.tagged[1][0] = true;
  ledger_.CheckEnd(/*world_torn_down=*/false);
  EXPECT_FALSE(ledger_.has_finding()) << ledger_.finding()->message;
}

// The same, with one counted reference too many.
TEST_F(DeferredLedgerTest, Leak_DeferredObjectWithAnExtraCount) {
  Object* fn = core::NewFunctionObject(T(0), types_.object_type());
  holders_.regs[0][0] = fn;
  holders_.regs[1][0] = fn;
  holders_.tagged[1][0] = true;
  Incref(T(1), fn);  // wrong call sequence: a count nobody holds
  ledger_.CheckEnd(/*world_torn_down=*/false);
  ASSERT_TRUE(ledger_.has_finding());
  EXPECT_EQ(ledger_.finding()->kind, FindingKind::kLeak);
  EXPECT_NE(ledger_.finding()->message.find("refcount 2 but 1 reference"), std::string::npos)
      << ledger_.finding()->message;
}

// The collector never frees an object a thread's stack still references:
// freeing one under a tagged register is PREMATURE_FREE.
TEST_F(DeferredLedgerTest, PrematureFree_CollectingAFunctionATaggedRegisterHolds) {
  Object* fn = core::NewFunctionObject(T(0), types_.object_type());
  Decref(T(0), fn);  // no counted reference left
  holders_.regs[1][0] = fn;
  holders_.tagged[1][0] = true;
  std::optional<Finding> f = Catch([&] { core::GcFreeDeferred(T(0), fn); });
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kPrematureFree);
  EXPECT_NE(f->details.find("tagged stack reference"), std::string::npos) << f->details;
}

TEST_F(DeferredLedgerTest, PrematureFree_NotReportedWhenTheCollectorFreesAnUnreferencedFunction) {
  Object* fn = core::NewFunctionObject(T(0), types_.object_type());
  Incref(T(1), fn);
  Decref(T(0), fn);
  Decref(T(1), fn);
  EXPECT_FALSE(Catch([&] { EXPECT_TRUE(core::GcFreeDeferred(T(2), fn)); }).has_value());
  ledger_.CheckEnd();
  EXPECT_FALSE(ledger_.has_finding()) << ledger_.finding()->message;
}

// After tear-down a deferred value is accounted like any object (only the
// collector frees it, so the runner's tear-down runs one); a heap type's
// object stays exempt.
TEST_F(DeferredLedgerTest, Leak_DeferredValueLeftAfterTeardownButNotAType) {
  core::Type* t = types_.NewHeapType(T(0), "T", {});
  ASSERT_NE(t, nullptr);
  Object* fn = core::NewFunctionObject(T(0), types_.object_type());
  const uint64_t id = core::ObjectId(fn);
  ledger_.CheckEnd();
  ASSERT_TRUE(ledger_.has_finding());
  EXPECT_EQ(ledger_.finding()->kind, FindingKind::kLeak);
  ASSERT_EQ(ledger_.finding()->objects.size(), 1u) << ledger_.finding()->details;
  EXPECT_EQ(ledger_.finding()->objects[0], id);
}

}  // namespace
}  // namespace ftf::audit
