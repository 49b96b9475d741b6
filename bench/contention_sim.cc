// contention_sim.cc - the contention benchmarks on a simulated many-core
// machine (sched/virtual_clock.h).
//
// Two programs, the same as the real-thread benchmarks:
//
//   churn   gh-152075's LOAD_GLOBAL benchmark (globals_contention_bench.cc):
//           `--threads` readers, each running `--iters` iterations of 8
//           globals + 3 builtins loads through its own LOAD_GLOBAL sites and
//           a safe point, and one invalidator (thread 0) inserting and
//           deleting a temporary global, then sleeping `--interval_us`
//           (detached), until the readers are done. --phase_us X delays the
//           first invalidation by X us: the simulator is deterministic, so
//           the bench varies this phase to see how much a ratio depends on
//           where the invalidations fall.
//   store   the lock-free STORE_ATTR_SLOT proposal's contended store
//           (slot_store_bench.cc's store_contended): `--threads` threads
//           storing `--iters` times into the same slot of one object.
//
// Each instruction also costs `--dispatch_ns` of CPU outside the core (the
// interpreter's dispatch around it, which the model does not have; the
// document's 2.2 s for 10M iterations x 11 loads is ~20 ns per load).
// The machine has `--cpus` virtual CPUs; costs are the CostTable's defaults,
// each class scalable with --scale class=factor (repeatable).
//
// Output (--json): one object per variant:
//   {"bench":"sim","program":..,"variant":..,"cpus":..,"threads":..,"iters":..,
//    "virtual_s":..,"steps":..,"hash":"..","contended":..,"attempts":..,"deopts":..,
//    "invalidations":..,"parks":..,"blocked_s":..,"blocked_s_globals":..,
//    "blocked_s_builtins":..,"blocked_s_object":..,"blocked_s_other":..,
//    "transfer_s":..,"cpu_s":..,"generic":..,"costs":".."}
// Needs the scheduling hooks compiled in (the bench-hooks tree).
//
// Usage: contention_sim --program churn|store [--cpus N] [--threads N]
//                       [--iters N] [--interval_us N] [--phase_us X] [--dispatch_ns X]
//                       [--variants a,b] [--scale class=f ...] [--json]

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/dict.h"
#include "core/load_global.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/slot_access.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "core/type.h"
#include "core/variant.h"
#include "churn_world.h"
#include "sched/virtual_clock.h"
#include "tools/args.h"

