// text_lexer.h - splits one line of the text form into tokens.
//
// Internal to src/program (text_parse.cc and its tests). A token is a word
// ([A-Za-z0-9_]+), one punctuation character of ".=(),[]:;-", or, in
// operation patterns only (op.cc), a placeholder "%x". Comments (# to the
// end of the line) are removed before lexing.

#ifndef FTF_PROGRAM_TEXT_LEXER_H_
#define FTF_PROGRAM_TEXT_LEXER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ftf::program::text_internal {

// Fails on a character that is neither a word character, punctuation nor
// white space (the message names it); `patterns` also accepts "%x".
absl::StatusOr<std::vector<std::string>> Lex(std::string_view line, bool patterns = false);

// `token` is `prefix` followed by decimal digits (no sign, no leading zero
// unless the number is 0): returns the number, else nullopt.
std::optional<int> IndexedName(std::string_view token, std::string_view prefix);

// Removes a trailing comment and surrounding white space (also '\r').
std::string_view StripLine(std::string_view line);

}  // namespace ftf::program::text_internal

#endif  // FTF_PROGRAM_TEXT_LEXER_H_
