// text_test.cc - the text form: round trips, hand-written examples, errors.

#include "program/encoder.h"
#include "program/text.h"

#include <cctype>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program/decoder.h"
#include "program_test_util.h"

namespace ftf::program {
namespace {

using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::Scaled;

Program MustParse(const std::string& text, const Limits& limits = Limits()) {
  absl::StatusOr<Program> p = ParseText(text, limits);
  EXPECT_TRUE(p.ok()) << p.status().message() << "\n" << text;
  return p.ok() ? *p : Program();
}

TEST(Text, PrintParseIsTheIdentityOnDecodedPrograms) {
  std::mt19937 rng(20240601);
  const Limits big{8, 64, 255};
  for (int i = 0; i < Scaled(5000); ++i) {
    const Limits& limits = i % 2 ? big : Limits();
    const Program p = Decode(RandomBytes(rng, rng() % 1600), limits);
    const std::string text = ToText(p);
    absl::StatusOr<Program> q = ParseText(text, limits);
    ASSERT_TRUE(q.ok()) << q.status().message() << "\n" << text;
    ASSERT_EQ(*q, p) << text;
    ASSERT_EQ(ToText(*q), text);
  }
}

TEST(Text, EveryOpcodeAndOperandPrintsAndParsesBack) {
  // Exhaustive over each opcode's operand space (site, type, target, slot,
  // name, value, register at the values the opcode uses).
  for (int c = 0; c < kNumOpCodes; ++c) {
    for (int v = 0; v < 64; ++v) {
      const std::vector<uint8_t> in = {0x00, 0x00, 0, static_cast<uint8_t>(c),
                                       static_cast<uint8_t>(v), static_cast<uint8_t>(v * 3),
                                       static_cast<uint8_t>(v * 5), static_cast<uint8_t>(v * 7)};
      const Program p = Decode(in);
      absl::StatusOr<Program> q = ParseText(ToText(p));
      ASSERT_TRUE(q.ok()) << q.status().message();
      ASSERT_EQ(*q, p) << ToText(p);
    }
  }
}

TEST(Text, HandWrittenProgramParsesToTheExpectedStructure) {
  const Program p = MustParse(R"(
# a comment before the version line is fine
ftfuzz program v1
threads 2
schedule pct depth 2
bytes 00 1F a0
bytes ff
type T0 (a, b:OBJ)
type T2 (c:EX, a)
object o0 = T0(b=None)
object o2 = T2(a=fresh, c=empty)
globals g0 g3 b1
builtins -
t1 s1: o0.a = r2        # comments after operations too
t0:    r3 = T2()
t0 s3: r0 = o2.c
t1:    o0.__class__ = T1
t0:    globals[_temp] = 1; del globals[_temp]
t0 s0: r1 = b1
t1 s2: r0.b = move r1
t1:    member_set(o1, a, fresh)
t1:    quiescent
)");
  ASSERT_EQ(p.threads.size(), 2u);
  EXPECT_EQ(p.schedule.kind, ScheduleKind::kPct);
  EXPECT_EQ(p.schedule.pct_depth, 2);
  EXPECT_EQ(p.schedule.bytes, (std::vector<uint8_t>{0x00, 0x1f, 0xa0, 0xff}));

  const World& w = p.world;
  EXPECT_EQ(w.types[0].slots, (std::vector<SlotSpec>{{0, MemberKind::kObjectEx}, {1, MemberKind::kObject}}));
  EXPECT_EQ(w.types[1], DefaultWorld().types[1]);  // not redefined
  EXPECT_EQ(w.types[2].slots, (std::vector<SlotSpec>{{2, MemberKind::kObjectEx}, {0, MemberKind::kObjectEx}}));
  EXPECT_EQ(w.objects[0].type, 0);
  EXPECT_EQ(w.objects[0].slots, (std::vector<InitValue>{InitValue::kEmpty, InitValue::kNone}));  // a omitted
  EXPECT_EQ(w.objects[2].slots, (std::vector<InitValue>{InitValue::kEmpty, InitValue::kFresh}));  // T2 order: c, a
  EXPECT_EQ(w.objects[1], DefaultWorld().objects[1]);
  EXPECT_EQ(w.globals_present, (1 << 0) | (1 << 3) | (1 << 9));
  EXPECT_EQ(w.builtins_present, 0);

  const auto& t0 = p.threads[0].ops;
  ASSERT_EQ(t0.size(), 4u);
  EXPECT_EQ(t0[0], (Op{.code = OpCode::kNew, .type = 2, .reg = 3}));
  EXPECT_EQ(t0[1], (Op{.code = OpCode::kLoadAttrSlot, .site = 3, .target = {Target::Kind::kObject, 2}, .slot = 2}));
  EXPECT_EQ(t0[2], (Op{.code = OpCode::kGlobalTempInsertDelete}));
  EXPECT_EQ(t0[3], (Op{.code = OpCode::kLoadGlobal, .site = 0, .name = 9, .reg = 1}));
  const auto& t1 = p.threads[1].ops;
  ASSERT_EQ(t1.size(), 5u);
  EXPECT_EQ(t1[0], (Op{.code = OpCode::kStoreAttrSlot, .site = 1, .target = {Target::Kind::kObject, 0}, .slot = 0,
                       .value = {Value::Kind::kRegister, 2}}));
  EXPECT_EQ(t1[1], (Op{.code = OpCode::kSetClass, .type = 1, .target = {Target::Kind::kObject, 0}}));
  EXPECT_EQ(t1[2], (Op{.code = OpCode::kMoveToSlot, .site = 2, .target = {Target::Kind::kRegister, 0}, .slot = 1,
                       .reg = 1}));
  EXPECT_EQ(t1[3], (Op{.code = OpCode::kSetMember, .target = {Target::Kind::kObject, 1}, .slot = 0,
                       .value = {Value::Kind::kFresh, 0}}));
  EXPECT_EQ(t1[4], (Op{.code = OpCode::kQuiescent}));

  // Same structure after a print/parse cycle.
  EXPECT_EQ(MustParse(ToText(p)), p);
}

TEST(Text, HandWrittenV2WorldParsesPrintsAndEncodes) {
  const Program p = MustParse(R"(ftfuzz program v2
threads 2
type T0 (b, a, __weakref__)
type T1 (T0) ()                  # class T1(T0): __slots__ = ()
type T2 (T0) (c:OBJ, __dict__)
type T3 (T2) (d)
object o3 = T3(a=None, d=fresh)
deferred g0 g7
owner builtins t1
)");
  const World& w = p.world;
  const SlotSpec a{0, MemberKind::kObjectEx}, b{1, MemberKind::kObjectEx}, c{2, MemberKind::kObject};
  EXPECT_EQ(w.types[0], (TypeSpec{{b, a}, kBaseObject, false, true}));
  EXPECT_EQ(w.types[1], (TypeSpec{{b, a}, 0, false, true}));
  EXPECT_EQ(w.types[2], (TypeSpec{{b, a, c}, 0, true, true}));
  EXPECT_EQ(w.types[3], (TypeSpec{{b, a, c, {3, MemberKind::kObjectEx}}, 2, true, true}));
  EXPECT_EQ(w.objects[3].slots,
            (std::vector<InitValue>{InitValue::kEmpty, InitValue::kNone, InitValue::kEmpty, InitValue::kFresh}));
  EXPECT_EQ(w.objects[1].slots, std::vector<InitValue>(2, InitValue::kFresh));  // default o1 sized by the new T1
  EXPECT_EQ(w.deferred_globals, 0x81);
  EXPECT_EQ(DictOwnerThread(w, /*builtins=*/true), 1);
  EXPECT_EQ(DictOwnerThread(w, /*builtins=*/false), -1);
  const std::string text = ToText(p);
  EXPECT_THAT(text, HasSubstr("\ntype T1 (T0) ()\n"));
  EXPECT_THAT(text, HasSubstr("\ntype T2 (T0) (c:OBJ, __dict__)\n"));
  EXPECT_THAT(text, HasSubstr("\ndeferred g0 g7\nowner builtins t1\n"));
  EXPECT_EQ(MustParse(text), p);
  absl::StatusOr<std::vector<uint8_t>> bytes = Encode(p);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(Decode(*bytes), p);
  // An owner thread counts as used: `threads` defaults to cover it.
  EXPECT_EQ(MustParse("ftfuzz program v2\nowner globals t2\n").threads.size(), 3u);
  // v1 text still reads, as the same program.
  EXPECT_EQ(MustParse("ftfuzz program v1\ntype T0 (a)\n"), MustParse("ftfuzz program v2\ntype T0 (a)\n"));
}

TEST(Text, EveryOperationForm) {
  const std::pair<const char*, Op> kForms[] = {
      {"t0: r1 = T3()", {.code = OpCode::kNew, .type = 3, .reg = 1}},
      {"t0 s2: o3.d = o1", {.code = OpCode::kStoreAttrSlot, .site = 2, .target = {Target::Kind::kObject, 3}, .slot = 3,
                            .value = {Value::Kind::kObject, 1}}},
      {"t0 s1: r2 = r3.a", {.code = OpCode::kLoadAttrSlot, .site = 1, .target = {Target::Kind::kRegister, 3}, .reg = 2}},
      {"t0 s0: o0.b = move r3", {.code = OpCode::kMoveToSlot, .target = {Target::Kind::kObject, 0}, .slot = 1, .reg = 3}},
      {"t0: r0 = member_get(o1, c)", {.code = OpCode::kGetMember, .target = {Target::Kind::kObject, 1}, .slot = 2}},
      {"t0: member_set(r1, a, None)", {.code = OpCode::kSetMember, .target = {Target::Kind::kRegister, 1},
                                       .value = {Value::Kind::kNone, 0}}},
      {"t0: member_del(o2, b)", {.code = OpCode::kDelMember, .target = {Target::Kind::kObject, 2}, .slot = 1}},
      {"t0: r0.__class__ = T2", {.code = OpCode::kSetClass, .type = 2, .target = {Target::Kind::kRegister, 0}}},
      {"t0: type_modified(T1)", {.code = OpCode::kModifyType, .type = 1}},
      {"t0: del r2", {.code = OpCode::kDrop, .reg = 2}},
      {"t0 s3: r1 = g7", {.code = OpCode::kLoadGlobal, .site = 3, .name = 7, .reg = 1}},
      {"t0: globals[b3] = fresh", {.code = OpCode::kGlobalStore, .name = 11, .value = {Value::Kind::kFresh, 0}}},
      {"t0: globals.setdefault(g2, r0)", {.code = OpCode::kGlobalInsert, .name = 2,
                                          .value = {Value::Kind::kRegister, 0}}},
      {"t0: del globals[g5]", {.code = OpCode::kGlobalDelete, .name = 5}},
      {"t0: globals[_temp] = 1; del globals[_temp]", {.code = OpCode::kGlobalTempInsertDelete}},
      {"t0: r3 = globals.popitem()", {.code = OpCode::kGlobalPopItem, .reg = 3}},
      {"t0: builtins[g1] = o2", {.code = OpCode::kBuiltinStore, .name = 1, .value = {Value::Kind::kObject, 2}}},
      {"t0: del builtins[b0]", {.code = OpCode::kBuiltinDelete, .name = 8}},
      {"t0: quiescent", {.code = OpCode::kQuiescent}},
      {"t0: yield", {.code = OpCode::kYield}},
      {"t0: r2 = dict()", {.code = OpCode::kNewDict, .reg = 2}},
      {"t0: r1[g3] = fresh", {.code = OpCode::kDictStore, .target = {Target::Kind::kRegister, 1}, .name = 3,
                              .value = {Value::Kind::kFresh, 0}}},
      {"t0: r0 = o2[b1]", {.code = OpCode::kDictLoad, .target = {Target::Kind::kObject, 2}, .name = 9}},
      {"t0: del r3[g0]", {.code = OpCode::kDictDelete, .target = {Target::Kind::kRegister, 3}}},
      {"t0: gc_collect", {.code = OpCode::kGcCollect}},
      {"t0: type_set_flags(T2)", {.code = OpCode::kTypeSetFlags, .type = 2}},
      {"t0: type_set_abstract(T0)", {.code = OpCode::kTypeSetAbstract, .type = 0}},
      {"t0: start t5", {.code = OpCode::kStartThread, .thread = 5}},
  };
  static_assert(std::size(kForms) == kNumOpCodes, "one form per opcode");
  for (const auto& [line, op] : kForms) {
    const Program p = MustParse(std::string("ftfuzz program v1\n") + line + "\n");
    ASSERT_EQ(p.threads.size(), 1u) << line;
    ASSERT_EQ(p.threads[0].ops.size(), 1u) << line;
    EXPECT_EQ(p.threads[0].ops[0], op) << line;
    // White space is free: drop every space next to punctuation, double
    // the others.
    const std::string l(line);
    std::string respaced;
    auto word = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
    for (size_t k = 0; k < l.size(); ++k) {
      if (l[k] != ' ') { respaced += l[k]; continue; }
      if (k > 0 && k + 1 < l.size() && word(l[k - 1]) && word(l[k + 1])) respaced += " \t ";
    }
    const Program q = MustParse(std::string("ftfuzz program v1\n") + respaced + "\n");
    ASSERT_EQ(q.threads.size(), 1u) << respaced;
    EXPECT_EQ(q.threads[0].ops[0], op) << respaced;
  }
}

TEST(Text, OmittedHeaderLinesTakeDefaults) {
  const Program p = MustParse("ftfuzz program v1\nt2: yield\n");
  EXPECT_EQ(p.threads.size(), 3u);  // one more than the highest thread used
  EXPECT_EQ(p.world, DefaultWorld());
  EXPECT_EQ(p.schedule, ScheduleSpec());
  EXPECT_EQ(MustParse("ftfuzz program v1\n"), EmptyProgram());
  EXPECT_EQ(MustParse("ftfuzz program v1\nschedule pct\n").schedule.pct_depth, 3);
  // A redefined type resizes the default object of the same index (all fresh).
  const Program q = MustParse("ftfuzz program v1\ntype T1 (d, c, b, a)\n");
  EXPECT_EQ(q.world.objects[1].slots, std::vector<InitValue>(4, InitValue::kFresh));
}

TEST(Text, AFinalizerIsWrittenAfterTheSlotsAndRoundTrips) {
  const Program p = MustParse("ftfuzz program v1\ntype T2 (b, a) __del__\nt0: gc_collect\n");
  EXPECT_TRUE(p.world.types[2].finalizer);
  EXPECT_FALSE(p.world.types[0].finalizer);
  const std::string text = ToText(p);
  EXPECT_NE(text.find("type T2 (b, a) __del__"), std::string::npos) << text;
  EXPECT_EQ(MustParse(text), p);
  absl::StatusOr<Program> bad = ParseText("ftfuzz program v1\ntype T2 (b, a) __init__\n");
  EXPECT_FALSE(bad.ok());
}

TEST(Text, LooksLikeText) {
  EXPECT_TRUE(LooksLikeText("ftfuzz program v1\n"));
  EXPECT_TRUE(LooksLikeText("\n  # comment\n\nftfuzz program v1"));
  EXPECT_TRUE(LooksLikeText("ftfuzz program v9\n"));  // text, even if the version is wrong
  EXPECT_FALSE(LooksLikeText(""));
  EXPECT_FALSE(LooksLikeText(std::string("\x03\x00\x01\x02", 4)));
  EXPECT_FALSE(LooksLikeText("threads 2\nftfuzz program v1\n"));
}

struct BadText {
  const char* text;
  int line;
  const char* message;
};

TEST(Text, ParseErrorsNameTheLine) {
  const BadText kCases[] = {
      {"", 1, "empty text program"},
      {"threads 2\n", 1, "starts with the line 'ftfuzz program v2'"},
      {"ftfuzz program v3\n", 1, "unsupported version"},
      {"ftfuzz program v1\nthreads 9\n", 2, "expected a thread count 1..8"},
      {"ftfuzz program v1\nthreads 5\n", 2, "exceed the limit of 4"},
      {"ftfuzz program v1\nthreads 2\nthreads 2\n", 3, "second 'threads' line (first on line 2)"},
      {"ftfuzz program v1\n\n\nt0: o0.z = r1\n", 4, "unknown operation 'o0.z = r1'"},
      {"ftfuzz program v1\nt0: o7.a = r1\n", 2, "o7 is out of range: objects are o0..o3"},
      {"ftfuzz program v1\nt0 s9: r1 = o0.a\n", 2, "s9 is out of range: sites are s0..s3"},
      {"ftfuzz program v1\nt0: r1 = o0.a\n", 2, "LOAD_ATTR_SLOT goes through an instruction site: write 't0 sN: r1 = o0.a'"},
      {"ftfuzz program v1\nt0 s1: del r1\n", 2, "DROP has no instruction site: write 't0: del r1'"},
      {"ftfuzz program v1\nt0 o0.a = r1\n", 2, "expected ':' after 't0'"},
      {"ftfuzz program v1\nt0:\n", 2, "missing operation"},
      {"ftfuzz program v1\nthreads 1\nt0: yield\nt1: yield\n", 4, "t1 used but 'threads 1' (line 2)"},
      {"ftfuzz program v1\nt4: yield\n", 2, "exceeds the limit of 4 threads"},
      {"ftfuzz program v1\ntype T0 (a, a)\n", 2, "slot a listed twice"},
      {"ftfuzz program v1\ntype T0 ()\n", 2, "T0 derives from object and needs 1..4 slots"},
      {"ftfuzz program v1\ntype T0 (a:FOO)\n", 2, "expected a member kind EX"},
      {"ftfuzz program v1\ntype T0 (a, b, c, d, e)\n", 2, "expected a slot name a..d, __dict__ or __weakref__, found 'e'"},
      {"ftfuzz program v1\ntype T0 (a\n", 2, "expected ',' or ')' at the end of the line"},
      {"ftfuzz program v2\ntype T1 (T1) (a)\n", 2, "T1 can derive only from an earlier type (T0..T0) or object"},
      {"ftfuzz program v2\ntype T1 (T0) (a)\n", 2, "T1: slot a is already in its base T0"},
      {"ftfuzz program v2\ntype T0 (a, __dict__)\ntype T1 (T0) (__dict__)\n", 3, "T1 already has __dict__ from its base T0"},
      {"ftfuzz program v2\ntype T0 (a, __weakref__, __weakref__)\n", 2, "__weakref__ listed twice"},
      {"ftfuzz program v2\ntype T2 (a, b, c)\ntype T3 (T2) (d, a)\n", 3, "slot a is already in its base T2"},
      {"ftfuzz program v2\ntype T0 (a, b, c)\ntype T3 (T0) (d)\ntype T2 (T0) ()\nobject o0 = T3(e=None)\n", 5, "expected a slot name a..d"},
      {"ftfuzz program v2\ndeferred g1 b1\n", 2, "expected a name g0..g7"},
      {"ftfuzz program v2\ndeferred g1\ndeferred g2\n", 3, "second 'deferred' line (first on line 2)"},
      {"ftfuzz program v2\nowner dicts t1\n", 2, "expected 'globals' or 'builtins'"},
      {"ftfuzz program v2\nowner globals t4\n", 2, "expected 'main' or a thread t0..t3"},
      {"ftfuzz program v2\nowner builtins t1\nowner builtins main\n", 3, "second 'owner builtins' line"},
      {"ftfuzz program v2\nthreads 2\nowner globals t2\n", 3, "owner t2 but 'threads 2' (line 2) declares t0..t1"},
      {"ftfuzz program v1\nobject o0 = T0(c=fresh)\n", 2, "T0 has no slot c"},
      {"ftfuzz program v1\nobject o1 = T1(a=maybe)\n", 2, "expected an initial value fresh, None or empty"},
      {"ftfuzz program v1\nobject o1 = T1(a=fresh, a=None)\n", 2, "slot a given twice"},
      {"ftfuzz program v1\nglobals g1 g1\n", 2, "name listed twice"},
      {"ftfuzz program v1\nbuiltins g1\n", 2, "builtins can initially hold only b0..b3"},
      {"ftfuzz program v1\nschedule random\n", 2, "expected 'direct' or 'pct', found 'random'"},
      {"ftfuzz program v1\nschedule pct depth 9\n", 2, "expected a PCT depth 1..8"},
      {"ftfuzz program v1\nbytes 0 1\n", 2, "two hex digits"},
      {"ftfuzz program v1\nbytes zz\n", 2, "two hex digits"},
      {"ftfuzz program v1\nt0: yield!\n", 2, "unexpected character '!'"},
      {"ftfuzz program v1\nt0: yield\x01\n", 2, "unexpected byte 0x01"},
      {"ftfuzz program v1\nfoo bar\n", 2, "unknown line starting with 'foo'"},
  };
  for (const BadText& c : kCases) {
    absl::StatusOr<Program> p = ParseText(c.text);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string msg(p.status().message());
    EXPECT_THAT(msg, HasSubstr("line " + std::to_string(c.line) + ": ")) << c.text;
    EXPECT_THAT(msg, HasSubstr(c.message)) << c.text;
  }
}

TEST(Text, LimitsAreCheckedWithLineNumbers) {
  std::string text = "ftfuzz program v1\n";
  for (int i = 0; i < 33; ++i) text += "t0: yield\n";
  absl::StatusOr<Program> p = ParseText(text);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 34: t0 has more than 32 operations"));
  EXPECT_TRUE(ParseText(text, Limits{4, 33, 255}).ok());

  std::string sched = "ftfuzz program v1\nbytes";
  for (int i = 0; i < 10; ++i) sched += " 00";
  p = ParseText(sched, Limits{4, 32, 8});
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 2: more than 8 schedule bytes"));
}

TEST(Text, GarbageNeverCrashesTheParser) {
  std::mt19937 rng(5);
  const std::string kAlphabet = "ftfuzz program v1\n#:.=()[],;- tsorTgb0123456789abcdEXOBJ_movefreshNone";
  for (int i = 0; i < 3000; ++i) {
    std::string text = i % 2 ? "ftfuzz program v1\n" : "";
    const size_t n = rng() % 200;
    for (size_t k = 0; k < n; ++k) text += i % 3 ? kAlphabet[rng() % kAlphabet.size()] : static_cast<char>(rng());
    absl::StatusOr<Program> p = ParseText(text);
    if (p.ok()) {
      ASSERT_TRUE(Validate(*p).ok());
      ASSERT_EQ(*ParseText(ToText(*p)), *p);
    } else {
      ASSERT_THAT(std::string(p.status().message()), HasSubstr("line "));
    }
  }
}

TEST(Text, EditedPrintedProgramsParseOrFailWithALineNumber) {
  // Random small edits of real printed programs reach deep into the parser.
  std::mt19937 rng(6);
  const std::string kAlphabet = " \n#:.=()[],;-tsorTgb0123456789abcdefEXOBJ_";
  int parsed = 0;
  for (int i = 0; i < Scaled(3000); ++i) {
    std::string text = ToText(Decode(RandomBytes(rng, rng() % 300)));
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = 20 + rng() % (text.size() - 20);  // keep the version line
      switch (rng() % 3) {
        case 0: text.erase(at, 1 + rng() % 4); break;
        case 1: text.insert(at, 1, kAlphabet[rng() % kAlphabet.size()]); break;
        default: text[at] = kAlphabet[rng() % kAlphabet.size()]; break;
      }
    }
    absl::StatusOr<Program> p = ParseText(text);
    if (p.ok()) {
      ++parsed;
      ASSERT_TRUE(Validate(*p).ok());
      ASSERT_EQ(*ParseText(ToText(*p)), *p);
    } else {
      ASSERT_THAT(std::string(p.status().message()), ::testing::MatchesRegex("line [0-9]+: .*")) << text;
    }
  }
  EXPECT_GT(parsed, Scaled(3000) / 30);  // many edits only touch comments or stay valid
}

}  // namespace
}  // namespace ftf::program