namespace ftf::bench {
namespace {

using core::Object;
using core::ThreadState;
using sched::VcResult;
using sched::VirtualClockExecutor;

struct Options {
  std::string program = "churn";
  int cpus = 8;
  int threads = 4;
  long iters = 2000;
  long interval_us = 100;
  double phase_us = 0;  // the invalidator's first insert comes after this
  double dispatch_ns = 10.0;
  std::vector<std::string> variants;
  sched::CostTable costs;
  bool json = false;
};

struct Row {
  VcResult r;
  double virtual_ns = 0;  // the workers' makespan (the churn's invalidator excluded)
  long contended = 0, attempts = 0, deopts = 0, invalidations = 0, generic = 0;
  double blocked_globals = 0, blocked_builtins = 0, blocked_object = 0, blocked_other = 0;
};

void SplitWaits(Row& row, const void* a, const void* b, double* da, double* db) {
  for (const sched::VcWaitStats& w : row.r.waits) {
    if (w.key == a) {
      *da += w.blocked_ns;
    } else if (w.key == b) {
      *db += w.blocked_ns;
    } else {
      row.blocked_other += w.blocked_ns;
    }
  }
}

Row RunChurn(VirtualClockExecutor& ex, const core::Variant& variant, const Options& opt) {
  const int readers = opt.threads;
  core::Runtime rt(readers + 1);
  core::DictState state;
  ThreadState& t0 = rt.thread(0);
  core::ThreadStart(t0);
  bench::ChurnWorld w = bench::BuildChurnWorld(rt, state, t0, variant, /*spare=*/1);
  const std::vector<Object*>& names = w.names;
  const std::vector<Object*>& values = w.values;
  Object* const temp = w.temp;
  core::GlobalsEnv& env = w.env;
  // Executor-side bookkeeping (plain: the logical threads are fibers of one
  // OS thread and these are not part of the modelled program).
  int readers_done = 0;
  Row row;
  std::vector<double> finish(readers + 1, 0.0);
  VcResult r = ex.Run(readers + 1, [&](int me) {
    if (me == 0) {
      if (opt.phase_us > 0) ex.Sleep(opt.phase_us * 1000.0);
      while (readers_done < readers) {
        core::InvalidateGlobals(t0, env, temp, values.back());
        ++row.invalidations;
        core::SafePoint(t0);
        core::Detach(t0);
        ex.Sleep(static_cast<double>(opt.interval_us) * 1000.0);
        core::Attach(t0);
      }
      return;
    }
    ThreadState& ts = rt.thread(me);
    core::ThreadStart(ts);
    std::vector<core::LoadGlobalSite> sites(names.size());
    for (size_t i = 0; i < names.size(); ++i) sites[i].name = names[i];
    for (long it = 0; it < opt.iters; ++it) {
      for (core::LoadGlobalSite& site : sites) {
        ex.Advance(opt.dispatch_ns);
        core::LoadGlobalResult res = core::LoadGlobal(ts, env, site);
        row.deopts += res.deopts;
        row.attempts += res.specialize_attempts;
        row.contended += res.specialize.outcome == core::SpecializeOutcome::kContended ? 1 : 0;
        core::Decref(ts, res.value);
      }
      core::SafePoint(ts);
    }
    core::ThreadExit(ts);
    finish[me] = ex.Now();
    ++readers_done;
  }, sched::VcOptions{opt.cpus, opt.costs});
  row.r = std::move(r);
  for (int i = 1; i <= readers; ++i) row.virtual_ns = std::max(row.virtual_ns, finish[i]);
  SplitWaits(row, &env.globals->ob->ob_mutex, &env.builtins->ob->ob_mutex, &row.blocked_globals,
             &row.blocked_builtins);
  core::DictFree(t0, env.globals);
  core::DictFree(t0, env.builtins);
  core::ThreadExit(t0);
  return row;
}

Row RunStore(VirtualClockExecutor& ex, const core::Variant& variant, const Options& opt) {
  const int n = opt.threads;
  core::Runtime rt(n + 1);
  core::TypeSystem sys(rt, variant);
  ThreadState& t0 = rt.thread(0);
  core::ThreadStart(t0);
  core::Type* point = sys.NewHeapType(t0, "Point", {{"x"}, {"y"}, {"z"}});
  Object* one = core::NewStaticObject(rt, 0);
  Object* o = core::NewInstance(t0, point);
  Row row;
  std::vector<double> finish(n, 0.0);
  VcResult r = ex.Run(n, [&](int me) {
    ThreadState& ts = rt.thread(me + 1);
    core::ThreadStart(ts);
    core::AttrSite site(sys, core::AttrSite::Family::kStore, "x");
    for (int i = 0; i < 4; ++i) core::StoreAttr(ts, site, o, one);  // warm-up: specialized
    for (long i = 0; i < opt.iters; ++i) {
      ex.Advance(opt.dispatch_ns);
      core::AttrResult res = core::StoreAttr(ts, site, o, one);
      row.generic += res.specialized ? 0 : 1;
    }
    core::ThreadExit(ts);
    finish[me] = ex.Now();
  }, sched::VcOptions{opt.cpus, opt.costs});
  row.r = std::move(r);
  for (double f : finish) row.virtual_ns = std::max(row.virtual_ns, f);
  SplitWaits(row, &o->ob_mutex, nullptr, &row.blocked_object, &row.blocked_other);
  core::Decref(t0, o);
  core::ThreadExit(t0);
  return row;
}

const char* ShortName(const char* file) {
  const char* s = std::strstr(file, "src/");
  if (s != nullptr) return s + 4;
  const char* b = std::strrchr(file, '/');
  return b != nullptr ? b + 1 : file;
}

bool ParseArgs(int argc, char** argv, Options* opt) {
  tools::ArgParser args;
  args.Flag("json", &opt->json)
      .String("program", &opt->program)
      .Int("cpus", 1, 4096, &opt->cpus)
      .Int("threads", 1, sched::kVcMaxThreads, &opt->threads)
      .Int("iters", 1, 1'000'000'000, &opt->iters)
      .Int("interval_us", 0, 1'000'000'000, &opt->interval_us)
      .Double("phase_us", 0, 1e12, &opt->phase_us)
      .Double("dispatch_ns", 0, 1e9, &opt->dispatch_ns)
      .List("variants", &opt->variants)
      // --scale class=factor, repeatable: one cost class of the table times factor.
      .Value("scale", 0, [opt](std::string_view v) -> absl::Status {
        const size_t eq = v.find('=');
        if (eq != std::string_view::npos) {
          absl::StatusOr<double> f = tools::ParseDouble(v.substr(eq + 1), 0, 1e6);
          if (f.ok() && opt->costs.Scale(std::string(v.substr(0, eq)), *f)) return absl::OkStatus();
        }
        return absl::InvalidArgumentError(
            "expects class=factor with class one of load, store, rmw, fence, transfer, park, unpark, "
            "wake, access, atomic, syscall, all; got '" + std::string(v) + "'");
      });
  absl::Status s = args.Parse(argc, argv);
  if (!s.ok() || args.help()) {
    if (!s.ok()) std::fprintf(stderr, "contention_sim: %s\n", std::string(s.message()).c_str());
    std::fprintf(stderr,
                 "usage: contention_sim [--program churn|store] [--cpus N] [--threads N] [--iters N] "
                 "[--interval_us N] [--phase_us X] [--dispatch_ns X] [--variants a,b] [--scale class=factor]... "
                 "[--json]\n");
    return false;
  }
  if (opt->program != "churn" && opt->program != "store") {
    std::fprintf(stderr, "contention_sim: --program must be churn or store\n");
    return false;
  }
  const int total = opt->threads + (opt->program == "churn" ? 1 : 0);
  if (opt->cpus < 1 || opt->threads < 1 || total > sched::kVcMaxThreads || opt->iters < 1) {
    std::fprintf(stderr, "contention_sim: need cpus >= 1, 1 <= threads (+1 for churn) <= %d, iters >= 1\n",
                 sched::kVcMaxThreads);
    return false;
  }
  if (opt->variants.empty()) {
    opt->variants = opt->program == "churn"
                        ? std::vector<std::string>{"locked", "trybegin_globals", "islocked_globals"}
                        : std::vector<std::string>{"locked", "lockfree_slots", "lockfree_slots_fixed"};
  }
  return true;
}

}  // namespace
}  // namespace ftf::bench

int main(int argc, char** argv) {
  using namespace ftf;
  bench::Options opt;
  if (!bench::ParseArgs(argc, argv, &opt)) return 2;
#if !FTF_SCHED_HOOKS
  std::fprintf(stderr, "contention_sim: this build has the scheduling hooks compiled out; use build/bench-hooks\n");
  return 2;
#endif
  sched::VirtualClockExecutor ex;
  if (!opt.json) {
    std::printf("%s on %d virtual CPUs, %d threads, %ld iters; costs: %s\n", opt.program.c_str(), opt.cpus,
                opt.threads, opt.iters, opt.costs.ToString().c_str());
  }
  for (const std::string& name : opt.variants) {
    const core::Variant* v = core::FindVariant(name);
    if (v == nullptr) {
      std::fprintf(stderr, "contention_sim: unknown variant %s\n", name.c_str());
      return 2;
    }
    bench::Row row = opt.program == "churn" ? bench::RunChurn(ex, *v, opt) : bench::RunStore(ex, *v, opt);
    double parks = 0, blocked = 0, transfer = 0, cpu = 0;
    for (const sched::VcThreadStats& t : row.r.threads) {
      parks += static_cast<double>(t.parks);
      blocked += t.blocked_ns;
      transfer += t.transfer_ns;
      cpu += t.cpu_ns;
    }
    if (!row.r.ok) {
      std::fprintf(stderr, "contention_sim: %s: run abandoned: %s\n", name.c_str(), row.r.error.c_str());
      return 1;
    }
    if (opt.json) {
      std::printf("{\"bench\":\"sim\",\"program\":\"%s\",\"variant\":\"%s\",\"cpus\":%d,\"threads\":%d,\"iters\":%ld,"
                  "\"virtual_s\":%.9f,\"steps\":%llu,\"hash\":\"%016llx\",\"contended\":%ld,\"attempts\":%ld,"
                  "\"deopts\":%ld,\"invalidations\":%ld,\"generic\":%ld,\"parks\":%.0f,\"blocked_s\":%.9f,"
                  "\"blocked_s_globals\":%.9f,\"blocked_s_builtins\":%.9f,\"blocked_s_object\":%.9f,"
                  "\"blocked_s_other\":%.9f,\"transfer_s\":%.9f,\"cpu_s\":%.9f,\"dispatch_ns\":%g,\"phase_us\":%g,"
                  "\"costs\":\"%s\"}\n",
                  opt.program.c_str(), name.c_str(), opt.cpus, opt.threads, opt.iters, row.virtual_ns * 1e-9,
                  static_cast<unsigned long long>(row.r.steps), static_cast<unsigned long long>(row.r.trace_hash),
                  row.contended, row.attempts, row.deopts, row.invalidations, row.generic, parks, blocked * 1e-9,
                  row.blocked_globals * 1e-9, row.blocked_builtins * 1e-9, row.blocked_object * 1e-9,
                  row.blocked_other * 1e-9, transfer * 1e-9, cpu * 1e-9, opt.dispatch_ns,
                  opt.phase_us, opt.costs.ToString().c_str());
      for (const sched::VcHotSite& h : row.r.hot_sites) {
        std::printf("{\"bench\":\"sim_hot\",\"program\":\"%s\",\"variant\":\"%s\",\"cpus\":%d,\"threads\":%d,"
                    "\"site\":\"%s:%d\",\"transfers\":%lld,\"transfer_s\":%.9f}\n",
                    opt.program.c_str(), name.c_str(), opt.cpus, opt.threads, bench::ShortName(h.file), h.line,
                    static_cast<long long>(h.transfers), h.transfer_ns * 1e-9);
      }
    } else {
      std::printf("%-22s virtual %10.3f us  steps %10llu  contended %7ld  attempts %7ld  parks %7.0f  blocked %10.3f us"
                  "  transfer %10.3f us  invals %ld  generic %ld\n",
                  name.c_str(), row.virtual_ns * 1e-3, static_cast<unsigned long long>(row.r.steps), row.contended,
                  row.attempts, parks, blocked * 1e-3, transfer * 1e-3, row.invalidations, row.generic);
      for (const sched::VcHotSite& h : row.r.hot_sites) {
        std::printf("    transfers at %s:%d: %lld, %.3f us\n", bench::ShortName(h.file), h.line,
                    static_cast<long long>(h.transfers), h.transfer_ns * 1e-3);
      }
    }
    std::fflush(stdout);
  }
  return 0;
}
