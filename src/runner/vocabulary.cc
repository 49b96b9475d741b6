// vocabulary.cc - see vocabulary.h.

#include "runner/vocabulary.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>

#include "program/decoder.h"
#include "program/layout.h"

namespace ftf::runner {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The bytes between the first and the last double quote of a dictionary
// line, unescaped; nullopt for a line that holds no entry.
std::optional<std::string> EntryBytes(std::string_view line) {
  const size_t open = line.find('"');
  const size_t close = line.rfind('"');
  if (open == std::string_view::npos || close <= open) return std::nullopt;
  const std::string_view body = line.substr(open + 1, close - open - 1);
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out.push_back(body[i]);
      continue;
    }
    if (i + 1 >= body.size()) return std::nullopt;
    const char e = body[++i];
    if (e == '\\' || e == '"') {
      out.push_back(e);
    } else if (e == 'x' && i + 2 < body.size() && HexDigit(body[i + 1]) >= 0 && HexDigit(body[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(body[i + 1]) * 16 + HexDigit(body[i + 2])));
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

std::vector<program::Op> OperationsFromDictionary(std::string_view text) {
  std::vector<program::Op> ops;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    const std::optional<std::string> bytes = EntryBytes(line);
    if (!bytes.has_value() || bytes->size() != static_cast<size_t>(program::layout::kRecordSize)) continue;
    // A one-thread program of this one record: the decoder is the only place
    // that knows which fields an opcode uses and their ranges.
    uint8_t in[program::layout::kHeaderSize + program::layout::kRecordSize] = {};
    std::copy(bytes->begin(), bytes->end(), in + program::layout::kHeaderSize);
    const program::Program p = program::Decode(std::span<const uint8_t>(in, sizeof in));
    const program::Op& op = p.threads[0].ops[0];
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  }
  return ops;
}

std::vector<program::Op> OperationsFromDictionaryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return OperationsFromDictionary(text.str());
}

}  // namespace ftf::runner
