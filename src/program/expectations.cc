// expectations.cc - see expectations.h.

#include "program/expectations.h"

#include <map>
#include <sstream>

namespace ftf::program {

std::vector<Expectation> ParseExpectations(std::string_view text, bool under_tsan) {
  std::map<std::string, std::string> plain, tsan;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string hash, tag, variant, kind;
    if (!(words >> hash >> tag >> variant >> kind) || hash != "#") continue;
    if (tag == "expect:") plain[variant] = kind;
    if (tag == "expect-tsan:") tsan[variant] = kind;
  }
  if (under_tsan)
    for (const auto& [variant, kind] : tsan) plain[variant] = kind;
  std::vector<Expectation> out;
  for (const auto& [variant, kind] : plain) out.push_back({variant, kind});
  return out;
}

}  // namespace ftf::program
