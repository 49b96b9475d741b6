// op_test.cc - the opcode table, sites and names.

#include "program/op.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "program/program.h"
#include "program/text.h"

namespace ftf::program {
namespace {

TEST(Op, TableIsConsistent) {
  std::set<std::string> mnemonics, texts;
  for (int c = 0; c < kNumOpCodes; ++c) {
    const OpInfo& info = GetOpInfo(static_cast<OpCode>(c));
    EXPECT_EQ(static_cast<int>(info.code), c);
    EXPECT_TRUE(mnemonics.insert(info.mnemonic).second) << info.mnemonic;
    EXPECT_TRUE(texts.insert(info.text).second) << info.text;
    // Fields sharing a byte of the record are never used together.
    EXPECT_FALSE((info.fields & kFieldSite) && (info.fields & kFieldType)) << info.mnemonic;
    EXPECT_FALSE((info.fields & kFieldSlot) && (info.fields & kFieldName)) << info.mnemonic;
    EXPECT_FALSE((info.fields & kFieldValue) && (info.fields & kFieldReg)) << info.mnemonic;
    // The text pattern mentions exactly the fields the opcode uses.
    const std::string t = info.text;
    EXPECT_EQ(t.find("%t") != std::string::npos, (info.fields & kFieldTarget) != 0) << t;
    EXPECT_EQ(t.find("%T") != std::string::npos, (info.fields & kFieldType) != 0) << t;
    EXPECT_EQ(t.find("%s") != std::string::npos, (info.fields & kFieldSlot) != 0) << t;
    EXPECT_EQ(t.find("%g") != std::string::npos, (info.fields & kFieldName) != 0) << t;
    EXPECT_EQ(t.find("%v") != std::string::npos, (info.fields & kFieldValue) != 0) << t;
    EXPECT_EQ(t.find("%r") != std::string::npos, (info.fields & kFieldReg) != 0) << t;
  }
  EXPECT_EQ(kNumOpCodes, 28);
}

TEST(Op, SiteKeys) {
  const Op store{.code = OpCode::kStoreAttrSlot, .site = 1, .slot = 2};
  const Op move{.code = OpCode::kMoveToSlot, .site = 1, .slot = 2, .reg = 3};
  const Op load{.code = OpCode::kLoadAttrSlot, .site = 1, .slot = 2};
  const Op other_name{.code = OpCode::kStoreAttrSlot, .site = 1, .slot = 0};
  const Op global{.code = OpCode::kLoadGlobal, .site = 1, .name = 2};
  // STORE_ATTR through the same site and name shares the cache, whatever the value.
  EXPECT_EQ(SiteOf(store), SiteOf(move));
  EXPECT_NE(SiteOf(store), SiteOf(load));
  EXPECT_NE(SiteOf(store), SiteOf(other_name));
  EXPECT_NE(SiteOf(load), SiteOf(global));
  EXPECT_EQ(SiteOf(global)->family, SiteFamily::kLoadGlobal);
  EXPECT_FALSE(SiteOf(Op{.code = OpCode::kGetMember}).has_value());
  for (int c = 0; c < kNumOpCodes; ++c) {
    const auto code = static_cast<OpCode>(c);
    EXPECT_EQ(SiteOf(Op{.code = code}).has_value(), UsesField(code, kFieldSite));
  }
}

TEST(Op, Names) {
  EXPECT_EQ(SlotName(0), "a");
  EXPECT_EQ(SlotName(3), "d");
  EXPECT_EQ(GlobalName(7), "g7");
  EXPECT_EQ(GlobalName(8), "b0");
  EXPECT_TRUE(IsBuiltinName(11));
  EXPECT_EQ(TargetText({Target::Kind::kRegister, 2}), "r2");
  EXPECT_EQ(ValueText({Value::Kind::kObject, 3}), "o3");
  EXPECT_EQ(ValueText({Value::Kind::kFresh, 0}), "fresh");
  EXPECT_EQ(ValueText({Value::Kind::kNone, 0}), "None");
}

TEST(Op, OpLineHasTheCommentColumn) {
  const Op op{.code = OpCode::kStoreAttrSlot, .site = 1, .target = {Target::Kind::kObject, 0},
              .value = {Value::Kind::kRegister, 2}};
  EXPECT_EQ(OpLine(0, op), "t0 s1: o0.a = r2                        # STORE_ATTR_SLOT");
  EXPECT_EQ(OpLine(3, Op{.code = OpCode::kYield}).substr(0, 12), "t3:    yield");
}

TEST(Program, LayoutCompatibleComparesSortedNamesNotKinds) {
  World w = DefaultWorld();
  w.types[0] = TypeSpec{{{0, MemberKind::kObjectEx}, {1, MemberKind::kObjectEx}}};  // (a, b)
  w.types[1] = TypeSpec{{{0, MemberKind::kObject}, {1, MemberKind::kObjectEx}}};    // (a:OBJ, b)
  w.types[2] = TypeSpec{{{1, MemberKind::kObjectEx}, {0, MemberKind::kObjectEx}}};  // (b, a)
  w.types[3] = TypeSpec{{{0, MemberKind::kObjectEx}}};                              // (a)
  EXPECT_TRUE(LayoutCompatible(w, 0, 0));
  EXPECT_TRUE(LayoutCompatible(w, 0, 1));  // member kinds are not compared
  EXPECT_TRUE(LayoutCompatible(w, 0, 2));  // type_new_copy_slots sorts the names
  EXPECT_FALSE(LayoutCompatible(w, 0, 3));
  EXPECT_EQ(w.types[0].IndexOf(1), 1);
  EXPECT_EQ(w.types[2].IndexOf(1), 0);
  EXPECT_EQ(w.types[3].IndexOf(2), -1);
}

TEST(Program, LayoutCompatibleWithBasesDictAndWeakref) {
  World w = DefaultWorld();
  const SlotSpec a{0, MemberKind::kObjectEx}, b{1, MemberKind::kObjectEx};
  w.types[0] = TypeSpec{{a}};                                     // class T0: __slots__ = ('a',)
  w.types[1] = TypeSpec{{a}, 0};                                  // class T1(T0): __slots__ = ()
  w.types[2] = TypeSpec{{a, b}, 0};                               // class T2(T0): __slots__ = ('b',)
  w.types[3] = TypeSpec{{a, b}, 0, /*dict=*/false, /*weakref=*/true};  // ('b', '__weakref__')
  for (ObjectSpec& o : w.objects) o.slots.assign(w.types[o.type].slots.size(), InitValue::kFresh);
  const absl::Status valid = Validate(Program{w, {ThreadProgram{}}, {}});
  ASSERT_TRUE(valid.ok()) << valid;
  EXPECT_TRUE(LayoutCompatible(w, 0, 1));   // T1 adds nothing: compatible_with_tp_base
  EXPECT_TRUE(LayoutCompatible(w, 1, 0));
  EXPECT_FALSE(LayoutCompatible(w, 0, 2));  // T2 adds a slot
  EXPECT_FALSE(LayoutCompatible(w, 2, 3));  // same slots, but a managed weakref (Py_TPFLAGS_PREHEADER)
  w.types[2].weakref = true;
  EXPECT_TRUE(LayoutCompatible(w, 2, 3));
  w.types[3] = TypeSpec{{a, b}, 1, false, true};  // T3(T1): other tp_base than T2, same layout
  EXPECT_FALSE(LayoutCompatible(w, 2, 3));        // same_slots_added needs the same tp_base
}

}  // namespace
}  // namespace ftf::program
