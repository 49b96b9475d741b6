// ledger_format.cc - object histories as text, and the executor's "now"
// (ledger_internal.h).

#include <unordered_map>

#include "absl/strings/str_format.h"
#include "audit/audit_scope.h"
#include "audit/ledger.h"
#include "audit/ledger_internal.h"
#include "audit/step_note.h"
#include "audit/value_log.h"
#include "core/object.h"
#include "program/op.h"
#include "sched/fiber_executor.h"
#include "sched/trace.h"

namespace ftf::audit {
namespace internal {

bool InFiberRun() { return sched::FiberExecutor::Active() != nullptr; }

uint64_t CurrentStep() {
  const sched::FiberExecutor* ex = sched::FiberExecutor::Active();
  return ex != nullptr ? ex->step() : 0;
}

LastStep CurrentSite(int thread) {
  LastStep out;
  const sched::FiberExecutor* ex = sched::FiberExecutor::Active();
  if (ex == nullptr) return out;
  const std::vector<sched::TraceStep> steps = ex->trace().Steps();
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if (it->thread != thread) continue;
    out.site = absl::StrFormat("%s:%d", ShortPath(it->file), it->line);
    const StepNote note = UnpackStepNote(it->note);
    if (note.valid) out.operation = StepNoteMnemonic(note);
    break;
  }
  return out;
}

const char* ShortPath(const char* file) { return sched::ShortFile(file); }

}  // namespace internal

namespace {

std::string LocalText(int64_t v) {
  if (v == core::kImmortalRefcntLocal) return "immortal";
  return absl::StrFormat("%d", v);
}

// "2|QUEUED": the signed count and the flag of an encoded ob_ref_shared.
std::string SharedText(int64_t v) {
  static const char* const kFlags[] = {"", "|WEAKREF", "|QUEUED", "|MERGED"};
  return absl::StrFormat("%d%s", core::RefSharedCount(v), kFlags[core::RefSharedFlags(v)]);
}

std::string CountText(int64_t v) { return v == kUnknownCount ? std::string("?") : absl::StrFormat("%d", v); }

std::string OpText(int op_index, uint8_t opcode) {
  if (opcode >= program::kNumOpCodes) return "-";
  return absl::StrFormat("op#%d %s", op_index, program::GetOpInfo(static_cast<program::OpCode>(opcode)).mnemonic);
}

}  // namespace

const char* LedgerEventKindName(LedgerEventKind k) {
  switch (k) {
    case LedgerEventKind::kCreated: return "created";
    case LedgerEventKind::kRef: return "ref";
    case LedgerEventKind::kBrcQueued: return "brc-queued";
    case LedgerEventKind::kDelayedDecref: return "delayed-decref";
    case LedgerEventKind::kDeallocStart: return "dealloc";
    case LedgerEventKind::kFreeBlock: return "free-block";
    case LedgerEventKind::kBlockReused: return "block-reused";
    case LedgerEventKind::kStore: return "stored";
    case LedgerEventKind::kLoad: return "loaded";
  }
  return "?";
}

std::string RefLedger::FormatEvent(const LedgerEvent& e) {
  switch (e.kind) {
    case LedgerEventKind::kCreated:
      return absl::StrFormat("created (refcount %s)", CountText(e.total_after));
    case LedgerEventKind::kRef: {
      const bool local = core::RefOpIsLocal(e.op);
      std::string field = local ? absl::StrFormat("local %s->%s", LocalText(e.before), LocalText(e.after))
                                : absl::StrFormat("shared %s->%s", SharedText(e.before), SharedText(e.after));
      return absl::StrFormat("%s %s (refcount %s->%s)", core::RefOpName(e.op), field, CountText(e.total_before),
                             CountText(e.total_after));
    }
    case LedgerEventKind::kBrcQueued:
      return e.other == 0 ? std::string("merged by the queuer (owner exited)")
                          : absl::StrFormat("pushed on T%d's merge queue", e.other - 1);
    case LedgerEventKind::kDelayedDecref:
      return absl::StrFormat("QSBR delayed decref queued (goal %d)", e.other);
    case LedgerEventKind::kDeallocStart:
      return absl::StrFormat("dealloc started (refcount %s)", CountText(e.total_after));
    case LedgerEventKind::kFreeBlock:
      return "block freed";
    case LedgerEventKind::kBlockReused:
      return absl::StrFormat("block reused for obj#%d", e.other);
    case LedgerEventKind::kStore:
      return absl::StrFormat("stored into %s of obj#%d", DescribeValueKey(e.key), e.other);
    case LedgerEventKind::kLoad:
      return absl::StrFormat("loaded from %s of obj#%d", DescribeValueKey(e.key), e.other);
  }
  return "?";
}

std::string RefLedger::FormatHistory(uint64_t id, const sched::Trace* trace) const {
  AuditScope scope(mu_);
  const ObjectLife* life = Find(id);
  if (life == nullptr) return "";
  std::unordered_map<uint64_t, std::string> sites;  // step -> "core/x.cc:12"
  if (trace != nullptr) {
    for (const sched::TraceStep& s : trace->Steps()) {
      sites[s.step] = absl::StrFormat("%s:%d", sched::ShortFile(s.file), s.line);
    }
  }
  std::string out = absl::StrFormat("obj#%d (%d slots): allocated by T%d at step %d (%s)", id, life->nslots,
                                    life->alloc_thread, life->alloc_step, OpText(life->alloc_op, life->alloc_opcode));
  if (life->dealloc_thread >= 0) {
    absl::StrAppendFormat(&out, "; dealloc started by T%d at step %d", life->dealloc_thread, life->dealloc_step);
  }
  if (life->state == LifeState::kFreed) {
    absl::StrAppendFormat(&out, "; block freed by T%d at step %d", life->free_thread, life->free_step);
  }
  if (life->block_reused) out += "; block since reused";
  out += "\n";
  for (uint32_t i : life->events) {
    const LedgerEvent& e = events_[i];
    auto site = sites.find(e.step);
    absl::StrAppendFormat(&out, "  step %5d  T%-2d %-24s %-22s %s\n", e.step, e.thread, OpText(e.op_index, e.opcode),
                          site == sites.end() || e.step == 0 ? std::string("-") : site->second, FormatEvent(e));
  }
  return out;
}

}  // namespace ftf::audit
