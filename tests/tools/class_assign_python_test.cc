// __class__ assignment in the model against the real interpreters, for every
// pair of types of every world in a small space (all combinations): three
// types, each deriving from object or from an earlier one, adding any of
// the slots (), (a), (b), (a, b) its base lacks, and __dict__ / __weakref__
// when its base has none. The model's answer is core::CompatibleForAssignment
// on the types runner::World builds (what SET_CLASS runs); it must equal
// program::LayoutCompatible (the rule written over specs) and what
// `o.__class__ = T` does in CPython:
//   * the free-threaded 3.13.5 built by `./ftfuzz cpython` (the rule the
//     model follows: Objects/typeobject.c, compatible_for_assignment), on
//     every world: exactly;
//   * the installed python3: exactly on worlds without __weakref__. 3.11
//     and older lay a __weakref__ pointer out inside the object, after the
//     slots the type adds, so there a type that adds both slots and
//     __weakref__ is compatible with nothing but itself and its `()`
//     subtypes (same_slots_added's size check fails): every difference must
//     be of that kind (docs/cpython-model.md §22).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/class_assign.h"
#include "core/type.h"
#include "program/program.h"
#include "runner/world.h"
#include "sched/fiber_executor.h"
#include "tools_test_util.h"

namespace ftf::tools {
namespace {

namespace fs = std::filesystem;
using program::SlotSpec;
using testing::FreeThreadedPython;
using program::TypeSpec;
using program::World;

constexpr int kTypes = 3;  // T0..T2 vary; T3 stays the default world's

// The own-slot choices: subsets of {a, b}.
const std::vector<std::vector<uint8_t>> kOwn = {{}, {0}, {1}, {0, 1}};

void Enumerate(World& w, int t, std::vector<World>& out) {
  if (t == kTypes) {
    for (program::ObjectSpec& o : w.objects) o.slots.assign(w.types[o.type].slots.size(), program::InitValue::kFresh);
    out.push_back(w);
    return;
  }
  for (int base = program::kBaseObject; base < t; ++base) {
    const TypeSpec* b = base == program::kBaseObject ? nullptr : &w.types[base];
    for (const std::vector<uint8_t>& own : kOwn) {
      if (b == nullptr && own.empty()) continue;  // a type deriving from object adds a slot
      TypeSpec type;
      type.base = static_cast<int8_t>(base);
      if (b != nullptr) type.slots = b->slots;
      bool clash = false;
      for (uint8_t n : own) {
        clash = clash || type.IndexOf(n) >= 0;
        type.slots.push_back(SlotSpec{n, program::MemberKind::kObjectEx});
      }
      if (clash) continue;
      for (int extras = 0; extras < 4; ++extras) {
        const bool add_dict = (extras & 1) != 0, add_weakref = (extras & 2) != 0;
        if ((add_dict && b != nullptr && b->dict) || (add_weakref && b != nullptr && b->weakref)) continue;
        type.dict = add_dict || (b != nullptr && b->dict);
        type.weakref = add_weakref || (b != nullptr && b->weakref);
        w.types[t] = type;
        Enumerate(w, t + 1, out);
      }
    }
  }
}

// The class statements of world w, then one line: '1' / '0' per ordered
// pair (old, new) of T0..T2, old-major.
std::string PythonFor(const World& w) {
  std::string s;
  for (int t = 0; t < kTypes; ++t) {
    const TypeSpec& type = w.types[t];
    const TypeSpec* b = type.base == program::kBaseObject ? nullptr : &w.types[type.base];
    std::vector<std::string> names;
    for (size_t i = static_cast<size_t>(program::InheritedSlots(w, t)); i < type.slots.size(); ++i) {
      names.push_back(absl::StrCat("'", program::SlotName(type.slots[i].name), "'"));
    }
    if (type.dict && !(b && b->dict)) names.push_back("'__dict__'");
    if (type.weakref && !(b && b->weakref)) names.push_back("'__weakref__'");
    absl::StrAppend(&s, "class T", t, b ? absl::StrCat("(T", type.base, ")") : "", ":\n    __slots__ = (",
                    absl::StrJoin(names, ", "), names.size() == 1 ? ",)\n" : ")\n");
  }
  absl::StrAppend(&s, "out(T0, T1, T2)\n");
  return s;
}

constexpr char kPrelude[] = R"(import sys
def assign(old, new):
    o = object.__new__(old)
    try:
        o.__class__ = new
        return '1'
    except TypeError:
        return '0'
def out(*ts):
    sys.stdout.write(''.join(assign(a, b) for a in ts for b in ts) + '\n')
)";

// One line per world from `python`, or an empty vector if it could not run.
std::vector<std::string> RunPython(const std::string& python, const std::vector<World>& worlds) {
  const fs::path script = fs::temp_directory_path() / absl::StrCat("ftf_class_assign_", ::getpid(), ".py");
  {
    std::ofstream f(script);
    f << kPrelude;
    for (const World& w : worlds) f << PythonFor(w);
  }
  std::vector<std::string> lines;
  FILE* pipe = popen(absl::StrCat(python, " ", script.string(), " 2>&1").c_str(), "r");
  if (pipe == nullptr) return lines;
  char buf[256];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    std::string l(buf);
    while (!l.empty() && l.back() == '\n') l.pop_back();
    lines.push_back(l);
  }
  pclose(pipe);
  fs::remove(script);
  return lines;
}

