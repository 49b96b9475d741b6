// expectations.h - the `# expect:` lines of a regression's text twin.
//
// A regression input's text twin (corpus/text/<target>/regressions/X.txt)
// records the outcome per variant it was checked on:
//   # expect: VARIANT KIND          (a finding kind name, or `clean`)
//   # expect-tsan: VARIANT KIND     (under ThreadSanitizer, when different)
// This is the one parser of those lines: the tests call it, scripts ask
// `ftf expect FILE`.

#ifndef FTF_PROGRAM_EXPECTATIONS_H_
#define FTF_PROGRAM_EXPECTATIONS_H_

#include <string>
#include <string_view>
#include <vector>

namespace ftf::program {

struct Expectation {
  std::string variant;
  std::string kind;  // a finding kind name, or "clean"
};

// The expectations that apply to a build with (under_tsan) or without
// ThreadSanitizer, ordered by variant name: `expect-tsan` overrides `expect`
// for the same variant under TSan, and adds variants only under TSan.
std::vector<Expectation> ParseExpectations(std::string_view text, bool under_tsan);

}  // namespace ftf::program

#endif  // FTF_PROGRAM_EXPECTATIONS_H_
