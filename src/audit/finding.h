// finding.h - the closed set of things ftfuzz reports, and one finding.
//
// Not a model of CPython: this is the harness's vocabulary. Every auditor
// (the refcount ledger, the value and layout checks, the executor's
// DEADLOCK/LIVELOCK verdicts, the sanitizers) reports one FindingKind, named
// by a stable upper-case string (the style of relacy's test_result_e and of
// libFuzzer's `SUMMARY: libFuzzer: <kind>` lines), so that reports, the
// SUMMARY line, regression files and the variants table (core/variant.h
// `expected_finding`) all use the same words.
//
// A Finding is plain data: what went wrong, at which step of the run, on
// which logical thread, about which objects (stable object ids, never
// addresses), and a short location that stays the same across runs and
// builds of the same source (a core file:line and the operation mnemonic).
//
// Thread-safety: plain values; FindingException is thrown out of observer
// callbacks inside a logical thread so that the fiber executor abandons the
// other threads and rethrows it from FiberExecutor::Run.

#ifndef FTF_AUDIT_FINDING_H_
#define FTF_AUDIT_FINDING_H_

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding_kind.h"

namespace ftf::sched {
struct RunResult;
class Trace;
}  // namespace ftf::sched

namespace ftf::audit {

// The closed set lives in core (core/finding_kind.h: the variant registry
// names kinds too, and core depends on nothing above it).
using core::AllFindingKinds;
using core::FindingKind;
using core::FindingKindName;
using core::kNumFindingKinds;
using core::ParseFindingKind;

struct Finding {
  FindingKind kind = FindingKind::kLeak;
  // Who found it: "ledger", "values", "executor", "ThreadSanitizer", ...
  std::string auditor;
  // The executor step at which it was detected (1-based; 0 = outside a run:
  // set-up, tear-down, or no executor).
  uint64_t step = 0;
  // The logical thread that performed the access (-1: none, e.g. end of run).
  int thread = -1;
  // Stable ids of the objects involved (BlockHeader::object_id), main one first.
  std::vector<uint64_t> objects;
  // The scheduling point of the access, "core/refcount.cc:47" (may be empty).
  std::string site;
  // The operation being executed, e.g. "MEMBER_SET" (may be empty).
  std::string operation;
  // One line: what happened.
  std::string message;
  // Optional extra lines (holders of the object, thread states, ...).
  std::string details;
  // The root cause, when the auditor knows it better than the report can
  // work it out from the trace (audit/signature.h); usually empty.
  std::string cause;

  // "core/refcount.cc:47 in MEMBER_SET", or the part that is known, or
  // "end of run". Never contains addresses, step numbers or PIDs.
  std::string Location() const;
  // The object the header names (0 if none).
  uint64_t main_object() const { return objects.empty() ? 0 : objects.front(); }
};

// True when two findings are "the same finding" for the determinism check:
// same kind, same step, same thread.
bool SameFinding(const Finding& a, const Finding& b);
// "DOUBLE_FREE at step 12 on T1" (for messages).
std::string ShortDescription(const Finding& f);

// Thrown by auditors at the step where a check fails. In a fiber run the
// executor abandons the other threads and rethrows it from Run.
class FindingException : public std::exception {
 public:
  explicit FindingException(Finding f);
  const Finding& finding() const { return finding_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  Finding finding_;
  std::string what_;
};

// DEADLOCK / LIVELOCK from the fiber executor's verdict; nullopt for OK.
// The location lists, sorted and without duplicates, where the threads were
// stuck, so the SUMMARY line deduplicates:
//   DEADLOCK  "PyMutex_Lock@core/mutex.cc:40" per blocked thread;
//   LIVELOCK  with `trace` (the run's), the spin loop: the sites the busiest
//             thread of the recorded tail passed at least twice (at most 4);
//             without, the last scheduling point of each runnable thread.
// `details` has one line per thread, no addresses.
std::optional<Finding> FindingFromRunResult(const sched::RunResult& r, const sched::Trace* trace = nullptr);

}  // namespace ftf::audit

#endif  // FTF_AUDIT_FINDING_H_
