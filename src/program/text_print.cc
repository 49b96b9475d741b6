// text_print.cc - ToText(): Program to its text form (text.h).

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "program/text.h"

namespace ftf::program {
namespace {

constexpr int kPrefixWidth = 7;   // "t0 s1: " and "t0:    " line up
constexpr int kCommentColumn = 40;

// The slots a type adds and its __dict__ / __weakref__ if it adds them; the
// base in parentheses when it is not object.
std::string TypeText(const World& w, int t) {
  const TypeSpec& type = w.types[t];
  const TypeSpec* base = type.base == kBaseObject ? nullptr : &w.types[type.base];
  std::vector<std::string> slots;
  for (size_t i = static_cast<size_t>(InheritedSlots(w, t)); i < type.slots.size(); ++i) {
    const SlotSpec& s = type.slots[i];
    // Py_T_OBJECT_EX is what Python-level __slots__ create, so it is the
    // unmarked default; _Py_T_OBJECT is marked.
    slots.push_back(s.kind == MemberKind::kObject ? SlotName(s.name) + ":OBJ" : SlotName(s.name));
  }
  if (type.dict && !(base && base->dict)) slots.push_back("__dict__");
  if (type.weakref && !(base && base->weakref)) slots.push_back("__weakref__");
  const std::string base_text = base ? absl::StrFormat("(T%d) ", type.base) : "";
  return absl::StrFormat("type T%d %s(%s)%s", t, base_text, absl::StrJoin(slots, ", "), type.finalizer && !(base && base->finalizer) ? " __del__" : "");
}

const char* InitText(InitValue v) {
  switch (v) {
    case InitValue::kEmpty: return "empty";
    case InitValue::kFresh: return "fresh";
    case InitValue::kNone: return "None";
  }
  return "?";
}

std::string ObjectText(int o, const ObjectSpec& obj, const World& w) {
  std::vector<std::string> inits;
  const TypeSpec& type = w.types[obj.type];
  for (size_t i = 0; i < obj.slots.size() && i < type.slots.size(); ++i) {
    inits.push_back(absl::StrCat(SlotName(type.slots[i].name), "=", InitText(obj.slots[i])));
  }
  return absl::StrFormat("object o%d = T%d(%s)", o, obj.type, absl::StrJoin(inits, ", "));
}

std::string NamesText(const char* keyword, uint16_t mask) {
  std::vector<std::string> names;
  for (int i = 0; i < kNumNames; ++i) {
    if (mask & (1u << i)) names.push_back(GlobalName(i));
  }
  return absl::StrCat(keyword, " ", names.empty() ? "-" : absl::StrJoin(names, " "));
}

}  // namespace

std::string OpText(const Op& op) {
  const std::string_view pattern = GetOpInfo(op.code).text;
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    switch (pattern[++i]) {
      case 't': out += TargetText(op.target); break;
      case 'T': absl::StrAppend(&out, "T", op.type); break;
      case 's': out += SlotName(op.slot); break;
      case 'g': out += GlobalName(op.name); break;
      case 'v': out += ValueText(op.value); break;
      case 'r': absl::StrAppend(&out, "r", op.reg); break;
      case 'k': absl::StrAppend(&out, "t", op.thread); break;
      default: out += '%'; out += pattern[i]; break;
    }
  }
  return out;
}

std::string OpLine(int thread, const Op& op) {
  std::string prefix = SiteOf(op) ? absl::StrFormat("t%d s%d:", thread, op.site) : absl::StrFormat("t%d:", thread);
  std::string line = absl::StrFormat("%-*s%s", kPrefixWidth, prefix + " ", OpText(op));
  if (static_cast<int>(line.size()) < kCommentColumn) line.resize(kCommentColumn, ' ');
  else line += "  ";
  absl::StrAppend(&line, "# ", GetOpInfo(op.code).what);
  return line;
}

std::string ToText(const Program& p) {
  std::string out;
  auto line = [&out](const std::string& s) { absl::StrAppend(&out, s, "\n"); };
  line(kTextVersionLine);
  line("# text form of an ftfuzz program (docs/input-format.md). Slots are Py_T_OBJECT_EX");
  line("# unless marked :OBJ (_Py_T_OBJECT). An operation line is  t<thread> [s<site>:] <op>;");
  line("# operations of a thread sharing family, name and site share one inline cache.");
  line(absl::StrFormat("threads %d", p.threads.size()));
  if (p.schedule.kind == ScheduleKind::kPct) {
    line(absl::StrFormat("schedule pct depth %d", p.schedule.pct_depth));
  } else {
    line("schedule direct");
  }
  constexpr size_t kBytesPerLine = 32;
  for (size_t i = 0; i < p.schedule.bytes.size(); i += kBytesPerLine) {
    std::string s = "bytes";
    for (size_t j = i; j < p.schedule.bytes.size() && j < i + kBytesPerLine; ++j) {
      absl::StrAppendFormat(&s, " %02x", p.schedule.bytes[j]);
    }
    line(s);
  }
  for (int t = 0; t < kNumTypes; ++t) line(TypeText(p.world, t));
  for (int o = 0; o < kNumObjects; ++o) line(ObjectText(o, p.world.objects[o], p.world));
  line(NamesText("globals", p.world.globals_present));
  line(NamesText("builtins", p.world.builtins_present));
  if (p.world.deferred_globals != 0) line(NamesText("deferred", p.world.deferred_globals));
  for (bool builtins : {false, true}) {
    const int owner = DictOwnerThread(p.world, builtins);
    if (owner >= 0) line(absl::StrFormat("owner %s t%d", builtins ? "builtins" : "globals", owner));
  }
  for (size_t t = 0; t < p.threads.size(); ++t) {
    line("");
    if (p.threads[t].ops.empty()) line(absl::StrFormat("# t%d has no operations", t));
    for (const Op& op : p.threads[t].ops) line(OpLine(static_cast<int>(t), op));
  }
  return out;
}

}  // namespace ftf::program
