// audit_probe - a tiny program that dies the way a fuzz target dies, for
// sanitizer_report_test.cc (a sanitizer report or an auditor's abort kills
// the process, so the test runs this in a subprocess and reads its stderr).
// It links fuzzers/sanitizer_defaults.cc like every fuzz target, so the
// harness's own options (halt_on_error, ...) are in force.
//
// Modes (argv[1]); every mode runs two logical threads under the fiber
// executor with a CrashContext installed, as the runner does:
//   ledger   a ledger finding (PREMATURE_FREE) -> ReportAndAbort
//   race     a plain store by both threads      -> TSan data race (tsan builds)
//   race_big the same, with a program text whose rendering makes 400k
//            function entries and exits: TSan events enough to need new
//            trace parts, which hung the process when the report was built
//            inside TSan's report hook (sanitizer_report.h)
//   norace   the same with relaxed atomics      -> exits 0
//   segv     a store through a null pointer     -> the sanitizer's SEGV report
//   uaf      a load from a freed object's slot  -> ASan use-after-poison (asan builds)
//   ubsan    a signed overflow inside a thread  -> UBSan (asan builds)
//   clean    nothing wrong                      -> exits 0

#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "audit/finding.h"
#include "audit/ledger.h"
#include "audit/report.h"
#include "audit/sanitizer_report.h"
#include "audit/step_note.h"
#include "core/atomics.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "program/program.h"
#include "program/text.h"
#include "sched/fiber_executor.h"

namespace {

using ftf::core::Object;

ftf::program::ScheduleSpec Direct(std::vector<uint8_t> bytes) {
  ftf::program::ScheduleSpec s;
  s.bytes = std::move(bytes);
  return s;
}

class Registers : public ftf::audit::HolderSource {
 public:
  void ForEachHolder(const ftf::audit::HolderVisitor& visit) const override {
    for (int t = 0; t < 2; ++t) visit(ftf::audit::Holder{ftf::audit::Holder::Kind::kRegister, t, 0, 0, {}}, regs[t]);
  }
  Object* regs[2] = {nullptr, nullptr};
};

volatile int g_overflow_base = INT_MAX;
int* volatile g_null = nullptr;

// An instrumented call that the optimizer keeps: each is a TSan function
// entry and exit.
[[gnu::noinline]] int Tick(int x) {
  asm volatile("" : "+r"(x));
  return x + 1;
}

int Run(const std::string& mode) {
  const ftf::program::Program program = ftf::program::EmptyProgram();
  ftf::audit::CrashContext crash;
  crash.program_text = [&] {
    if (mode == "race_big") {
      int n = 0;
      for (int i = 0; i < 200000; ++i) n = Tick(n);
      if (n != 200000) std::abort();
    }
    return ftf::program::ToText(program);
  };
  crash.input_path = "crash-probe";
  crash.variant = "locked";
  ftf::audit::SetCrashContext(&crash);

  ftf::core::Runtime rt(2);
  ftf::audit::RefLedger ledger(rt);
  Registers regs;
  ledger.set_holders(&regs);
  ledger.Install();
  ftf::sched::FiberExecutor ex;
  ftf::core::Cell<int> shared;
  Object* o = ftf::core::NewObject(rt.thread(0), 1);
  const uint64_t id = ftf::core::ObjectId(o);
  regs.regs[0] = o;
  if (mode == "ledger") regs.regs[1] = o;  // a second holder without Py_INCREF

  auto body = [&](int t) {
    ftf::core::ThreadState& ts = rt.thread(t);
    ex.SetNote(ftf::audit::PackStepNote(0, ftf::program::OpCode::kStoreAttrSlot, id));
    if (mode == "race" || mode == "race_big") {
      shared.StorePlain(t);
    } else if (mode == "segv") {
      (void)shared.LoadRelaxed();  // a scheduling point first, as in any core path
      *g_null = t;
    } else if (mode == "norace") {
      shared.StoreRelaxed(t);
    } else if (mode == "ubsan") {
      (void)shared.LoadRelaxed();  // a scheduling point first, as in any core path
      volatile int sum = g_overflow_base + (t + 1);
      (void)sum;
    } else if (t == 0 && (mode == "ledger" || mode == "uaf")) {
      Object* mine = regs.regs[0];
      regs.regs[0] = nullptr;
      ftf::core::Decref(ts, mine);  // ledger: obj#2 freed while r0 of T1 holds it
      if (mode == "uaf") (void)mine->slot(0).LoadSeqCst();  // the freed payload is poisoned
    }
  };
  auto report = [&](const ftf::audit::Finding& f) {
    ftf::audit::ReportContext ctx;
    ctx.program = &program;
    ctx.input_path = crash.input_path;
    ctx.variant = crash.variant;
    ctx.trace = &ex.trace();
    ctx.ledger = &ledger;
    ftf::audit::ReportAndAbort(f, ctx);
  };
  try {
    ex.Run(2, body, Direct({0xF8, 0xF9}));
  } catch (const ftf::audit::FindingException& e) {
    report(e.finding());
  }
  // As the Runner does: a TSan report was recorded and the run went on.
  if (std::optional<ftf::audit::Finding> race = ftf::audit::TakePendingSanitizerFinding()) report(*race);
  std::printf("probe %s: no finding\n", mode.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: audit_probe ledger|race|race_big|norace|segv|uaf|ubsan|clean\n");
    return 2;
  }
  return Run(argv[1]);
}
