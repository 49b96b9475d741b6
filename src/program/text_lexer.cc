// text_lexer.cc - see text_lexer.h.

#include "program/text_lexer.h"

#include <cctype>

#include "absl/strings/str_format.h"

namespace ftf::program::text_internal {
namespace {

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsPunct(char c) {
  switch (c) {
    case '.': case '=': case '(': case ')': case ',': case '[': case ']': case ':': case ';': case '-':
      return true;
    default:
      return false;
  }
}
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

absl::StatusOr<std::vector<std::string>> Lex(std::string_view line, bool patterns) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (IsSpace(c)) {
      ++i;
    } else if (IsWordChar(c)) {
      size_t j = i;
      while (j < line.size() && IsWordChar(line[j])) ++j;
      tokens.emplace_back(line.substr(i, j - i));
      i = j;
    } else if (IsPunct(c)) {
      tokens.emplace_back(1, c);
      ++i;
    } else if (patterns && c == '%' && i + 1 < line.size()) {
      tokens.emplace_back(line.substr(i, 2));
      i += 2;
    } else {
      const bool printable = std::isprint(static_cast<unsigned char>(c));
      return absl::InvalidArgumentError(
          printable ? absl::StrFormat("unexpected character '%c'", c)
                    : absl::StrFormat("unexpected byte 0x%02x", static_cast<unsigned char>(c)));
    }
  }
  return tokens;
}

std::optional<int> IndexedName(std::string_view token, std::string_view prefix) {
  if (token.size() <= prefix.size() || token.substr(0, prefix.size()) != prefix) return std::nullopt;
  const std::string_view digits = token.substr(prefix.size());
  if (digits.size() > 4 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::string_view StripLine(std::string_view line) {
  if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  while (!line.empty() && (IsSpace(line.front()) || line.front() == '\n')) line.remove_prefix(1);
  while (!line.empty() && (IsSpace(line.back()) || line.back() == '\n')) line.remove_suffix(1);
  return line;
}

}  // namespace ftf::program::text_internal
