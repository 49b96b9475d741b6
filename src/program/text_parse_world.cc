// text_parse_world.cc - the header lines of the text form: threads,
// schedule, bytes, type, object, globals, builtins (text.h).

#include <string>
#include <utility>

#include "program/text_parser.h"

namespace ftf::program::text_internal {

absl::Status Parser::ParseThreads(Cursor& c, int line) {
  if (threads_line_) return LineError(line, absl::StrFormat("second 'threads' line (first on line %d)", threads_line_));
  threads_line_ = line;
  std::optional<int> n = IndexedName(c.Peek(), "");
  if (!n || *n < 1 || *n > kMaxThreads) return c.Error(absl::StrFormat("expected a thread count 1..%d", kMaxThreads));
  if (*n > limits_.max_threads) {
    return LineError(line, absl::StrFormat("%d threads exceed the limit of %d (Limits::max_threads)", *n,
                                           limits_.max_threads));
  }
  c.Next();
  p_.threads.resize(*n);
  return c.ExpectEnd();
}

absl::Status Parser::ParseSchedule(Cursor& c, int line) {
  if (schedule_line_) return LineError(line, absl::StrFormat("second 'schedule' line (first on line %d)", schedule_line_));
  schedule_line_ = line;
  if (c.Peek() == "direct") {
    c.Next();
    p_.schedule.kind = ScheduleKind::kDirect;
    p_.schedule.pct_depth = kDirectCanonicalDepth;
    return c.ExpectEnd();
  }
  if (c.Peek() != "pct") return c.Error("expected 'direct' or 'pct'");
  c.Next();
  p_.schedule.kind = ScheduleKind::kPct;
  p_.schedule.pct_depth = kDirectCanonicalDepth;
  if (c.AtEnd()) return absl::OkStatus();
  FTF_PROGRAM_RETURN_IF_ERROR(c.Expect("depth"));
  std::optional<int> d = IndexedName(c.Peek(), "");
  if (!d || *d < 1 || *d > kMaxPctDepth) return c.Error(absl::StrFormat("expected a PCT depth 1..%d", kMaxPctDepth));
  c.Next();
  p_.schedule.pct_depth = static_cast<uint8_t>(*d);
  return c.ExpectEnd();
}

absl::Status Parser::ParseBytes(Cursor& c, int line) {
  if (!bytes_line_) bytes_line_ = line;
  auto hex = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  while (!c.AtEnd()) {
    const std::string& tok = c.Peek();
    if (tok.size() != 2 || hex(tok[0]) < 0 || hex(tok[1]) < 0) {
      return c.Error("expected schedule bytes as two hex digits each ('bytes 00 1f a0')");
    }
    p_.schedule.bytes.push_back(static_cast<uint8_t>(hex(tok[0]) * 16 + hex(tok[1])));
    c.Next();
  }
  if (static_cast<int>(p_.schedule.bytes.size()) > limits_.max_schedule_bytes) {
    return LineError(line, absl::StrFormat("more than %d schedule bytes (Limits::max_schedule_bytes)",
                                           limits_.max_schedule_bytes));
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseType(Cursor& c, int line) {
  std::optional<int> t = Indexed(c.Peek(), "T", kNumTypes);
  if (!t) return c.Error("expected a type T0..T3");
  c.Next();
  if (type_line_[*t]) return LineError(line, absl::StrFormat("T%d defined twice (first on line %d)", *t, type_line_[*t]));
  type_line_[*t] = line;
  TypeSpec type;
  FTF_PROGRAM_RETURN_IF_ERROR(c.Expect("("));
  unsigned seen = 0;
  while (true) {
    std::optional<int> s = SlotOf(c.Peek());
    if (!s) return c.Error("expected a slot name a..d");
    c.Next();
    if (seen & (1u << *s)) return LineError(line, absl::StrFormat("slot %s listed twice", SlotName(*s)));
    seen |= 1u << *s;
    SlotSpec spec{static_cast<uint8_t>(*s), MemberKind::kObjectEx};
    if (c.Peek() == ":") {
      c.Next();
      if (c.Peek() == "OBJ") {
        spec.kind = MemberKind::kObject;
      } else if (c.Peek() != "EX") {
        return c.Error("expected a member kind EX (Py_T_OBJECT_EX) or OBJ (_Py_T_OBJECT)");
      }
      c.Next();
    }
    type.slots.push_back(spec);
    if (c.Peek() == ",") { c.Next(); continue; }
    break;
  }
  FTF_PROGRAM_RETURN_IF_ERROR(c.Expect(")"));
  if (c.Peek() == "__del__") {  // a finalizer (TypeSpec::finalizer)
    type.finalizer = true;
    c.Next();
  }
  p_.world.types[*t] = std::move(type);
  return c.ExpectEnd();
}

absl::Status Parser::ParseObject(Cursor& c, int line) {
  std::optional<int> o = Indexed(c.Peek(), "o", kNumObjects);
  if (!o) return c.Error("expected an object o0..o3");
  c.Next();
  RawObject& raw = objects_[*o];
  if (raw.line) return LineError(line, absl::StrFormat("o%d defined twice (first on line %d)", *o, raw.line));
  raw.line = line;
  FTF_PROGRAM_RETURN_IF_ERROR(c.Expect("="));
  std::optional<int> t = Indexed(c.Peek(), "T", kNumTypes);
  if (!t) return c.Error("expected a type T0..T3");
  c.Next();
  raw.type = *t;
  FTF_PROGRAM_RETURN_IF_ERROR(c.Expect("("));
  while (c.Peek() != ")") {
    std::optional<int> s = SlotOf(c.Peek());
    if (!s) return c.Error("expected a slot name a..d");
    c.Next();
    FTF_PROGRAM_RETURN_IF_ERROR(c.Expect("="));
    InitValue v;
    if (c.Peek() == "fresh") v = InitValue::kFresh;
    else if (c.Peek() == "None") v = InitValue::kNone;
    else if (c.Peek() == "empty") v = InitValue::kEmpty;
    else return c.Error("expected an initial value fresh, None or empty");
    c.Next();
    for (const auto& [name, unused] : raw.inits) {
      if (name == *s) return LineError(line, absl::StrFormat("slot %s given twice", SlotName(*s)));
    }
    raw.inits.emplace_back(*s, v);
    if (c.Peek() == ",") c.Next();
    else if (c.Peek() != ")") return c.Error("expected ',' or ')'");
  }
  c.Next();
  return c.ExpectEnd();
}

absl::Status Parser::ParseNames(Cursor& c, int line, bool builtins) {
  int& seen_line = builtins ? builtins_line_ : globals_line_;
  const char* what = builtins ? "builtins" : "globals";
  if (seen_line) return LineError(line, absl::StrFormat("second '%s' line (first on line %d)", what, seen_line));
  seen_line = line;
  uint16_t mask = 0;
  if (c.Peek() == "-") {
    c.Next();
  } else {
    while (!c.AtEnd()) {
      std::optional<int> g = GlobalOf(c.Peek());
      if (!g) return c.Error("expected a name g0..g7 or b0..b3, or '-' for none");
      if (builtins && !IsBuiltinName(*g)) {
        return c.Error("builtins can initially hold only b0..b3 (a g name can be stored there by an operation)");
      }
      if (mask & (1u << *g)) return c.Error("name listed twice");
      mask = static_cast<uint16_t>(mask | (1u << *g));
      c.Next();
    }
  }
  (builtins ? p_.world.builtins_present : p_.world.globals_present) = mask;
  return c.ExpectEnd();
}

}  // namespace ftf::program::text_internal
