// layout.h - the byte layout of an input, shared by the decoder and encoder.
//
// docs/input-format.md is the prose version of this file (keep them in
// step). In short, an input is
//
//   [flags] [schedule length L] [world: 24 bytes, only if flags bit 7]
//   [operation records: 6 bytes each ...] [ignored: < 6 bytes] [schedule: L bytes]
//
// The schedule is taken from the END of the input (as FuzzedDataProvider
// takes integers), so mutating operation bytes never moves it and
// vice versa. Bytes past the end of the input read as 0; a schedule longer
// than what is left is cut to what is left.

#ifndef FTF_PROGRAM_LAYOUT_H_
#define FTF_PROGRAM_LAYOUT_H_

#include <cstdint>

namespace ftf::program::layout {

// Byte 0: flags.
inline constexpr uint8_t kThreadsMask = 0x07;    // bits 0-2: thread count - 1 (reduced mod Limits::max_threads)
inline constexpr uint8_t kPctBit = 0x08;         // bit 3: 0 direct, 1 PCT
inline constexpr int kDepthShift = 4;            // bits 4-6: PCT depth - 1
inline constexpr uint8_t kDepthMask = 0x07;
inline constexpr uint8_t kWorldBit = 0x80;       // bit 7: a 24-byte world follows the header
// Byte 1: schedule length.
inline constexpr int kHeaderSize = 2;

// World (when present), right after the header.
inline constexpr int kTypeBytes = 2;  // [names][shape] per type
inline constexpr int kObjectBytes = 2;  // [type][init] per object
inline constexpr int kTypesOffset = 0;
inline constexpr int kObjectsOffset = kTypesOffset + 4 * kTypeBytes;  // 8
inline constexpr int kGlobalsOffset = kObjectsOffset + 4 * kObjectBytes;  // 16
inline constexpr int kBuiltinsOffset = kGlobalsOffset + 1;  // 17
inline constexpr int kTypeExtraOffset = kBuiltinsOffset + 1;  // 18: one `extra` byte per type
inline constexpr int kDeferredGlobalsOffset = kTypeExtraOffset + 4;  // 22
inline constexpr int kOwnersOffset = kDeferredGlobalsOffset + 1;  // 23
inline constexpr int kWorldSize = kOwnersOffset + 1;  // 24
// Type shape byte: bits 0-1 slot count - 1, bits 4-7 member kind of slot
// 0..3 (1 = _Py_T_OBJECT); bit 2 __del__ (not a layout bit), bit 3
// reserved. Type names byte:
// bits 2i..2i+1 name of slot i.
inline constexpr uint8_t kSlotCountMask = 0x03;
inline constexpr uint8_t kFinalizerBit = 0x04;  // bit 2: the type has a __del__ (TypeSpec::finalizer)
inline constexpr int kKindShift = 4;
// Type extra byte: bits 0-1 base (0 = object, k = T(k-1) if k-1 is an
// earlier type, else object); bit 2 __dict__ and bit 3 __weakref__ in the
// layout; bits 4-7 reserved.
inline constexpr uint8_t kBaseMask = 0x03;
inline constexpr uint8_t kDictBit = 0x04;
inline constexpr uint8_t kWeakrefBit = 0x08;
// Object init byte: bits 2i..2i+1 initial value of slot i:
// 0 empty, 1 fresh, 2 None, 3 fresh (read as 1).
// Builtins byte: bits 0-3 b0..b3 in builtins, bits 4-7 b0..b3 in globals.
// Deferred-globals byte: bit i = the initial value of g_i has a deferred
// reference count.
// Owners byte: bits 0-2 owner of the module globals dict, bits 3-5 owner of
// the builtins dict, each (v % 5): 0 = main thread, 1 + i = thread ti (main
// if the program has no thread ti); bits 6-7 reserved.
inline constexpr uint8_t kOwnerMask = 0x07;
inline constexpr int kGlobalsOwnerShift = 0;
inline constexpr int kBuiltinsOwnerShift = 3;
inline constexpr int kOwnerRange = 5;

// Operation record.
inline constexpr int kRecordSize = 6;
inline constexpr int kRecThread = 0;  // % thread count
inline constexpr int kRecOpcode = 1;  // % kNumOpCodes
inline constexpr int kRecSiteOrType = 2;  // site % kNumSites, or type % kNumTypes
inline constexpr int kRecTarget = 3;  // % 8: 0-3 o0..o3, 4-7 r0..r3
inline constexpr int kRecSlotOrName = 4;  // slot % kNumSlotNames, or name % kNumNames
// value % 11 (0-3 o, 4-7 r, 8 fresh, 9 None, 10 fresh_fn), or reg % 4
inline constexpr int kRecValueOrReg = 5;
inline constexpr int kTargetRange = 8;
inline constexpr int kValueRange = 11;
inline constexpr int kValueFresh = 8;
inline constexpr int kValueNone = 9;
inline constexpr int kValueFreshFn = 10;

static_assert(kWorldSize % kRecordSize == 0,
              "toggling the world bit must keep operation records aligned");

}  // namespace ftf::program::layout

#endif  // FTF_PROGRAM_LAYOUT_H_
