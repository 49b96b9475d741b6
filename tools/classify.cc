// classify.cc - `ftf classify` (see classify.h).

#include "tools/classify.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tools/args.h"

namespace ftf::tools {
namespace {

int Usage() {
  std::fprintf(stderr, "usage: ftf classify FILE|-\n");
  return 2;
}

// A JSON string literal (report lines are ASCII; control characters escaped).
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += absl::StrFormat("\\u%04x", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string FindingJson(const audit::ParsedFinding& f) {
  return absl::StrFormat("{\"kind\":%s,\"summary\":%s,\"signature\":%s,\"cause\":%s}",
                         JsonString(audit::FindingKindName(f.kind)), JsonString(f.summary), JsonString(f.signature),
                         JsonString(f.cause));
}

int ClassifyCommand(int argc, char** argv) {
  std::string path;
  ArgParser args;
  args.Positional(&path);
  if (absl::Status s = args.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "ftf classify: %s\n", std::string(s.message()).c_str());
    return Usage();
  }
  if (args.help() || path.empty()) return Usage();
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "ftf classify: cannot read %s\n", path.c_str());
      return 2;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
      std::fprintf(stderr, "ftf classify: cannot read %s\n", path.c_str());
      return 2;
    }
    text = ss.str();
  }
  std::optional<audit::ParsedFinding> f = audit::LastFinding(text);
  if (!f.has_value()) {
    std::fprintf(stderr, "ftf classify: no finding in %s\n", path == "-" ? "standard input" : path.c_str());
    return 1;
  }
  std::printf("%s\n", FindingJson(*f).c_str());
  return 0;
}

}  // namespace ftf::tools
