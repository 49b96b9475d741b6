// text_parser.h - the text-form parser's internals (text.h is the API).
//
// Internal to src/program: the Parser class and the operand helpers shared by
// text_parse.cc (operations, assembly of the program) and
// text_parse_world.cc (header lines: threads, schedule, types, objects,
// names).

#ifndef FTF_PROGRAM_TEXT_PARSER_H_
#define FTF_PROGRAM_TEXT_PARSER_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "program/program.h"
#include "program/text_lexer.h"

namespace ftf::program::text_internal {

using Tokens = std::vector<std::string>;

inline absl::Status LineError(int line, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrFormat("line %d: %s", line, msg));
}

// ---- operands: each returns nullopt unless `tok` names one in range ---------

inline std::optional<int> Indexed(std::string_view tok, std::string_view prefix, int count) {
  std::optional<int> i = IndexedName(tok, prefix);
  if (!i || *i >= count) return std::nullopt;
  return i;
}

inline std::optional<int> SlotOf(std::string_view tok) {
  if (tok.size() == 1 && tok[0] >= 'a' && tok[0] < 'a' + kNumSlotNames) return tok[0] - 'a';
  return std::nullopt;
}

inline std::optional<int> GlobalOf(std::string_view tok) {
  if (auto g = Indexed(tok, "g", kNumGlobalNames)) return g;
  if (auto b = Indexed(tok, "b", kNumBuiltinNames)) return kNumGlobalNames + *b;
  return std::nullopt;
}

// ---- a cursor over one line's tokens ---------------------------------------

// Error messages say what was expected and what was found instead.
class Cursor {
 public:
  Cursor(const Tokens& tokens, int line) : tokens_(tokens), line_(line) {}
  bool AtEnd() const { return pos_ >= tokens_.size(); }
  const std::string& Peek() const { static const std::string kEnd; return AtEnd() ? kEnd : tokens_[pos_]; }
  std::string Next() { return AtEnd() ? std::string() : tokens_[pos_++]; }
  absl::Status Expect(std::string_view tok) {
    if (Peek() == tok) { ++pos_; return absl::OkStatus(); }
    return Error(absl::StrFormat("expected '%s'", std::string(tok)));
  }
  absl::Status ExpectEnd() { return AtEnd() ? absl::OkStatus() : Error("unexpected text"); }
  absl::Status Error(const std::string& what) const {
    return LineError(line_, AtEnd() ? absl::StrCat(what, " at the end of the line")
                                    : absl::StrFormat("%s, found '%s'", what, tokens_[pos_]));
  }

 private:
  const Tokens& tokens_;
  int line_;
  size_t pos_ = 0;
};

// Returns the status of `expr` from the enclosing function if it is not OK.
#define FTF_PROGRAM_RETURN_IF_ERROR(expr)     \
  do {                                        \
    if (absl::Status s_ = (expr); !s_.ok()) { \
      return s_;                              \
    }                                         \
  } while (0)

// Parses one text program. Header lines go to text_parse_world.cc, operation
// lines and the final assembly to text_parse.cc.
class Parser {
 public:
  explicit Parser(const Limits& limits) : limits_(limits.Clamped()) {}

  absl::StatusOr<Program> Parse(std::string_view text);

 private:
  struct RawObject {
    int line = 0;
    int type = 0;
    std::vector<std::pair<int, InitValue>> inits;  // (slot name, value)
  };
  struct RawType {
    int line = 0;  // 0 = not defined: the default world's
    int base = kBaseObject;
    std::vector<SlotSpec> own;  // the slots this type adds
    bool dict = false, weakref = false;  // added here
    bool finalizer = false;  // __del__ defined here
  };
  struct RawOp {
    int line;
    Op op;
  };

  absl::Status ParseLine(const Tokens& tokens, std::string_view text, int line);
  absl::Status ParseThreads(Cursor& c, int line);
  absl::Status ParseSchedule(Cursor& c, int line);
  absl::Status ParseBytes(Cursor& c, int line);
  absl::Status ParseType(Cursor& c, int line);
  absl::Status ParseObject(Cursor& c, int line);
  absl::Status ParseNames(Cursor& c, int line, bool builtins);
  absl::Status ParseDeferred(Cursor& c, int line);
  absl::Status ParseOwner(Cursor& c, int line);
  absl::Status FinishTypes();
  absl::Status ParseOp(const Tokens& tokens, std::string_view text, int line);
  absl::StatusOr<Program> Finish();

  Limits limits_;
  Program p_;
  int threads_line_ = 0, schedule_line_ = 0, globals_line_ = 0, builtins_line_ = 0, bytes_line_ = 0;
  int deferred_line_ = 0;
  std::array<int, 2> owner_line_{};      // globals, builtins
  std::array<int, 2> owner_thread_{-1, -1};  // -1 = main
  std::array<RawType, kNumTypes> types_{};
  std::array<RawObject, kNumObjects> objects_{};
  std::array<std::vector<RawOp>, kMaxThreads> ops_;
};

}  // namespace ftf::program::text_internal

#endif  // FTF_PROGRAM_TEXT_PARSER_H_
