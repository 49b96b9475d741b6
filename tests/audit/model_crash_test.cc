// model_crash_test.cc - where the modelled C code would crash, the ledger
// reports a CRASH finding at the faulting core line (and the run ends there
// with the full report), instead of the model printing a line and aborting.

#include <gtest/gtest.h>

#include <string>

#include "audit/report.h"
#include "audit/signature.h"
#include "audit_test_util.h"
#include "core/dict_keys.h"

namespace ftf::audit {
namespace {

using testing::LedgerTest;

class ZeroHasher : public core::KeyHasher {
 public:
  uint64_t HashOf(const core::Object*) const override { return 0; }
};

// A table whose first probe slot names entry 0 while entry 0 has no key:
// what a lock-held lookup sees in a table mutated without its lock.
TEST_F(LedgerTest, NullKeyInALockHeldLookupIsACrashFinding) {
  core::DictKeys* keys = core::NewKeys(T(0), core::kDictLog2MinSize);
  core::SetIndex(keys, 0, 0);
  core::Object* key = core::NewObject(T(0), 0);
  ZeroHasher h;
  std::optional<Finding> f = Catch([&] { (void)core::KeysLookupLockHeld(T(0), keys, h, key, 0); });
  ASSERT_TRUE(f.has_value()) << "the lookup must end in a finding, not return";
  EXPECT_EQ(f->kind, FindingKind::kCrash);
  EXPECT_EQ(f->auditor, "model");
  EXPECT_EQ(f->thread, 0);
  EXPECT_EQ(f->site.rfind("core/dict_keys.cc:", 0), 0u) << f->site;
  EXPECT_NE(f->message.find("NULL me_key"), std::string::npos) << f->message;
  // The one report format, with its signature: crash at the faulting line.
  ReportContext ctx;
  ctx.program_text = "ftfuzz program v1\n";
  const std::string report = BuildReport(*f, ctx);
  EXPECT_NE(report.find("==FTF== ERROR: model: CRASH at core/dict_keys.cc:"), std::string::npos) << report;
  EXPECT_NE(report.find("SIGNATURE: ftfuzz: CRASH " + SignatureOf(*f, nullptr, nullptr).Hex() + " crash " + f->site),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("SUMMARY: ftfuzz: CRASH core/dict_keys.cc:"), std::string::npos) << report;
}

}  // namespace
}  // namespace ftf::audit
