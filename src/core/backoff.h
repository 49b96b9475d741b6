// backoff.h - the adaptive counters of specializing instructions.
// What CPython does here: docs/cpython-model.md §12.
//
// Models Include/internal/pycore_backoff.h and the ADAPTIVE_* constants of
// Include/internal/pycore_code.h. A counter is 16 bits: a 12-bit value and a
// 4-bit backoff exponent. It triggers when the value reaches 0; warm-up
// specializes on the 2nd execution; after a successful specialization the
// cooldown value 52 means a respecialization attempt on the 53rd miss; each
// failed attempt doubles the wait (exponent capped at 12).
//
// Shared by LOAD_ATTR/STORE_ATTR (slot_access.h) and LOAD_GLOBAL (load_global.h).

#ifndef FTF_CORE_BACKOFF_H_
#define FTF_CORE_BACKOFF_H_

#include <cstdint>

namespace ftf::core {

// --- adaptive counters (pycore_backoff.h) ----------------------------------
// value_and_backoff = value << 4 | backoff; triggers when the value is 0
// (raw < 15); backoff 15 is "unreachable".
inline constexpr int kBackoffBits = 4;
inline constexpr uint16_t kMaxBackoff = 12;
inline constexpr uint16_t kUnreachableBackoff = 15;
inline constexpr uint16_t kAdaptiveWarmupValue = 1;     // specialize on the 2nd execution
inline constexpr uint16_t kAdaptiveWarmupBackoff = 1;
inline constexpr uint16_t kAdaptiveCooldownValue = 52;  // respecialize on the 53rd miss
inline constexpr uint16_t kAdaptiveCooldownBackoff = 0;

constexpr uint16_t MakeBackoffCounter(uint16_t value, uint16_t backoff) {
  return static_cast<uint16_t>((value << kBackoffBits) | backoff);
}
constexpr uint16_t BackoffCounterValue(uint16_t c) { return static_cast<uint16_t>(c >> kBackoffBits); }
constexpr uint16_t BackoffCounterExponent(uint16_t c) { return static_cast<uint16_t>(c & 15); }
// restart_backoff_counter: value 2^(b+1) - 1 with exponent b + 1, capped at 12.
constexpr uint16_t RestartBackoffCounter(uint16_t c) {
  uint16_t b = BackoffCounterExponent(c);
  if (b < kMaxBackoff) {
    return MakeBackoffCounter(static_cast<uint16_t>((1u << (b + 1)) - 1), static_cast<uint16_t>(b + 1));
  }
  return MakeBackoffCounter((1u << kMaxBackoff) - 1, kMaxBackoff);
}
// advance_backoff_counter: value - 1.
constexpr uint16_t AdvanceBackoffCounter(uint16_t c) { return static_cast<uint16_t>(c - (1u << kBackoffBits)); }
constexpr bool BackoffCounterTriggers(uint16_t c) { return c < kUnreachableBackoff; }
constexpr uint16_t AdaptiveCounterWarmup() { return MakeBackoffCounter(kAdaptiveWarmupValue, kAdaptiveWarmupBackoff); }
constexpr uint16_t AdaptiveCounterCooldown() {
  return MakeBackoffCounter(kAdaptiveCooldownValue, kAdaptiveCooldownBackoff);
}

}  // namespace ftf::core

#endif  // FTF_CORE_BACKOFF_H_
