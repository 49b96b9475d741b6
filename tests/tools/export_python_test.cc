// Unit tests of `ftf export --python` (tools/export_python.h): the script's
// contents for a hand-written program, the threaded and serial modes on the
// installed python3, and the command's errors (exit 2, never a crash).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "program/text.h"
#include "tools/export_model.h"
#include "tools/export_python.h"

namespace ftf::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kProgram = R"(ftfuzz program v1
threads 2
type T0 (a, b)
type T1 (a, b)
type T2 (b, a)
type T3 (a, b:OBJ, c)
object o3 = T3(a=fresh, b=empty, c=None)
t0 s1: o0.a = fresh
t0 s1: r2 = o0.a
t0:    o0.__class__ = T1
t0:    r1 = member_get(o3, b)
t0:    member_del(o3, b)
t0:    del globals[g3]
t0 s0: r0 = g3
t0:    quiescent
t1:    r1 = T2()
t1 s2: r1.a = move r1
t1:    r3 = globals.popitem()
t1:    yield
t1:    globals[_temp] = 1; del globals[_temp]
)";

program::Program Parse(const char* text) {
  absl::StatusOr<program::Program> p = program::ParseText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : program::EmptyProgram();
}

struct Cmd {
  int status = -1;
  std::string output;
};

Cmd Shell(const std::string& cmd) {
  Cmd c;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return c;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) c.output.append(buf, n);
  const int st = pclose(pipe);
  c.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return c;
}

fs::path TempDir() {
  const fs::path d = fs::temp_directory_path() / absl::StrCat("ftf_export_test_", ::getpid());
  fs::create_directories(d);
  return d;
}

fs::path Write(const fs::path& f, const std::string& contents) {
  std::ofstream(f, std::ios::binary) << contents;
  return f;
}

bool HavePython() { return std::system("python3 -c 'pass' > /dev/null 2>&1") == 0; }

TEST(ExportPython, ScriptMirrorsTheProgram) {
  ModelRunner runner;
  const std::string s = ExportPython(Parse(kProgram), ExportOptions(), runner);
  // Classes with __slots__, the _Py_T_OBJECT member emulated.
  EXPECT_TRUE(absl::StrContains(s, "class T0:\n    __slots__ = ('a', 'b')\n"));
  EXPECT_TRUE(absl::StrContains(s, "class T2:\n    __slots__ = ('b', 'a')\n"));
  EXPECT_TRUE(absl::StrContains(s, "T3.b = _ObjMember(T3.__dict__['b'])"));
  // One function per instruction site; the same site once.
  EXPECT_TRUE(absl::StrContains(s, "_site_t0_store_a_s1 = _store_site('a')"));
  EXPECT_TRUE(absl::StrContains(s, "_site_t0_load_a_s1 = _load_site('a')"));
  EXPECT_TRUE(absl::StrContains(s, "_site_t0_global_g3_s0 = _global_site('g3')"));
  EXPECT_TRUE(absl::StrContains(s, "_site_t1_store_a_s2 = _store_site('a')"));
  // Operations as Python.
  EXPECT_TRUE(absl::StrContains(s, "    x.__class__ = T1\n"));
  EXPECT_TRUE(absl::StrContains(s, "    got = getattr(x, 'b')\n"));
  EXPECT_TRUE(absl::StrContains(s, "    delattr(x, 'b')\n"));
  EXPECT_TRUE(absl::StrContains(s, "    del G['g3']\n"));
  EXPECT_TRUE(absl::StrContains(s, "    _, got = G.popitem()\n"));
  EXPECT_TRUE(absl::StrContains(s, "    W.R[1][1] = EMPTY  # the store consumes the register\n"));
  EXPECT_TRUE(absl::StrContains(s, "pass  # quiescent: no Python-level equivalent"));
  EXPECT_TRUE(absl::StrContains(s, "pass  # yield: a scheduling point only"));
  EXPECT_TRUE(absl::StrContains(s, "(_op_t1_4_insert, _op_t1_4_delete)"));
  // What the model computed: the load after the store, NameError after the delete.
  EXPECT_TRUE(absl::StrContains(s, "(0, 3): ('ok', 0),")) << "member_get of an empty :OBJ slot reads None";
  EXPECT_TRUE(absl::StrContains(s, "(0, 6): ('NameError', -1),"));
  EXPECT_TRUE(absl::StrContains(s, "ORDER = [("));
  EXPECT_TRUE(absl::StrContains(s, "FINAL_OBJECTS = [\n"));
  EXPECT_TRUE(absl::StrContains(s, "#   t0 s1: o0.a = fresh")) << "the program text is in the header";
}

