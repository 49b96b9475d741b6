// text_parse_world.cc - the header lines of the text form: threads,
// schedule, bytes, type, object, globals, builtins (text.h).

#include <string>
#include <utility>

#include "program/layout.h"
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

// type TN [(TK)] (a, b:OBJ, ..., __dict__, __weakref__) [__del__]: the slots the type
// adds; the base's come first in the layout (resolved in FinishTypes).
absl::Status Parser::ParseType(Cursor& c, int line) {
  std::optional<int> t = Indexed(c.Peek(), "T", kNumTypes);
  if (!t) return c.Error("expected a type T0..T3");
  c.Next();
  RawType& type = types_[*t];
  if (type.line) return LineError(line, absl::StrFormat("T%d defined twice (first on line %d)", *t, type.line));
  type.line = line;
  FTF_PROGRAM_RETURN_IF_ERROR(c.Expect("("));
  if (std::optional<int> base = IndexedName(c.Peek(), "T")) {
    if (*base >= *t) {
      return c.Error(absl::StrFormat("T%d can derive only from an earlier type (T0..T%d) or object", *t, *t - 1));
    }
    c.Next();
    type.base = *base;
    FTF_PROGRAM_RETURN_IF_ERROR(c.Expect(")"));
    FTF_PROGRAM_RETURN_IF_ERROR(c.Expect("("));
  }
  unsigned seen = 0;
  while (c.Peek() != ")") {
    if (c.Peek() == "__dict__" || c.Peek() == "__weakref__") {
      bool& flag = c.Peek() == "__dict__" ? type.dict : type.weakref;
      if (flag) return LineError(line, absl::StrFormat("%s listed twice", c.Peek()));
      flag = true;
      c.Next();
    } else {
      std::optional<int> s = SlotOf(c.Peek());
      if (!s) return c.Error("expected a slot name a..d, __dict__ or __weakref__");
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
      type.own.push_back(spec);
    }
    if (c.Peek() == ",") c.Next();
    else if (c.Peek() != ")") return c.Error("expected ',' or ')'");
  }
  c.Next();
  if (c.Peek() == "__del__") {  // a finalizer (TypeSpec::finalizer)
    type.finalizer = true;
    c.Next();
  }
  return c.ExpectEnd();
}

// Builds the world's types in index order (a base is an earlier type), with
// CPython's rules where the bytes cannot express a layout: a subtype may not
// add a slot or a __dict__ / __weakref__ it already has (type_new_visit_slots:
// "we already got one"), and a type deriving from object adds a slot.
absl::Status Parser::FinishTypes() {
  for (int t = 0; t < kNumTypes; ++t) {
    const RawType& raw = types_[t];
    if (!raw.line) continue;  // the default world's type
    TypeSpec type;
    type.base = static_cast<int8_t>(raw.base);
    type.finalizer = raw.finalizer;
    if (raw.base != kBaseObject) {
      const TypeSpec& base = p_.world.types[raw.base];
      type.slots = base.slots;
      type.dict = base.dict;
      type.weakref = base.weakref;
      type.finalizer = type.finalizer || base.finalizer;  // tp_finalize is inherited
      if ((raw.dict && base.dict) || (raw.weakref && base.weakref)) {
        return LineError(raw.line, absl::StrFormat("T%d already has %s from its base T%d", t,
                                                   raw.dict && base.dict ? "__dict__" : "__weakref__", raw.base));
      }
    } else if (raw.own.empty()) {
      return LineError(raw.line, absl::StrFormat("T%d derives from object and needs 1..%d slots", t, kNumSlotNames));
    }
    for (const SlotSpec& s : raw.own) {
      if (type.IndexOf(s.name) >= 0) {
        return LineError(raw.line, absl::StrFormat("T%d: slot %s is already in its base T%d", t, SlotName(s.name),
                                                   raw.base));
      }
      type.slots.push_back(s);
    }
    if (type.slots.size() > kNumSlotNames) {
      return LineError(raw.line, absl::StrFormat("T%d has %d slots with its base's (at most %d)", t, type.slots.size(),
                                                 kNumSlotNames));
    }
    type.dict = type.dict || raw.dict;
    type.weakref = type.weakref || raw.weakref;
    p_.world.types[t] = std::move(type);
  }
  return absl::OkStatus();
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

absl::Status Parser::ParseDeferred(Cursor& c, int line) {
  if (deferred_line_) {
    return LineError(line, absl::StrFormat("second 'deferred' line (first on line %d)", deferred_line_));
  }
  deferred_line_ = line;
  uint8_t mask = 0;
  if (c.Peek() == "-") {
    c.Next();
    return c.ExpectEnd();
  }
  while (!c.AtEnd()) {
    std::optional<int> g = Indexed(c.Peek(), "g", kNumGlobalNames);
    if (!g) return c.Error("expected a name g0..g7 (or '-' for none)");
    if (mask & (1u << *g)) return c.Error("name listed twice");
    mask = static_cast<uint8_t>(mask | (1u << *g));
    c.Next();
  }
  p_.world.deferred_globals = mask;
  return absl::OkStatus();
}

// owner globals|builtins main|tN
absl::Status Parser::ParseOwner(Cursor& c, int line) {
  int which;
  if (c.Peek() == "globals") which = 0;
  else if (c.Peek() == "builtins") which = 1;
  else return c.Error("expected 'globals' or 'builtins'");
  c.Next();
  if (owner_line_[which]) {
    return LineError(line, absl::StrFormat("second 'owner %s' line (first on line %d)", which ? "builtins" : "globals",
                                           owner_line_[which]));
  }
  owner_line_[which] = line;
  if (c.Peek() == "main") {
    owner_thread_[which] = -1;
  } else if (std::optional<int> t = Indexed(c.Peek(), "t", layout::kOwnerRange - 1)) {
    owner_thread_[which] = *t;
  } else {
    return c.Error(absl::StrFormat("expected 'main' or a thread t0..t%d", layout::kOwnerRange - 2));
  }
  c.Next();
  return c.ExpectEnd();
}

}  // namespace ftf::program::text_internal
