// export_python_messages.cc - the message CPython gives each error the model
// raises itself, as a Python regular expression the serial check matches
// (see export_python.h). The class alone is not enough: two TypeErrors with
// different causes (a layout that differs, a type that is not a heap type)
// must not compare equal.
//
// The model's observation names the exception class; which of CPython's
// messages goes with it follows from the operation, as below. A part the
// model does not know at export time (the type an object had when the
// operation ran, in whatever order the search picks) is a pattern.

#include <string>

#include "absl/strings/str_cat.h"
#include "program/op.h"
#include "program/text.h"
#include "tools/export_python.h"

namespace ftf::tools {
namespace {

using program::OpCode;
using Result = runner::Observation::Result;

// The type's name: 3.13 names it fully qualified in some messages
// ('ftf_export.T0', the `%T` format) where 3.11 says 'T0'.
constexpr char kTypeName[] = R"('(?:\w+\.)*\w+')";

// `'T0' object has no attribute 'a'` (PyMember_GetOne, and the generic
// attribute lookup, Objects/object.c). A delete of an empty slot says only
// `a` up to 3.11 and the long form from 3.12 on (PyMember_SetOne). A store
// or delete of a name the type has no slot for adds ` and no __dict__ for
// setting new attributes` from 3.13 on (_PyObject_GenericSetAttrWithDict).
std::string NoAttribute(const std::string& name, bool deleting, bool storing) {
  const std::string full = absl::StrCat(kTypeName, " object has no attribute '", name, "'");
  if (!deleting && !storing) return full;
  const std::string set_or_del = absl::StrCat(full, "(?: and no __dict__ for setting new attributes)?");
  return deleting ? absl::StrCat(name, "|", set_or_del) : set_or_del;
}

}  // namespace

std::string ExpectedErrorPattern(const program::Op& op, Result result) {
  const std::string slot = program::SlotName(op.slot);
  switch (result) {
    case Result::kAttributeError: {
      // A store to a name the type has no slot for, a load or delete of an
      // empty one; a readonly member cannot be written.
      const bool storing = op.code == OpCode::kStoreAttrSlot || op.code == OpCode::kMoveToSlot ||
                           op.code == OpCode::kSetMember;
      return absl::StrCat(NoAttribute(slot, op.code == OpCode::kDelMember, storing), "|readonly attribute");
    }
    case Result::kTypeError:
      if (op.code == OpCode::kSetClass) {
        // object_set_class (Objects/typeobject.c) refuses an immutable old
        // type first, then compatible_for_assignment a layout that
        // differs: "'NEW' object layout differs from 'OLD'". The shared
        // objects o0..o3 are always instances of the (heap) types T0..T3;
        // a register may hold a `fresh` object(), whose type is immutable.
        // (Which of the two the model found is not in its observation, so
        // for a register either message is accepted.)
        const std::string layout =
            absl::StrCat("__class__ assignment: 'T", op.type, "' object layout differs from ", kTypeName);
        if (op.target.kind == program::Target::Kind::kObject) return layout;
        return absl::StrCat(layout, "|__class__ assignment only supported for mutable types or ModuleType subclasses");
      }
      // A dict operation on an object that is no dict: the type has no
      // mp_subscript / mp_ass_subscript (PyObject_GetItem, PyObject_SetItem,
      // PyObject_DelItem in Objects/abstract.c).
      if (op.code == OpCode::kDictLoad) return absl::StrCat(kTypeName, " object is not subscriptable");
      if (op.code == OpCode::kDictStore) return absl::StrCat(kTypeName, " object (?:does not|doesn't) support item assignment");
      if (op.code == OpCode::kDictDelete) return absl::StrCat(kTypeName, " object (?:does not|doesn't) support item deletion");
      // A member descriptor applied to an instance of another type
      // (descr_check, Objects/descrobject.c).
      return absl::StrCat("descriptor '", slot, "' for ", kTypeName, " objects doesn't apply to a ", kTypeName,
                          " object");
    case Result::kNameError:  // LOAD_GLOBAL: NAME_ERROR_MSG (Python/ceval.c)
      return absl::StrCat("name '", program::GlobalName(op.name), "' is not defined");
    case Result::kKeyError:  // the key's repr (_PyErr_SetKeyError); popitem's own text
      if (op.code == OpCode::kGlobalPopItem) return "'popitem\\(\\): dictionary is empty'";
      if (op.code == OpCode::kGlobalTempInsertDelete) return "'_temp_key'";
      return absl::StrCat("'", program::GlobalName(op.name), "'");
    case Result::kOk:
    case Result::kEmptyRegister: return "";
  }
  return "";
}

}  // namespace ftf::tools
