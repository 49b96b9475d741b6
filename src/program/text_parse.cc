// text_parse.cc - ParseText(): the text form (text.h) back to a Program.
//
// Line oriented: every line is lexed (text_lexer.h) and dispatched on its
// first token. Operation bodies are matched against the same patterns the
// printer uses (OpInfo::text), so printing and parsing cannot drift apart.
// Header lines are parsed in text_parse_world.cc.

#include <string>
#include <utility>
#include <vector>

#include "program/layout.h"
#include "program/text.h"
#include "program/text_parser.h"

namespace ftf::program {
namespace text_internal {
namespace {

std::optional<Target> TargetOf(std::string_view tok) {
  if (auto o = Indexed(tok, "o", kNumObjects)) return Target{Target::Kind::kObject, static_cast<uint8_t>(*o)};
  if (auto r = Indexed(tok, "r", kNumRegisters)) return Target{Target::Kind::kRegister, static_cast<uint8_t>(*r)};
  return std::nullopt;
}

std::optional<Value> ValueOf(std::string_view tok) {
  if (tok == "fresh") return Value{Value::Kind::kFresh, 0};
  if (tok == "None") return Value{Value::Kind::kNone, 0};
  if (tok == "fresh_fn") return Value{Value::Kind::kFreshFn, 0};
  if (auto o = Indexed(tok, "o", kNumObjects)) return Value{Value::Kind::kObject, static_cast<uint8_t>(*o)};
  if (auto r = Indexed(tok, "r", kNumRegisters)) return Value{Value::Kind::kRegister, static_cast<uint8_t>(*r)};
  return std::nullopt;
}

// Indexed names out of range get a precise message instead of "unknown
// operation" (e.g. "o7 is out of range: objects are o0..o3").
absl::Status CheckIndexRanges(const Tokens& tokens, int line) {
  struct Family { const char* prefix; int count; const char* what; };
  static constexpr Family kFamilies[] = {
      {"o", kNumObjects, "objects"}, {"r", kNumRegisters, "registers"}, {"T", kNumTypes, "types"},
      {"g", kNumGlobalNames, "globals"}, {"b", kNumBuiltinNames, "builtins"}, {"s", kNumSites, "sites"},
      {"t", kMaxThreads, "threads"},
  };
  for (const std::string& tok : tokens) {
    if (tok.size() < 2 || tok[1] < '0' || tok[1] > '9') continue;  // cheap filter: letter + digit
    for (const Family& f : kFamilies) {
      if (tok[0] != f.prefix[0]) continue;
      std::optional<int> i = IndexedName(tok, f.prefix);
      if (i && *i >= f.count) {
        return LineError(line, absl::StrFormat("%s is out of range: %s are %s0..%s%d", tok, f.what, f.prefix,
                                               f.prefix, f.count - 1));
      }
    }
  }
  return absl::OkStatus();
}

// ---- operation patterns ----------------------------------------------------

struct Pattern {
  OpCode code;
  Tokens tokens;
};

const std::vector<Pattern>& Patterns() {
  static const std::vector<Pattern>* const kPatterns = [] {
    auto* v = new std::vector<Pattern>;
    for (int c = 0; c < kNumOpCodes; ++c) {
      const OpCode code = static_cast<OpCode>(c);
      v->push_back(Pattern{code, *Lex(GetOpInfo(code).text, /*patterns=*/true)});
    }
    return v;
  }();
  return *kPatterns;
}

bool Match(const Pattern& pat, const Tokens& body, Op& op) {
  if (pat.tokens.size() != body.size()) return false;
  op = Op{};
  op.code = pat.code;
  for (size_t i = 0; i < body.size(); ++i) {
    const std::string& want = pat.tokens[i];
    const std::string& tok = body[i];
    if (want.size() != 2 || want[0] != '%') {
      if (want != tok) return false;
      continue;
    }
    switch (want[1]) {
      case 't': { auto t = TargetOf(tok); if (!t) return false; op.target = *t; break; }
      case 'T': { auto t = Indexed(tok, "T", kNumTypes); if (!t) return false; op.type = static_cast<uint8_t>(*t); break; }
      case 's': { auto s = SlotOf(tok); if (!s) return false; op.slot = static_cast<uint8_t>(*s); break; }
      case 'g': { auto g = GlobalOf(tok); if (!g) return false; op.name = static_cast<uint8_t>(*g); break; }
      case 'v': { auto v = ValueOf(tok); if (!v) return false; op.value = *v; break; }
      case 'r': { auto r = Indexed(tok, "r", kNumRegisters); if (!r) return false; op.reg = static_cast<uint8_t>(*r); break; }
      case 'k': { auto k = Indexed(tok, "t", kMaxThreads); if (!k) return false; op.thread = static_cast<uint8_t>(*k); break; }
      default: return false;
    }
  }
  return true;
}
}  // namespace

absl::StatusOr<Program> Parser::Parse(std::string_view text) {
  p_.world = DefaultWorld();
  int line = 0;
  bool seen_version = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line;
    const std::string_view stripped = StripLine(raw);
    if (stripped.empty()) continue;
    absl::StatusOr<Tokens> tokens = Lex(stripped);
    if (!tokens.ok()) return LineError(line, std::string(tokens.status().message()));
    if (!seen_version) {
      if (tokens->size() >= 2 && (*tokens)[0] == "ftfuzz" && (*tokens)[1] == "program") {
        // v1 (18-byte worlds) is read as v2: its lines mean the same.
        if (tokens->size() != 3 || ((*tokens)[2] != "v1" && (*tokens)[2] != "v2")) {
          return LineError(line, absl::StrFormat("unsupported version line '%s' (this build reads '%s')",
                                                 std::string(stripped), kTextVersionLine));
        }
        seen_version = true;
        continue;
      }
      return LineError(line, absl::StrFormat("a text program starts with the line '%s'", kTextVersionLine));
    }
    FTF_PROGRAM_RETURN_IF_ERROR(ParseLine(*tokens, stripped, line));
  }
  if (!seen_version) {
    return absl::InvalidArgumentError(
        absl::StrFormat("line %d: empty text program (it starts with the line '%s')", line + 1, kTextVersionLine));
  }
  return Finish();
}

absl::Status Parser::ParseLine(const Tokens& tokens, std::string_view text, int line) {
  const std::string& head = tokens[0];
  Cursor c(tokens, line);
  c.Next();
  if (head == "threads") return ParseThreads(c, line);
  if (head == "schedule") return ParseSchedule(c, line);
  if (head == "bytes") return ParseBytes(c, line);
  if (head == "type") return ParseType(c, line);
  if (head == "object") return ParseObject(c, line);
  if (head == "globals") return ParseNames(c, line, /*builtins=*/false);
  if (head == "builtins") return ParseNames(c, line, /*builtins=*/true);
  if (head == "deferred") return ParseDeferred(c, line);
  if (head == "owner") return ParseOwner(c, line);
  if (IndexedName(head, "t")) return ParseOp(tokens, text, line);
  return LineError(line, absl::StrFormat("unknown line starting with '%s' (expected threads, schedule, bytes, type, "
                                         "object, globals, builtins, deferred, owner or an operation 'tN: ...')", head));
}

absl::Status Parser::ParseOp(const Tokens& tokens, std::string_view text, int line) {
  FTF_PROGRAM_RETURN_IF_ERROR(CheckIndexRanges(tokens, line));
  const int thread = *IndexedName(tokens[0], "t");
  size_t body_at = 2;
  std::optional<int> site;
  if (tokens.size() > 2 && IndexedName(tokens[1], "s") && tokens[2] == ":") {
    site = IndexedName(tokens[1], "s");
    body_at = 3;
  } else if (tokens.size() < 2 || tokens[1] != ":") {
    return LineError(line, absl::StrFormat("expected ':' after '%s' (or '%s sN:' for an instruction site)",
                                           tokens[0], tokens[0]));
  }
  const Tokens body(tokens.begin() + body_at, tokens.end());
  if (body.empty()) return LineError(line, "missing operation after ':'");
  // The operation as written (after the first ':'), for messages.
  std::string_view body_text = text.substr(text.find(':') + 1);
  while (!body_text.empty() && body_text.front() == ' ') body_text.remove_prefix(1);
  for (const Pattern& pat : Patterns()) {
    Op op;
    if (!Match(pat, body, op)) continue;
    const bool wants_site = UsesField(op.code, kFieldSite);
    if (wants_site && !site) {
      return LineError(line, absl::StrFormat("%s goes through an instruction site: write 't%d sN: %s'",
                                             GetOpInfo(op.code).mnemonic, thread, OpText(op)));
    }
    if (!wants_site && site) {
      return LineError(line, absl::StrFormat("%s has no instruction site: write 't%d: %s'",
                                             GetOpInfo(op.code).mnemonic, thread, OpText(op)));
    }
    if (site) op.site = static_cast<uint8_t>(*site);
    ops_[thread].push_back(RawOp{line, op});
    return absl::OkStatus();
  }
  return LineError(line, absl::StrFormat("unknown operation '%s' (the forms are listed in docs/input-format.md)",
                                         std::string(body_text)));
}

absl::StatusOr<Program> Parser::Finish() {
  FTF_PROGRAM_RETURN_IF_ERROR(FinishTypes());
  // Objects not defined keep the default world's; defined ones are checked
  // against their type now that every type line has been read.
  for (int o = 0; o < kNumObjects; ++o) {
    const RawObject& raw = objects_[o];
    if (!raw.line) {
      // Default object oN = TN(all fresh), sized by the (possibly redefined) type.
      ObjectSpec& obj = p_.world.objects[o];
      obj.slots.assign(p_.world.types[obj.type].slots.size(), InitValue::kFresh);
      continue;
    }
    const TypeSpec& type = p_.world.types[raw.type];
    ObjectSpec obj;
    obj.type = static_cast<uint8_t>(raw.type);
    obj.slots.assign(type.slots.size(), InitValue::kEmpty);
    for (const auto& [name, value] : raw.inits) {
      const int index = type.IndexOf(name);
      if (index < 0) {
        return LineError(raw.line, absl::StrFormat("T%d has no slot %s", raw.type, SlotName(name)));
      }
      obj.slots[index] = value;
    }
    p_.world.objects[o] = std::move(obj);
  }

  int used = 0, used_line = 0;
  for (int t = 0; t < kMaxThreads; ++t) {
    if (!ops_[t].empty()) used = t + 1, used_line = ops_[t].front().line;
  }
  // A dict owner is a thread of the program, with or without operations.
  for (int which = 0; which < 2; ++which) {
    if (owner_thread_[which] + 1 > used) used = owner_thread_[which] + 1, used_line = owner_line_[which];
  }
  if (!threads_line_) {
    if (used > limits_.max_threads) {
      return LineError(used_line, absl::StrFormat("t%d exceeds the limit of %d threads", used - 1, limits_.max_threads));
    }
    p_.threads.resize(std::max(used, 1));
  }
  for (int which = 0; which < 2; ++which) {
    const int t = owner_thread_[which];
    if (t >= static_cast<int>(p_.threads.size())) {
      return LineError(owner_line_[which], absl::StrFormat("owner t%d but 'threads %d' (line %d) declares t0..t%d", t,
                                                           p_.threads.size(), threads_line_, p_.threads.size() - 1));
    }
    const int shift = which ? layout::kBuiltinsOwnerShift : layout::kGlobalsOwnerShift;
    p_.world.owners = static_cast<uint8_t>(p_.world.owners | ((t + 1) << shift));
  }
  for (int t = 0; t < kMaxThreads; ++t) {
    if (ops_[t].empty()) continue;
    if (t >= static_cast<int>(p_.threads.size())) {
      return LineError(ops_[t].front().line, absl::StrFormat("t%d used but 'threads %d' (line %d) declares t0..t%d", t,
                                                             p_.threads.size(), threads_line_, p_.threads.size() - 1));
    }
    if (static_cast<int>(ops_[t].size()) > limits_.max_ops_per_thread) {
      return LineError(ops_[t][limits_.max_ops_per_thread].line,
                       absl::StrFormat("t%d has more than %d operations (Limits::max_ops_per_thread)", t,
                                       limits_.max_ops_per_thread));
    }
    for (const RawOp& raw : ops_[t]) p_.threads[t].ops.push_back(raw.op);
  }
  if (absl::Status s = Validate(p_, limits_); !s.ok()) {
    return absl::InternalError(absl::StrCat("parsed program does not validate (parser bug): ", s.message()));
  }
  return std::move(p_);
}

}  // namespace text_internal

absl::StatusOr<Program> ParseText(std::string_view text, const Limits& limits) {
  return text_internal::Parser(limits).Parse(text);
}

bool LooksLikeText(std::string_view data) {
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    const std::string_view line = text_internal::StripLine(data.substr(0, nl));
    if (!line.empty()) return line.substr(0, 14) == "ftfuzz program";
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  return false;
}

}  // namespace ftf::program