// text.h - the human-readable text form of a program.
//
// One line per operation, a header describing the world and the schedule.
// ToText() and ParseText() are inverses: ParseText(ToText(p)) == p for every
// valid p, and ToText(ParseText(t)) is the normalised form of a hand-written
// t. Example (docs/input-format.md has the full grammar):
//
//   ftfuzz program v2
//   threads 2
//   schedule pct depth 2
//   bytes 00 03 01
//   type T0 (a, b)
//   type T3 (a, b:OBJ, c)
//   type T2 (T0) (c, __dict__)       # class T2(T0): __slots__ = ('c', '__dict__')
//   object o0 = T0(a=fresh, b=empty)
//   globals g0 g1 b0
//   builtins b0 b1
//   deferred g0 g1                   # their initial values have deferred refcounts
//   owner globals t1                 # the dict owners (default: main)
//   t0 s1: o0.a = r2                 # STORE_ATTR_SLOT
//   t1:    r0 = member_get(o0, a)    # PyMember_GetOne
//
// Lines may come in any order after the version line; operations of one
// thread run in the order of their lines. Omitted header lines take the
// default world's / default schedule's values; `threads` defaults to one
// more than the highest thread used. `#` starts a comment.

#ifndef FTF_PROGRAM_TEXT_H_
#define FTF_PROGRAM_TEXT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "program/program.h"

namespace ftf::program {

// v2: types with bases, __dict__ / __weakref__, `deferred` and `owner`
// lines (24-byte worlds). A v1 text is read as v2: its lines mean the same.
inline constexpr char kTextVersionLine[] = "ftfuzz program v2";

// The full text form, ending with a newline.
std::string ToText(const Program& p);

// The body of one operation, e.g. "o0.a = r2", and the whole line, e.g.
// "t0 s1: o0.a = r2   # STORE_ATTR_SLOT".
std::string OpText(const Op& op);
std::string OpLine(int thread, const Op& op);

// Errors are InvalidArgument with a message starting "line N: ". The result
// passes Validate(p, limits).
absl::StatusOr<Program> ParseText(std::string_view text, const Limits& limits = Limits());

// True iff the first line that is neither blank nor a comment starts with
// "ftfuzz program": how file loaders tell a text program from a binary one.
bool LooksLikeText(std::string_view data);

}  // namespace ftf::program

#endif  // FTF_PROGRAM_TEXT_H_
