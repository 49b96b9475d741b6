// unsync.h - the unsynchronized accesses of a run, from its trace.
//
// Not a model of CPython: the part of the root-cause signature (signature.h)
// that names a defect by where its fix goes. Two accesses of different
// threads to the same address race when at least one writes, at least one
// is plain (non-atomic), and neither happens before the other. Happens-before
// is rebuilt from the trace with vector clocks, as ThreadSanitizer does it,
// from the atomic accesses alone: a release (or seq_cst) write to an address
// publishes its thread's clock there, an acquire (or seq_cst) read of the
// address takes it. It is an approximation (a lock handed over inside the
// parking lot leaves no step, a relaxed read-modify-write does not extend a
// release sequence), so it is only used to *name* a finding, never to report
// one.
//
// A racing pair is named by its plain accesses, because that is where the
// fix goes: the plain write if the pair has one, else the plain access(es);
// sorted and without repeats. So a plain store racing with many different
// readers is one cause, whichever reader noticed it, and ThreadSanitizer's
// stacks (RaceCauseFromTsanReport) name it the same way. The read half of a
// plain read-modify-write is named by its write (the trace shows which
// loads are; TSan's stacks do not, so there a racing read half keeps its own
// site).

#ifndef FTF_AUDIT_UNSYNC_H_
#define FTF_AUDIT_UNSYNC_H_

#include <map>
#include <string>
#include <vector>

#include "sched/trace.h"

namespace ftf::audit {

// One access of a racing pair, as the signature sees it.
struct RaceAccess {
  std::string site;  // "core/slot_access.cc:133"
  bool write = false;
  bool plain = false;
};

// "race A" or "race A B": the pair named by its plain accesses (see above).
std::string NormalizedRaceCause(const RaceAccess& a, const RaceAccess& b);

struct RacingPair {
  int earlier = -1;  // indices into the steps
  int later = -1;
};

// The racing pairs whose later access is at or before index `upto` of
// `steps` (oldest first), in the order of their later access.
std::vector<RacingPair> RacingPairs(const std::vector<sched::TraceStep>& steps, int upto);

RaceAccess AccessOf(const sched::TraceStep& s);

// A plain load whose thread's next access to the same address, in the same
// operation (note), is a plain store is the read half of one unsynchronized
// read-modify-write (`old = *p; *p = v;`): one defect, whose fix (an
// exchange, or a lock) replaces both. Read site -> write site, for every such
// pair of the trace.
using ReadHalves = std::map<std::string, std::string>;
ReadHalves PlainReadModifyWrites(const std::vector<sched::TraceStep>& steps);

// The access as the signature names it: a plain load that is the read half
// of a read-modify-write becomes its plain write.
RaceAccess AsWriteHalf(RaceAccess a, const ReadHalves& halves);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_UNSYNC_H_