// The model's answers: one string per world, as RunPython's.
std::vector<std::string> ModelAnswers(const std::vector<World>& worlds) {
  sched::FiberExecutor ex;
  runner::World rw(ex);
  std::vector<std::string> out;
  for (const World& w : worlds) {
    program::Program p = program::EmptyProgram();
    p.world = w;
    rw.Build(p, core::LockedVariant(), /*record=*/false);
    std::string line;
    for (int a = 0; a < kTypes; ++a) {
      for (int b = 0; b < kTypes; ++b) {
        const bool model = core::CompatibleForAssignment(rw.type(a), rw.type(b));
        EXPECT_EQ(model, program::LayoutCompatible(w, a, b)) << PythonFor(w) << "T" << a << " -> T" << b;
        line += model ? '1' : '0';
      }
    }
    out.push_back(line);
    EXPECT_FALSE(rw.TearDown().has_value());
  }
  return out;
}

// The types a 3.11 layout makes incompatible: one that adds both slots and
// __weakref__, or has one as its layout-defining ancestor.
bool AddsSlotsAndWeakref(const World& w, int t) {
  for (; t != program::kBaseObject; t = w.types[t].base) {
    const TypeSpec& type = w.types[t];
    const TypeSpec* b = type.base == program::kBaseObject ? nullptr : &w.types[type.base];
    const bool adds_slots = type.slots.size() > static_cast<size_t>(program::InheritedSlots(w, t));
    if (adds_slots && type.weakref && !(b && b->weakref)) return true;
  }
  return false;
}

std::vector<World> AllWorlds() {
  std::vector<World> worlds;
  World w = program::DefaultWorld();
  Enumerate(w, 0, worlds);
  return worlds;
}

TEST(ClassAssignPython, TheWorldSpaceIsLargeAndValid) {
  const std::vector<World> worlds = AllWorlds();
  // The size of the space Enumerate's rules define; a change to the rules
  // (or a world they wrongly drop) shows here first.
  EXPECT_EQ(worlds.size(), 3685u);
  for (const World& w : worlds) {
    program::Program p = program::EmptyProgram();
    p.world = w;
    ASSERT_TRUE(program::Validate(p).ok()) << program::Validate(p) << "\n" << PythonFor(w);
  }
}

TEST(ClassAssignPython, ModelMatchesFreeThreadedCPython313) {
  const std::string python = FreeThreadedPython();
  if (python.empty()) {
    if (std::getenv("FTF_REQUIRE_CPYTHON") != nullptr) FAIL() << "CPython 3.13.5t is not built";
    GTEST_SKIP() << "CPython 3.13.5t is not built: run ./ftfuzz cpython (./ftfuzz test builds it)";
  }
  const std::vector<World> worlds = AllWorlds();
  const std::vector<std::string> model = ModelAnswers(worlds);
  const std::vector<std::string> real = RunPython(python, worlds);
  ASSERT_EQ(real.size(), worlds.size()) << (real.empty() ? "" : real.back());
  int pairs = 0, compatible = 0, failures = 0;
  for (size_t i = 0; i < worlds.size(); ++i) {
    for (size_t k = 0; k < model[i].size(); ++k, ++pairs) {
      compatible += real[i][k] == '1';
      if (model[i][k] == real[i][k] || ++failures > 10) continue;
      ADD_FAILURE() << PythonFor(worlds[i]) << "T" << k / kTypes << " -> T" << k % kTypes << ": model "
                    << model[i][k] << ", 3.13.5t " << real[i][k];
    }
  }
  EXPECT_EQ(failures, 0);
  std::printf("[3.13.5t] %zu worlds, %d assignments: %d compatible, %d differ from the model\n", worlds.size(), pairs,
              compatible, failures);
}

TEST(ClassAssignPython, ModelMatchesPython3ExceptThe311WeakrefLayout) {
  if (std::system("python3 -c 'pass' > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not installed";
  const bool in_object_weakref =
      std::system("python3 -c 'import sys; sys.exit(sys.version_info >= (3, 12))'") == 0;
  const std::vector<World> worlds = AllWorlds();
  const std::vector<std::string> model = ModelAnswers(worlds);
  const std::vector<std::string> real = RunPython("python3", worlds);
  ASSERT_EQ(real.size(), worlds.size()) << (real.empty() ? "" : real.back());
  int pairs = 0, failures = 0, documented = 0;
  for (size_t i = 0; i < worlds.size(); ++i) {
    for (size_t k = 0; k < model[i].size(); ++k, ++pairs) {
      if (model[i][k] == real[i][k]) continue;
      const int a = static_cast<int>(k) / kTypes, b = static_cast<int>(k) % kTypes;
      // The 3.11 layout only ever refuses more, and only for such types.
      if (in_object_weakref && model[i][k] == '1' &&
          (AddsSlotsAndWeakref(worlds[i], a) || AddsSlotsAndWeakref(worlds[i], b))) {
        ++documented;
        continue;
      }
      if (++failures <= 10) {
        ADD_FAILURE() << PythonFor(worlds[i]) << "T" << a << " -> T" << b << ": model " << model[i][k]
                      << ", python3 " << real[i][k];
      }
    }
  }
  EXPECT_EQ(failures, 0);
  std::printf("[python3] %zu worlds, %d assignments: %d differ as documented (in-object __weakref__), %d otherwise\n",
              worlds.size(), pairs, documented, failures);
}

}  // namespace
}  // namespace ftf::tools
