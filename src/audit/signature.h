// signature.h - one bug, one finding: the root-cause signature.
//
// Not a model of CPython: the harness's deduplication key. The SUMMARY line
// names where an auditor *noticed* a bug (the operation and the scheduling
// point of the failing check), so one bug seen from several operations gives
// several SUMMARY lines, and different bugs that end at the same check share
// one. The signature names the *cause* instead, as core sites only (file:line
// in src/core, never an operation name, a step number, an address or an
// object id), so it is the same for every interleaving that hits the same
// pair of accesses:
//
//   DATA_RACE      race A [B]                       the racing pair's plain accesses
//                                                   (its plain write if it has one, unsync.h):
//                                                   where the fix goes, whoever noticed
//   refcount kinds race A [B]                       the latest racing pair of the run with a
//   and LEAK                                        plain write (else a plain read) outside the
//                                                   bookkeeping (a lost update breaks a count
//                                                   long after the store that lost it), named
//                                                   as a DATA_RACE is; without one:
//                  op A                             the offending operation's core path
//                  leak last-access A               (LEAK) the leaked object's last access
//   WRONG_VALUE    stale-load A missed-write B      the load that read the wrong value and
//   BAD_LAYOUT                                      the other thread's write it did not see
//   DEADLOCK       blocked W@A W@B ...              where each blocked thread waits (sorted)
//   LIVELOCK       spin A B ...                     the spin loop's sites (sorted)
//   CRASH          crash A                          the faulting core site
//   HANG           hang A ...                       where the threads were
//   ASAN / UBSAN   <bug> A                          the sanitizer's bug type and first core frame
//
// The hash is FNV-1a 64 of the cause alone, so a defect that TSan reports as
// a DATA_RACE and ASan's run sees as a use after free is one finding (the
// causes of different kinds never share a prefix otherwise). Every report prints, right
// before its SUMMARY line:
//
//   SIGNATURE: ftfuzz: <KIND> <16 lowercase hex> <cause>
//
// The cause is computed from the failing run's trace (addresses are used only
// to match two accesses of the same run) and the ledger's object histories,
// both of which the report already has; a finding whose auditor knows its
// cause better (Finding::cause) keeps it. A race TSan reports is named from
// the two accesses TSan saw (RaceCauseFromMops, in the run; the same rule as
// RaceCauseFromTsanReport on the printed report): the trace holds only Cell
// accesses, so a race on a plain field would otherwise be named after the
// thread's last Cell access.

#ifndef FTF_AUDIT_SIGNATURE_H_
#define FTF_AUDIT_SIGNATURE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/finding.h"

namespace ftf::sched {
class Trace;
}

namespace ftf::audit {

class RefLedger;

struct Signature {
  FindingKind kind = FindingKind::kLeak;
  std::string cause;
  uint64_t hash = 0;
  // 16 lowercase hex digits.
  std::string Hex() const;
};

// FNV-1a 64 of the cause (the kind is shown, not hashed).
Signature MakeSignature(FindingKind kind, std::string cause);

// The cause of `f` (see the table above), from the run's trace and ledger
// (either may be null: the cause then falls back to the finding's own site).
std::string RootCause(const Finding& f, const sched::Trace* trace, const RefLedger* ledger);

// f.cause if set, else RootCause.
Signature SignatureOf(const Finding& f, const sched::Trace* trace, const RefLedger* ledger);

// "SIGNATURE: ftfuzz: DATA_RACE 0123456789abcdef race core/a.cc:1 core/b.cc:2"
std::string SignatureLine(const Signature& s);

// For a ThreadSanitizer race report (the "WARNING: ThreadSanitizer: data
// race" block, up to its SUMMARY line): the first src/core frame (other than
// the Cell wrapper in core/atomics.h) of each of the two stacks, named by
// the pair's plain accesses as the model trace's DATA_RACE cause is (TSan
// says which access is atomic: "Atomic write of size 8", "Previous read of
// size 8"); "" if the text has no such pair.
std::string RaceCauseFromTsanReport(std::string_view report);

// The same, from TSan's own record of the two accesses (the race report's
// memory operations, each as the symbolizer names its frames: one
// "/path/file.cc:line:column" string per frame, inlined frames expanded,
// innermost first); "" if a stack has no source line.
struct RaceMop {
  std::vector<std::string> frames;
  bool write = false;
  bool atomic = false;
};
std::string RaceCauseFromMops(const RaceMop& current, const RaceMop& previous);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_SIGNATURE_H_
