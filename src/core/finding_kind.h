// finding_kind.h - the closed set of things ftfuzz reports.
//
// Not a model of CPython: the harness's vocabulary, kept in core because the
// variant registry (variant.h) names the finding each mutant must produce,
// and core depends on nothing above it. The auditors (audit/finding.h), the
// tools and the scripts (through `ftf variants` and `ftf classify`) all take
// the kinds from here; nothing compares kind strings. The names are stable
// (reports, SUMMARY and SIGNATURE lines, regression outcomes); the numeric
// values are not part of any file format.

#ifndef FTF_CORE_FINDING_KIND_H_
#define FTF_CORE_FINDING_KIND_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ftf::core {

enum class FindingKind : uint8_t {
  kDoubleFree,     // DOUBLE_FREE: an object deallocated twice, or a block freed twice
  kOverRelease,    // OVER_RELEASE: the true refcount would go below zero
  kPrematureFree,  // PREMATURE_FREE: deallocated while references to it are still held
  kResurrection,   // RESURRECTION: an incref on an object whose dealloc started or whose block is free
  kUseAfterFree,   // USE_AFTER_FREE: a refcount write / decref / payload access on a freed block
  kLeak,           // LEAK: alive at the end, or refcount != references held
  kWrongValue,     // WRONG_VALUE: a load returned a value never stored in that slot / entry
  kBadLayout,      // BAD_LAYOUT: a specialized access used an offset invalid for the current type
  kDataRace,       // DATA_RACE: ThreadSanitizer
  kDeadlock,       // DEADLOCK: every unfinished logical thread is blocked
  kLivelock,       // LIVELOCK: no progress within the step budget
  kAsan,           // ASAN: AddressSanitizer
  kUbsan,          // UBSAN: UndefinedBehaviorSanitizer
  kCrash,          // CRASH: the modelled C code would crash (e.g. dereference NULL)
  kHang,           // HANG: the run did not end in time (real-thread replays)
};
inline constexpr int kNumFindingKinds = static_cast<int>(FindingKind::kHang) + 1;

// "DOUBLE_FREE", ... (stable).
const char* FindingKindName(FindingKind k);
// The inverse of FindingKindName (exact, upper-case); nullopt for anything else.
std::optional<FindingKind> ParseFindingKind(std::string_view name);
// Every kind, in enum order.
const std::vector<FindingKind>& AllFindingKinds();

}  // namespace ftf::core

#endif  // FTF_CORE_FINDING_KIND_H_
