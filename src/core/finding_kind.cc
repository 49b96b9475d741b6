// finding_kind.cc - the names of the finding kinds (see finding_kind.h).

#include "core/finding_kind.h"

namespace ftf::core {
namespace {

struct KindName {
  FindingKind kind;
  const char* name;
};

// One row per kind, in enum order (checked by the tests).
constexpr KindName kKindNames[] = {
    {FindingKind::kDoubleFree, "DOUBLE_FREE"},       {FindingKind::kOverRelease, "OVER_RELEASE"},
    {FindingKind::kPrematureFree, "PREMATURE_FREE"}, {FindingKind::kResurrection, "RESURRECTION"},
    {FindingKind::kUseAfterFree, "USE_AFTER_FREE"},  {FindingKind::kLeak, "LEAK"},
    {FindingKind::kWrongValue, "WRONG_VALUE"},       {FindingKind::kBadLayout, "BAD_LAYOUT"},
    {FindingKind::kDataRace, "DATA_RACE"},           {FindingKind::kDeadlock, "DEADLOCK"},
    {FindingKind::kLivelock, "LIVELOCK"},            {FindingKind::kAsan, "ASAN"},
    {FindingKind::kUbsan, "UBSAN"},                  {FindingKind::kCrash, "CRASH"},
    {FindingKind::kHang, "HANG"},
};
static_assert(sizeof(kKindNames) / sizeof(kKindNames[0]) == kNumFindingKinds);

}  // namespace

const char* FindingKindName(FindingKind k) {
  const int i = static_cast<int>(k);
  return i >= 0 && i < kNumFindingKinds ? kKindNames[i].name : "UNKNOWN";
}

std::optional<FindingKind> ParseFindingKind(std::string_view name) {
  for (const KindName& k : kKindNames) {
    if (name == k.name) return k.kind;
  }
  return std::nullopt;
}

const std::vector<FindingKind>& AllFindingKinds() {
  static const std::vector<FindingKind>* all = [] {
    auto* v = new std::vector<FindingKind>();
    for (const KindName& k : kKindNames) v->push_back(k.kind);
    return v;
  }();
  return *all;
}

}  // namespace ftf::core
