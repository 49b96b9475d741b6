// round_trip.cc - see round_trip.h.

#include "program/round_trip.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "program/decoder.h"
#include "program/encoder.h"
#include "program/text.h"

namespace ftf::program {
namespace {

absl::Status Mismatch(const std::string& property, std::span<const uint8_t> input, const std::string& left,
                      const std::string& right) {
  return absl::InternalError(absl::StrCat("round trip broken: ", property, "\ninput (", input.size(),
                                          " bytes): ", HexBytes(input), "\n--- expected ---\n", left,
                                          "\n--- got ---\n", right, "\n"));
}

}  // namespace

std::string HexBytes(std::span<const uint8_t> data) {
  std::string out;
  for (size_t i = 0; i < data.size(); ++i) {
    if (i) out += ' ';
    absl::StrAppendFormat(&out, "%02x", data[i]);
  }
  return out;
}

absl::Status CheckRoundTrips(std::span<const uint8_t> data, const Limits& limits) {
  const Program p = Decode(data, limits);
  const std::string text = ToText(p);
  if (absl::Status s = Validate(p, limits); !s.ok()) {
    return Mismatch(absl::StrCat("Validate(Decode(b)): ", s.message()), data, "a valid program", text);
  }

  absl::StatusOr<Program> parsed = ParseText(text, limits);
  if (!parsed.ok()) {
    return Mismatch(absl::StrCat("ParseText(ToText(p)) failed: ", parsed.status().message()), data, text, "");
  }
  const std::string text2 = ToText(*parsed);
  if (!(*parsed == p)) return Mismatch("ParseText(ToText(p)) != p", data, text, text2);
  if (text2 != text) return Mismatch("ToText(ParseText(ToText(p))) != ToText(p)", data, text, text2);

  absl::StatusOr<std::vector<uint8_t>> bytes = Encode(p, limits);
  if (!bytes.ok()) return Mismatch(absl::StrCat("Encode(p) failed: ", bytes.status().message()), data, text, "");
  const Program q = Decode(*bytes, limits);
  if (!(q == p)) {
    return Mismatch(absl::StrCat("Decode(Encode(p)) != p; Encode(p) = ", HexBytes(*bytes)), data, text, ToText(q));
  }
  absl::StatusOr<std::vector<uint8_t>> bytes2 = Encode(q, limits);
  if (!bytes2.ok() || *bytes2 != *bytes) {
    return Mismatch("Encode(Decode(Encode(p))) != Encode(p)", data, HexBytes(*bytes),
                    bytes2.ok() ? HexBytes(*bytes2) : std::string(bytes2.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace ftf::program
