// replay.cc - see replay.h.

#include "runner/replay.h"

#include "absl/status/statusor.h"
#include "audit/signature.h"
#include "core/variant.h"
#include "program/text.h"
#include "runner/runner.h"

namespace ftf::runner {

Replayed ReplayText(std::string_view program_text, std::string_view variant) {
  Replayed out;
  absl::StatusOr<program::Program> p = program::ParseText(program_text);
  if (!p.ok()) {
    out.error = "the program does not parse: " + std::string(p.status().message());
    return out;
  }
  const core::Variant* v = core::FindVariant(std::string(variant));
  if (v == nullptr) {
    out.error = "unknown variant '" + std::string(variant) + "'";
    return out;
  }
  Runner r;
  RunnerOptions opts;
  opts.variant = v;
  opts.exec.full_trace = true;
  RunOutcome run = r.Run(*p, opts);
  for (int i = 0; i < 3 && !run.finding; ++i) run = r.Run(*p, opts);
  if (!run.finding) return out;
  const audit::Signature sig = audit::SignatureOf(*run.finding, &r.executor().trace(), &r.ledger());
  out.kind = run.finding->kind;
  out.signature = sig.Hex();
  out.cause = sig.cause;
  return out;
}

}  // namespace ftf::runner