TEST(ExportPython, SerialAndThreadedModesAgreeWithTheModel) {
  if (!HavePython()) GTEST_SKIP() << "python3 is not installed";
  const fs::path dir = TempDir();
  ModelRunner runner;
  const fs::path py = Write(dir / "prog.py", ExportPython(Parse(kProgram), ExportOptions(), runner));
  Cmd serial = Shell(absl::StrCat("python3 ", py.string(), " --serial"));
  EXPECT_EQ(serial.status, 0) << serial.output;
  EXPECT_TRUE(absl::StrContains(serial.output, "operations agree with the model (locked)")) << serial.output;
  Cmd threaded = Shell(absl::StrCat("python3 ", py.string(), " --loops 20"));
  EXPECT_EQ(threaded.status, 0) << threaded.output;
  EXPECT_TRUE(absl::StrContains(threaded.output, "20 of 20 loops agree with the model")) << threaded.output;
  Cmd overlap = Shell(absl::StrCat("python3 ", py.string(), " --loops 5 --overlap"));
  EXPECT_EQ(overlap.status, 0) << overlap.output;
  fs::remove_all(dir);
}

TEST(ExportPython, SerialModeReportsADifference) {
  if (!HavePython()) GTEST_SKIP() << "python3 is not installed";
  // Tamper with one expectation: the script must notice and exit 1.
  ModelRunner runner;
  std::string s = ExportPython(Parse(kProgram), ExportOptions(), runner);
  const std::string from = "(0, 6): ('NameError', -1),";
  ASSERT_TRUE(absl::StrContains(s, from));
  s.replace(s.find(from), from.size(), "(0, 6): ('ok', -1),");
  const fs::path dir = TempDir();
  const fs::path py = Write(dir / "tampered.py", s);
  Cmd serial = Shell(absl::StrCat("python3 ", py.string(), " --serial"));
  EXPECT_EQ(serial.status, 1) << serial.output;
  EXPECT_TRUE(absl::StrContains(serial.output, "model ok, python NameError")) << serial.output;
  fs::remove_all(dir);
}

TEST(ExportPython, BothOrdersKeepProgramOrder) {
  ModelRunner runner;
  const program::Program p = Parse(kProgram);
  ModelRun commit = runner.Run(p, nullptr, ExportOrder::kCommit);
  ModelRun completion = runner.Run(p, nullptr, ExportOrder::kCompletion);
  ASSERT_TRUE(commit.completed);
  EXPECT_EQ(commit.order.size(), 13u);
  EXPECT_EQ(completion.order.size(), 13u);
  EXPECT_EQ(commit.trace_hash, completion.trace_hash) << "the same deterministic run";
  // Program order inside each thread, whatever the interleaving.
  for (const ModelRun* run : {&commit, &completion}) {
    int next[2] = {0, 0};
    for (const auto& [t, i] : run->order) EXPECT_EQ(i, next[t]++);
  }
}

TEST(ExportCommand, ErrorsExitTwoWithAMessage) {
  const fs::path dir = TempDir();
  const std::string ftf = FTF_TOOL_BINARY;
  const fs::path out = dir / "out.py";
  struct Case {
    std::string name;
    std::string contents;
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"truncated.txt", "ftfuzz program v1\nthreads 2\nt0 s1: r2 = o0.", "--python -o " + out.string(), "line 3"},
      {"garbage.txt", "ftfuzz program v1\n%%% not a program %%%\n", "--python -o " + out.string(), "line 2"},
      {"no_output.txt", kProgram, "--python", "no output file"},
      {"no_format.txt", kProgram, "-o " + out.string(), "--python"},
      {"bad_loops.txt", kProgram, "--python --loops=0 -o " + out.string(), "--loops"},
      {"bad_variant.txt", kProgram, "--python --variant=nope -o " + out.string(), "unknown variant"},
  };
  for (const Case& c : cases) {
    const fs::path in = Write(dir / c.name, c.contents);
    Cmd r = Shell(absl::StrCat(ftf, " export ", in.string(), " ", c.args));
    EXPECT_EQ(r.status, 2) << c.name << ": " << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, c.message)) << c.name << ": " << r.output;
  }
  Cmd missing = Shell(absl::StrCat(ftf, " export ", (dir / "does_not_exist").string(), " --python -o ", out.string()));
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_TRUE(absl::StrContains(missing.output, "cannot open")) << missing.output;
  fs::remove_all(dir);
}

TEST(ExportCommand, AnyBytesExport) {
  // Every byte string is a program (docs/input-format.md): random bytes export.
  const fs::path dir = TempDir();
  std::string bytes;
  for (int i = 0; i < 200; ++i) bytes.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
  const fs::path in = Write(dir / "crash-bytes", bytes);
  const fs::path out = dir / "out.py";
  Cmd r = Shell(absl::StrCat(FTF_TOOL_BINARY, " export ", in.string(), " --python -o ", out.string()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(out));
  if (HavePython()) {
    Cmd serial = Shell(absl::StrCat("python3 ", out.string(), " --serial"));
    EXPECT_TRUE(absl::StrContains(serial.output, "serial: ")) << serial.output;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ftf::tools
