// expected_findings.cc - prints every variant of the registry with the
// finding its bug must produce without and with ThreadSanitizer, for
// `./ftfuzz bench` (the time-to-find table checks the SUMMARY kind against
// it). `ftf variants` prints only the first of the two.
//
// Output: one line per variant, tab-separated:
//   name  mutant(0|1)  expected  expected_under_tsan  description
// ("clean" for a variant that must produce no finding).

#include <cstdio>

#include "core/variant.h"

int main() {
  using namespace ftf::core;
  for (const Variant& v : AllVariants()) {
    auto name = [](std::optional<FindingKind> k) { return k.has_value() ? FindingKindName(*k) : "clean"; };
    const std::string plain = name(ExpectedFinding(v, false));
    const std::string tsan = name(ExpectedFinding(v, true));
    std::printf("%s\t%d\t%s\t%s\t%s\n", v.name.c_str(), v.is_mutant ? 1 : 0, plain.c_str(), tsan.c_str(),
                v.description.c_str());
  }
  return 0;
}
