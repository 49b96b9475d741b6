// conflicts.h - which operations of a program can conflict with another
// thread's, read off the program text alone.
//
// Search aid, not a model of CPython. A window race needs two threads that
// touch the same thing, at least one of them writing; an operation that
// touches nothing another thread touches cannot be part of one. This pass
// names, for every operation, the coarse *resources* it may touch:
//
//   object oN          the world object (its slots, its refcount, its
//                      __class__): slot and member operations on oN, oN
//                      stored or moved as a value, __class__ assignment;
//   any object         an operand held in a register (which object it is
//                      depends on the run), `del rN`;
//   types              every type's version, cache and MRO: slot accesses
//                      read it, __class__ assignment and type_modified write;
//   globals, builtins  the two dicts: LOAD_GLOBAL reads both, the dict
//                      operations write one;
//
// and marks an operation *focused* when some operation of another thread
// touches one of its resources and one of the two writes. "Any object"
// meets every object. The pass over-approximates (objects, not slots; a
// load's result is not followed): a focused operation may still be unable
// to race, but an unfocused one cannot, with one exception that is fine for
// a search aid: the refcount of an object that reaches a thread only
// through a load.
//
// Operations this pass does not know (an opcode added later) touch every
// resource, read and write: new operations are focused until described.
//
// Uses: the PCT decoder places its change points inside focused operations
// (sched/schedule_decoder.h, "FOCUS"), and the custom mutator spends more
// schedule-only mutations on programs with a higher score and draws related
// operations from MayConflict (runner/mutator.h).

#ifndef FTF_PROGRAM_CONFLICTS_H_
#define FTF_PROGRAM_CONFLICTS_H_

#include <cstdint>
#include <vector>

#include "program/program.h"

namespace ftf::program {

struct ConflictMap {
  // Per thread, per operation: its ordinal among the focused operations of
  // the whole program (thread 0's first, then thread 1's...), or -1.
  std::vector<std::vector<int>> focus;
  // focus_begin[t] .. focus_begin[t + 1] - 1: thread t's ordinals.
  std::vector<int> focus_begin;
  int focused = 0;  // focused operations in all
  // Pairs of operations of different threads that conflict (each unordered
  // pair once): the program's static score.
  int pairs = 0;
};

ConflictMap AnalyzeConflicts(const Program& p);

// True when `a` and `b`, run by two different threads, could conflict by the
// rule above: they share a resource and one of them writes it.
bool MayConflict(const Op& a, const Op& b);

}  // namespace ftf::program

#endif  // FTF_PROGRAM_CONFLICTS_H_
