// export_python_emit.cc - the generated part of an exported script: header,
// classes, world, instruction sites, operations, and what the model computed
// (see export_python.h, docs/export.md).

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "program/text.h"
#include "runner/runner.h"
#include "tools/export_python.h"

namespace ftf::tools {
namespace {

using program::Op;
using program::OpCode;

std::string Quote(const std::string& s) { return absl::StrCat("'", s, "'"); }

// Python names for the model's objects (for messages).
class Namer {
 public:
  void Name(int64_t id, std::string name) {
    if (id > 0 && !names_.count(id)) names_[id] = std::move(name);
  }
  std::string Dict() const {
    std::string out = "NAMES = {\n    0: 'None',\n";
    for (const auto& [id, n] : names_) absl::StrAppend(&out, "    ", id, ": ", Quote(n), ",\n");
    return out + "}\n";
  }

 private:
  std::map<int64_t, std::string> names_;
};

std::string SiteName(int t, const Op& op) {
  switch (op.code) {
    case OpCode::kStoreAttrSlot:
    case OpCode::kMoveToSlot:
      return absl::StrFormat("_site_t%d_store_%s_s%d", t, program::SlotName(op.slot), op.site);
    case OpCode::kLoadAttrSlot:
      return absl::StrFormat("_site_t%d_load_%s_s%d", t, program::SlotName(op.slot), op.site);
    case OpCode::kLoadGlobal:
      return absl::StrFormat("_site_t%d_global_%s_s%d", t, program::GlobalName(op.name), op.site);
    default: return "";
  }
}

std::string SiteDef(const Op& op) {
  switch (op.code) {
    case OpCode::kStoreAttrSlot:
    case OpCode::kMoveToSlot: return absl::StrCat("_store_site('", program::SlotName(op.slot), "')");
    case OpCode::kLoadAttrSlot: return absl::StrCat("_load_site('", program::SlotName(op.slot), "')");
    default: return absl::StrCat("_global_site('", program::GlobalName(op.name), "')");
  }
}

// Lines (indented 4) that bind `var` to a register's object or raise.
std::string Reg(const char* var, int t, int r) {
  return absl::StrFormat("    %s = W.R[%d][%d]\n    if %s is EMPTY:\n        raise _EmptyRegister\n", var, t, r, var);
}

std::string TargetLines(int t, const Op& op) {
  if (op.target.kind == program::Target::Kind::kObject) return absl::StrFormat("    x = W.O[%d]\n", op.target.index);
  return Reg("x", t, op.target.index);
}

// What a fresh_fn (and a deferred_globals initial value) is in Python.
constexpr const char* kFreshFnPython = "compile('pass', 'fresh_fn', 'exec')";

std::string ValueLines(int t, const Op& op, int64_t created) {
  switch (op.value.kind) {
    case program::Value::Kind::kObject: return absl::StrFormat("    v = W.O[%d]\n", op.value.index);
    case program::Value::Kind::kRegister: return Reg("v", t, op.value.index);
    case program::Value::Kind::kFresh:
      return created > 0 ? absl::StrFormat("    v = object()\n    W.OBJ[%d] = v\n", created) : "    v = object()\n";
    case program::Value::Kind::kNone: return "    v = None\n";
    case program::Value::Kind::kFreshFn:
      // A new code object: deferred reference counting in the free-threaded
      // build, like the model's fresh_fn, and, like it (and unlike a
      // function, which has a __dict__), no attribute can be set on it.
      return created > 0 ? absl::StrFormat("    v = %s\n    W.OBJ[%d] = v\n", kFreshFnPython, created)
                         : absl::StrCat("    v = ", kFreshFnPython, "\n");
  }
  return "    v = None\n";
}

std::string Gname(const Op& op) { return Quote(program::GlobalName(op.name)); }

// The body of one operation's function (after the target/value lines).
std::string Body(int t, const Op& op, int64_t created) {
  const std::string slot = program::SlotName(op.slot);
  const std::string site = SiteName(t, op);
  const std::string reg = absl::StrFormat("W.R[%d][%d]", t, op.reg);
  switch (op.code) {
    case OpCode::kNew:
      return absl::StrCat("    o = T", op.type, "()\n", created > 0 ? absl::StrCat("    W.OBJ[", created, "] = o\n") : "",
                          "    ", reg, " = o\n    return _NOLOAD\n");
    case OpCode::kStoreAttrSlot: return absl::StrCat("    ", site, "(x, v)\n    return _NOLOAD\n");
    case OpCode::kLoadAttrSlot: return absl::StrCat("    got = ", site, "(x)\n    ", reg, " = got\n    return got\n");
    case OpCode::kMoveToSlot:
      return absl::StrCat(Reg("v", t, op.reg), "    ", reg, " = EMPTY  # the store consumes the register\n    ", site,
                          "(x, v)\n    return _NOLOAD\n");
    case OpCode::kGetMember:
      return absl::StrCat("    got = getattr(x, '", slot, "')\n    ", reg, " = got\n    return got\n");
    case OpCode::kSetMember: return absl::StrCat("    setattr(x, '", slot, "', v)\n    return _NOLOAD\n");
    case OpCode::kDelMember: return absl::StrCat("    delattr(x, '", slot, "')\n    return _NOLOAD\n");
    case OpCode::kSetClass: return absl::StrCat("    x.__class__ = T", op.type, "\n    return _NOLOAD\n");
    case OpCode::kModifyType:
      return absl::StrCat("    T", op.type, "._ftf_modified = None  # type.__setattr__ calls PyType_Modified\n",
                          "    return _NOLOAD\n");
    case OpCode::kDrop:
      return absl::StrCat(Reg("v", t, op.reg), "    ", reg, " = EMPTY\n    return _NOLOAD\n");
    case OpCode::kLoadGlobal: return absl::StrCat("    got = ", site, "()\n    ", reg, " = got\n    return got\n");
    case OpCode::kGlobalStore: return absl::StrCat("    G[", Gname(op), "] = v\n    return _NOLOAD\n");
    case OpCode::kGlobalInsert: return absl::StrCat("    G.setdefault(", Gname(op), ", v)\n    return _NOLOAD\n");
    case OpCode::kGlobalDelete: return absl::StrCat("    del G[", Gname(op), "]\n    return _NOLOAD\n");
    case OpCode::kGlobalTempInsertDelete:  // two steps: see TempOp
      return "    return _NOLOAD\n";
    case OpCode::kGlobalPopItem:
      return absl::StrCat("    _, got = G.popitem()\n    ", reg, " = got\n    return got\n");
    case OpCode::kBuiltinStore: return absl::StrCat("    B[", Gname(op), "] = v\n    return _NOLOAD\n");
    case OpCode::kBuiltinDelete: return absl::StrCat("    del B[", Gname(op), "]\n    return _NOLOAD\n");
    case OpCode::kQuiescent: return "    pass  # quiescent: no Python-level equivalent (eval breaker, QSBR)\n    return _NOLOAD\n";
    case OpCode::kYield: return "    pass  # yield: a scheduling point only\n    return _NOLOAD\n";
    case OpCode::kStartThread:
      // The export starts every thread of a round together; a later start
      // changes no Python-visible result (docs/export.md).
      return absl::StrCat("    pass  # start t", op.thread,
                          ": every thread is already started (threading.Thread.start)\n    return _NOLOAD\n");
    case OpCode::kNewDict:
      return absl::StrCat("    o = {}\n", created > 0 ? absl::StrCat("    W.OBJ[", created, "] = o\n") : "", "    ", reg,
                          " = o\n    return _NOLOAD\n");
    case OpCode::kDictStore: return absl::StrCat("    x[", Gname(op), "] = v\n    return _NOLOAD\n");
    case OpCode::kDictLoad: return absl::StrCat("    got = x[", Gname(op), "]\n    ", reg, " = got\n    return got\n");
    case OpCode::kDictDelete: return absl::StrCat("    del x[", Gname(op), "]\n    return _NOLOAD\n");
    case OpCode::kGcCollect: return "    _gc_collect(W)  # gc.collect()\n    return _NOLOAD\n";
    case OpCode::kTypeSetFlags:
      return absl::StrCat("    collections.abc.Sequence.register(T", op.type,
                          ")  # _PyType_SetFlagsRecursive\n    return _NOLOAD\n");
    case OpCode::kTypeSetAbstract:
      return absl::StrCat("    T", op.type, ".__abstractmethods__ = frozenset()  # type_set_abstractmethods\n",
                          "    return _NOLOAD\n");
  }
  return "    return _NOLOAD\n";
}

// One operation's text as the text form prints it ("t0 s1: r2 = o0.a").
std::string OpText(const program::Program& p, int t, int i) {
  // Print a one-op program and pick its operation line: the text form is the
  // single source of truth for how an operation is written.
  program::Program one;
  one.world = p.world;
  one.threads.resize(static_cast<size_t>(t) + 1);
  one.threads[static_cast<size_t>(t)].ops.push_back(p.threads[static_cast<size_t>(t)].ops[static_cast<size_t>(i)]);
  for (absl::string_view line : absl::StrSplit(program::ToText(one), '\n')) {
    if (absl::StartsWith(line, absl::StrCat("t", t, " ")) || absl::StartsWith(line, absl::StrCat("t", t, ":"))) {
      const size_t hash = line.find('#');
      std::string s(line.substr(0, hash == absl::string_view::npos ? line.size() : hash));
      while (!s.empty() && s.back() == ' ') s.pop_back();
      return s;
    }
  }
  return GetOpInfo(p.threads[static_cast<size_t>(t)].ops[static_cast<size_t>(i)].code).mnemonic;
}

std::string PyStr(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string DictLiteral(const DictState& d) {
  std::vector<std::string> parts;
  for (const auto& [name, id] : d) {
    parts.push_back(absl::StrCat("(", Quote(name >= 0 ? program::GlobalName(name) : "_temp_key"), ", ", id, ")"));
  }
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

std::string OneLine(const ModelRun& run) {
  if (!run.finding) return "no result";
  std::string s = absl::StrCat(audit::FindingKindName(run.finding->kind), " at ", run.finding->Location(), ": ",
                               run.finding->message);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

std::string EmitPython(const program::Program& p, const ModelRun& run, const ExportOptions& options) {
  std::string s = "#!/usr/bin/env python3\n";
  absl::StrAppend(&s, "# ftfuzz export v1: generated by `ftf export --python`", options.source.empty() ? "" : " from ",
                  options.source, "\n#\n");
  absl::StrAppend(&s, R"(# The program (./ftfuzz decode prints the same text):
#
)");
  for (absl::string_view line : absl::StrSplit(program::ToText(p), '\n')) {
    absl::StrAppend(&s, line.empty() ? "#" : "#   ", line, "\n");
  }
  absl::StrAppend(&s, "#\n# Model run (variant ", run.variant, "): ", run.steps, " steps, trace hash ",
                  absl::StrFormat("%016x", run.trace_hash), ", ",
                  run.completed ? "completed"
                                : absl::StrCat("stopped: ", OneLine(run)),
                  ".\n# Operation order (", options.order == ExportOrder::kCommit ? "commit" : "completion",
                  "): the order in which the operations took effect in that run.\n");
  if (!run.completed) {
    absl::StrAppend(&s, "# The run stopped early: only the ", run.order.size(),
                    " operations it completed are run and checked, and there is no final state.\n");
  }
  absl::StrAppend(&s, R"(#
# Usage:
#   python3 OUT.py --serial     run the operations once, one by one in that order, and
#                               check every result against the model; if that order does not
#                               reproduce it, search the other orders the model's run allows
#                               (operations that overlapped in it, either way round);
#                               exit 1 if none does
#   python3 OUT.py [--loops N] [--overlap]
#                               one Python thread per logical thread, each operation waiting
#                               for its turn (with --overlap: for the previous one to start),
#                               N times; meant for a free-threaded build (python3.13t/3.14t)
#
# Mapping (docs/export.md):
#   STORE_ATTR/LOAD_ATTR site sN   a function of its own per (thread, name, site): `x.a = v`,
#                                  `x.a` (its own code object, so its own inline cache)
#   member_get/set/del             getattr / setattr / delattr (the generic path)
#   X.__class__ = T                the same; TypeError where layouts differ
#   type_modified(T)               T._ftf_modified = None (type.__setattr__ -> PyType_Modified)
#   LOAD_GLOBAL site sN            a function whose globals are G and builtins B (NameError)
#   globals/builtins ops           dict operations on G / B; popitem's value goes to the register
#   fresh                          object();   registers: W.R[thread][r], EMPTY when empty
#   fresh_fn                       compile('pass', 'fresh_fn', 'exec'): a new code object (deferred
#                                  reference counting, no settable attributes, like the model's)
#   gc_collect                     gc.collect() (automatic collection is off); a type marked
#                                  __del__ gets `__del__`: g7 = self, only inside gc_collect
# No Python-level equivalent (no-ops): quiescent (eval breaker, QSBR quiescent state), yield
# (a scheduling point); reference counting, biased counts, QSBR and specialization happen
# inside CPython and are not written out.
# Documented differences: a _Py_T_OBJECT member (":OBJ") is emulated by a data descriptor
# wrapping the slot's real member (Python's __slots__ only make Py_T_OBJECT_EX); a type
# with __dict__ gets a data descriptor raising AttributeError for each name a..d it has no
# slot for (the model does not keep instance dict contents); the
# `_temp_key` value is object() instead of the model's fresh object.
)");
  // The markers let a batch runner compile the fixed part once
  // (tests/tools/export_differential_test.cc); the script ignores them.
  absl::StrAppend(&s, "\n# --- ftfuzz prelude begin ---", PythonPrelude(), "# --- ftfuzz prelude end ---\n");

  // Types.
  absl::StrAppend(&s, "\n# The program's types (heap types with __slots__; a base is an earlier type).\n");
  for (int k = 0; k < program::kNumTypes; ++k) {
    const program::TypeSpec& ts = p.world.types[static_cast<size_t>(k)];
    const program::TypeSpec* base = ts.base == program::kBaseObject ? nullptr : &p.world.types[ts.base];
    const size_t first = static_cast<size_t>(program::InheritedSlots(p.world, k));
    std::vector<std::string> names;
    for (size_t i = first; i < ts.slots.size(); ++i) names.push_back(Quote(program::SlotName(ts.slots[i].name)));
    if (ts.dict && !(base && base->dict)) names.push_back(Quote("__dict__"));
    if (ts.weakref && !(base && base->weakref)) names.push_back(Quote("__weakref__"));
    absl::StrAppend(&s, "\n\nclass T", k, base ? absl::StrCat("(T", ts.base, ")") : "", ":\n    __slots__ = (",
                    absl::StrJoin(names, ", "), names.size() == 1 ? ",)\n" : ")\n");
    // A subtype inherits its base's __del__.
    if (ts.finalizer && !(base && base->finalizer)) absl::StrAppend(&s, "    __del__ = _finalizer\n");
    for (size_t i = first; i < ts.slots.size(); ++i) {
      const program::SlotSpec& sl = ts.slots[i];
      if (sl.kind != program::MemberKind::kObject) continue;
      const std::string n = program::SlotName(sl.name);
      absl::StrAppend(&s, "\n\nT", k, ".", n, " = _ObjMember(T", k, ".__dict__['", n, "'])  # _Py_T_OBJECT\n");
    }
    if (ts.dict && !(base && base->dict)) {
      // The model has no instance dict contents: a name that is not a slot
      // stays an AttributeError, as for a type without __dict__.
      for (int n = 0; n < program::kNumSlotNames; ++n) {
        if (ts.IndexOf(n) >= 0) continue;
        const std::string name = program::SlotName(n);
        absl::StrAppend(&s, "T", k, ".", name, " = _NoAttr('", name, "')  # not in the instance __dict__\n");
      }
    }
  }
  absl::StrAppend(&s, "\n\nTYPES = (T0, T1, T2, T3)\nVARIANT = ", PyStr(run.variant), "\nNTHREADS = ",
                  p.threads.size(), "\nLOOPS = ", options.loops, "\n");

  // Names of the model's objects, and the world as the model built it.
  Namer namer;
  std::string build = "\n\ndef build():\n    \"\"\"The world as the model's set-up built it.\"\"\"\n"
                      "    W = World()\n    W.OBJ = {}\n";
  for (int i = 0; i < program::kNumObjects; ++i) {
    const ObjectState& os = run.initial.objects[static_cast<size_t>(i)];
    const int64_t id = run.object_ids[static_cast<size_t>(i)];
    namer.Name(id, absl::StrCat("o", i));
    absl::StrAppend(&build, "    o", i, " = T", os.type, "()\n    W.OBJ[", id, "] = o", i, "\n");
    const program::TypeSpec& ts = p.world.types[static_cast<size_t>(os.type)];
    for (size_t k = 0; k < os.slots.size() && k < ts.slots.size(); ++k) {
      const std::string n = program::SlotName(ts.slots[k].name);
      const int64_t v = os.slots[k];
      if (v < 0) continue;
      if (v == kNoneId) {
        absl::StrAppend(&build, "    o", i, ".", n, " = None\n");
        continue;
      }
      namer.Name(v, absl::StrCat("o", i, ".", n, "@start"));
      absl::StrAppend(&build, "    W.OBJ[", v, "] = o", i, ".", n, " = object()\n");
    }
  }
  absl::StrAppend(&build, "    W.O = [o0, o1, o2, o3]\n    W.R = [[EMPTY] * 4 for _ in range(NTHREADS)]\n",
                  "    G.clear()\n    B.clear()\n");
  for (int which = 0; which < 2; ++which) {
    const DictState& d = which == 0 ? run.initial.globals : run.initial.builtins;
    const char* dict = which == 0 ? "G" : "B";
    for (const auto& [name, id] : d) {
      const std::string key = name >= 0 ? program::GlobalName(name) : "_temp_key";
      if (id > 0) namer.Name(id, absl::StrCat(which == 0 ? "globals[" : "builtins[", key, "]@start"));
      // world deferred_globals: g<i> starts as a function (deferred refcount).
      const bool fn = which == 0 && name >= 0 && name < 8 && (p.world.deferred_globals & (1u << name)) != 0;
      absl::StrAppend(&build, "    ", dict, "['", key, "'] = ",
                      id > 0 ? absl::StrCat("W.OBJ[", id, "] = ", fn ? kFreshFnPython : "object()") : "None", "\n");
    }
  }
  absl::StrAppend(&build, "    return W\n");
  absl::StrAppend(&s, build);

  // Instruction sites and operations.
  std::set<std::string> sites;
  std::string site_defs = "\n\n# Instruction sites: one function (one code object, one inline cache) each.\n";
  std::string ops = "\n";
  std::string table = "\n\nOPS = [\n";
  std::string text = "\nTEXT = [\n";
  for (size_t t = 0; t < p.threads.size(); ++t) {
    std::vector<std::string> fns;
    std::vector<std::string> texts;
    for (size_t i = 0; i < p.threads[t].ops.size(); ++i) {
      const Op& op = p.threads[t].ops[i];
      const int ti = static_cast<int>(t);
      const std::string site = SiteName(ti, op);
      if (!site.empty() && sites.insert(site).second) absl::StrAppend(&site_defs, site, " = ", SiteDef(op), "\n");
      const OpRecord* rec = t < run.ops.size() && i < run.ops[t].size() ? &run.ops[t][i] : nullptr;
      const int64_t created = rec != nullptr ? rec->created : kNoObject;
      if (created > 0) {
        namer.Name(created, absl::StrCat(op.code == OpCode::kNew                       ? absl::StrCat("T", op.type, "()")
                                         : op.code == OpCode::kNewDict                ? std::string("dict()")
                                         : op.code == OpCode::kGlobalTempInsertDelete ? std::string("globals[_temp_key]")
                                                                                      : std::string("fresh"),
                                         "@t",
                                         t, "#", i));
      }
      const std::string fn = absl::StrFormat("_op_t%d_%d", t, i);
      const std::string optext = OpText(p, ti, static_cast<int>(i));
      texts.push_back(PyStr(optext));
      fns.push_back(fn);
      if (op.code == OpCode::kGlobalTempInsertDelete) {
        // Two separate dict mutations (two critical sections in the model,
        // two bytecodes in Python): other operations may run between them.
        absl::StrAppend(&ops, "\n\ndef ", fn, "_insert(W):\n    \"\"\"", optext,
                        "  (first half: the insert)\"\"\"\n    v = object()\n",
                        created > 0 ? absl::StrCat("    W.OBJ[", created, "] = v\n") : "",
                        "    G['_temp_key'] = v\n    return _NOLOAD\n",
                        "\n\ndef ", fn, "_delete(W):\n    \"\"\"", optext,
                        "  (second half: the delete)\"\"\"\n    if OPTIONS['lenient_temp']:\n"
                        "        G.pop('_temp_key', None)  # the model ignores a missing key here\n"
                        "    else:\n        del G['_temp_key']\n    return _NOLOAD\n");
        fns.back() = absl::StrCat("(", fn, "_insert, ", fn, "_delete)");
        continue;
      }
      absl::StrAppend(&ops, "\n\ndef ", fn, "(W):\n    \"\"\"", optext, "  (", GetOpInfo(op.code).mnemonic, ")\"\"\"\n");
      if (program::UsesField(op.code, program::kFieldTarget)) absl::StrAppend(&ops, TargetLines(ti, op));
      if (program::UsesField(op.code, program::kFieldValue)) absl::StrAppend(&ops, ValueLines(ti, op, created));
      absl::StrAppend(&ops, Body(ti, op, created));
    }
    absl::StrAppend(&table, "    [", absl::StrJoin(fns, ", "), "],\n");
    absl::StrAppend(&text, "    [", absl::StrJoin(texts, ", "), "],\n");
  }
  absl::StrAppend(&s, site_defs, ops, table, "]\n", text, "]\n");

  // What the model computed.
  std::vector<std::string> order;
  std::string expect = "\n# What the model's run computed, per operation: (result, loaded object id or -1).\nEXPECT = {\n";
  std::string msg =
      "\n# The error message CPython gives for each error the model raised (a regular expression).\nMSG = {\n";
  for (const auto& [t, i] : run.order) {
    if (p.threads[static_cast<size_t>(t)].ops[static_cast<size_t>(i)].code == OpCode::kGlobalTempInsertDelete) {
      order.push_back(absl::StrFormat("(%d, %d, 1), (%d, %d, 2)", t, i, t, i));
    } else {
      order.push_back(absl::StrFormat("(%d, %d, 0)", t, i));
    }
    const runner::Observation& o = run.ops[static_cast<size_t>(t)][static_cast<size_t>(i)].obs;
    absl::StrAppend(&expect, "    (", t, ", ", i, "): (", Quote(runner::ObservationResultName(o.result)), ", ",
                    o.result == runner::Observation::Result::kOk ? o.loaded_id : -1, "),\n");
    const std::string pattern =
        ExpectedErrorPattern(p.threads[static_cast<size_t>(t)].ops[static_cast<size_t>(i)], o.result);
    if (!pattern.empty()) absl::StrAppend(&msg, "    (", t, ", ", i, "): ", PyStr(pattern), ",\n");
  }
  // Each executed operation's span in the model's run, in half-steps:
  // [2 * first step, 2 * last step], or a point right after the previous
  // operation of its thread for one that made no scheduling point.
  std::string span = "\n# Per operation: (start, end) in the model's run, in half-steps (linearize).\nSPAN = {\n";
  for (const auto& thread_ops : run.ops) {
    uint64_t prev = 0;
    for (const OpRecord& rec : thread_ops) {
      if (!rec.executed) break;
      uint64_t a = 2 * prev + 1;
      uint64_t b = a;
      if (rec.first_step != 0) {
        a = 2 * rec.first_step;
        b = 2 * rec.last_step;
        prev = rec.last_step;
      }
      absl::StrAppend(&span, "    (", rec.thread, ", ", rec.index, "): (", a, ", ", b, "),\n");
    }
  }
  absl::StrAppend(&s,
                  "\n# The operations (thread, index, part) in the order they took effect in the model's run;\n"
                  "# part 0 = the whole operation, 1 and 2 = the halves of a two-step one.\nORDER = [",
                  absl::StrJoin(order, ", "), "]\n", expect, "}\n", msg, "}\n", span, "}\nSEARCH_BUDGET = 20000\n");
  if (run.completed) {
    std::string objs = "[\n";
    for (int i = 0; i < program::kNumObjects; ++i) {
      const ObjectState& os = run.final_state.objects[static_cast<size_t>(i)];
      std::vector<std::string> slots;
      const program::TypeSpec& ts = p.world.types[static_cast<size_t>(os.type < 0 ? 0 : os.type)];
      for (size_t k = 0; k < os.slots.size() && k < ts.slots.size(); ++k) {
        slots.push_back(absl::StrCat("(", Quote(program::SlotName(ts.slots[k].name)), ", ", os.slots[k], ")"));
      }
      absl::StrAppend(&objs, "    (", os.type, ", [", absl::StrJoin(slots, ", "), "]),\n");
    }
    absl::StrAppend(&s, "# Final state: per object (type index, [(slot, id)]), dicts in order; id -1 = empty.\n",
                    "FINAL_OBJECTS = ", objs, "]\nFINAL_GLOBALS = ", DictLiteral(run.final_state.globals),
                    "\nFINAL_BUILTINS = ", DictLiteral(run.final_state.builtins), "\n");
  } else {
    absl::StrAppend(&s, "# The model's run stopped early: no final state to check.\n",
                    "FINAL_OBJECTS = FINAL_GLOBALS = FINAL_BUILTINS = None\n");
  }
  absl::StrAppend(&s, "\n", namer.Dict(), PythonMain());
  return s;
}

std::string ExportPython(const program::Program& p, const ExportOptions& options, ModelRunner& runner) {
  ModelRun run = runner.Run(p, options.variant, options.order);
  return EmitPython(p, run, options);
}

}  // namespace ftf::tools
