// globals_contention_bench.cc - gh-152075's LOAD_GLOBAL contention
// benchmark (gh-152075), ported to the model core.
//
// As in the document: reader threads each run a loop that loads 8 globals
// (G1..G8) and 3 builtins (len, sum, abs) through their own LOAD_GLOBAL
// instructions (thread-local bytecode), and an optional invalidator thread
// inserts and deletes a temporary global (_temp_key) and then sleeps for the
// interval. The time from the readers' start to their last join is reported,
// for each specializer variant, with and without the invalidator.
//
// Fidelity notes: the values are immortal, like the small ints and (in
// effect) the builtin functions of the document's script; each loop
// iteration ends with a safe point (the backward jump's _CHECK_PERIODIC,
// which reports a QSBR quiescent state); the invalidator detaches while it
// sleeps (time.sleep releases the thread state). The model's PyMutex has no
// parking futex: a blocked waiter yields its OS thread in a loop (see
// sched_hook.h), which is cheaper to wake than CPython's parking lot and
// costs CPU while waiting.
//
// Blocking is measured by a WaitMeter (wait_meter.h) installed for every
// run (in builds with the access hooks compiled out; elsewhere -1): parks and wall-clock blocked time per mutex (the globals dict's, the
// builtins dict's), summed over threads. With more readers than CPUs a
// thread holding the dicts' critical section is preempted while others
// arrive at the specializer, as on a big machine when every reader deopts at
// once after an invalidation.
//
// Usage: globals_contention_bench [--readers N] [--iters N] [--interval_us N]
//                                 [--variants a,b,c] [--repeat N]
//                                 [--invalidation no|yes|both] [--json]
// Defaults: readers = hardware threads, iters = 200000, interval = 100 us
// (the document's 0.0001 s), variants = locked,trybegin_globals,islocked_globals,
// invalidation both. The repetitions are the outer loop, so the variants are
// interleaved (each repetition runs every variant once, the order rotated by
// one each repetition).
// --json: one object per run:
//   {"bench":"globals","variant":..,"invalidation":"yes","rep":..,"readers":..,
//    "seconds":..,"hit_pct":..,"deopts":..,"attempts":..,"contended":..,
//    "invalidations":..,"parks":..,"blocked_s":..,"parks_globals":..,
//    "blocked_s_globals":..,"parks_builtins":..,"blocked_s_builtins":..}

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/dict.h"
#include "core/load_global.h"
#include "core/mutex.h"
#include "core/object.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/stw.h"
#include "core/thread_state.h"
#include "core/variant.h"
#include "churn_world.h"
#include "wait_meter.h"
#include "tools/args.h"

namespace ftf::core {
namespace {

struct Options {
  int readers = std::max(1u, std::thread::hardware_concurrency());
  long iters = 200000;
  long interval_us = 100;
  std::vector<std::string> variants = {"locked", "trybegin_globals", "islocked_globals"};
  int repeat = 1;
  std::vector<bool> invalidation = {false, true};
  bool json = false;
};

struct Stats {
  double seconds = 0;
  long loads = 0;
  long hits = 0;
  long deopts = 0;
  long attempts = 0;
  long contended = 0;
  long invalidations = 0;
  long parks = 0;
  double blocked_s = 0;
  long parks_globals = 0, parks_builtins = 0;
  double blocked_s_globals = 0, blocked_s_builtins = 0;
};

Stats RunOnce(const Variant& variant, const Options& opt, bool invalidate) {
  const int n = opt.readers + 1;  // thread 0 sets up and invalidates
  Runtime rt(n);
  DictState state;
  ThreadState& t0 = rt.thread(0);
  ThreadStart(t0);
  bench::ChurnWorld w = bench::BuildChurnWorld(rt, state, t0, variant, /*spare=*/1);
  const std::vector<Object*>& names = w.names;
  const std::vector<Object*>& values = w.values;
  Object* const temp = w.temp;
  GlobalsEnv& env = w.env;

  bench::WaitMeter meter;
  meter.Name(&env.globals->ob->ob_mutex, "globals");
  meter.Name(&env.builtins->ob->ob_mutex, "builtins");
  SchedHook* previous_hook = bench::kMeterWaits ? InstallSchedHook(&meter) : CurrentSchedHook();

  std::atomic<bool> stop{false};
  std::atomic<long> invalidations{0};
  std::thread invalidator;
  if (invalidate) {
    invalidator = std::thread([&] {
      long k = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        InvalidateGlobals(t0, env, temp, values.back());
        ++k;
        SafePoint(t0);
        if (opt.interval_us > 0) {
          Detach(t0);
          std::this_thread::sleep_for(std::chrono::microseconds(opt.interval_us));
          Attach(t0);
        }
      }
      invalidations.store(k);
    });
  }

  std::atomic<long> hits{0}, deopts{0}, attempts{0}, contended{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> readers;
  for (int r = 1; r <= opt.readers; ++r) {
    readers.emplace_back([&, r] {
      ThreadState& ts = rt.thread(r);
      ThreadStart(ts);
      std::vector<LoadGlobalSite> sites(names.size());
      for (size_t i = 0; i < names.size(); ++i) sites[i].name = names[i];
      long h = 0, d = 0, a = 0, c = 0;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (long it = 0; it < opt.iters; ++it) {
        for (LoadGlobalSite& site : sites) {
          LoadGlobalResult res = LoadGlobal(ts, env, site);
          h += res.hit ? 1 : 0;
          d += res.deopts;
          a += res.specialize_attempts;
          c += res.specialize.outcome == SpecializeOutcome::kContended ? 1 : 0;
          if (res.value == nullptr) std::abort();  // NameError: cannot happen here
          Decref(ts, res.value);
        }
        SafePoint(ts);
      }
      hits += h;
      deopts += d;
      attempts += a;
      contended += c;
      ThreadExit(ts);
    });
  }
  while (ready.load() < opt.readers) std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  auto end = std::chrono::steady_clock::now();
  stop.store(true);
  if (invalidator.joinable()) invalidator.join();
  if (bench::kMeterWaits) InstallSchedHook(previous_hook);

  DictFree(t0, env.globals);
  DictFree(t0, env.builtins);
  ThreadExit(t0);

  Stats s;
  s.seconds = std::chrono::duration<double>(end - start).count();
  s.loads = opt.iters * static_cast<long>(names.size()) * opt.readers;
  s.hits = hits;
  s.deopts = deopts;
  s.attempts = attempts;
  s.contended = contended;
  s.invalidations = invalidations;
  s.parks = bench::kMeterWaits ? meter.total_parks() : -1;
  s.blocked_s = bench::kMeterWaits ? static_cast<double>(meter.total_blocked_ns()) * 1e-9 : -1;
  s.parks_globals = bench::kMeterWaits ? meter.parks(0) : -1;
  s.blocked_s_globals = bench::kMeterWaits ? static_cast<double>(meter.blocked_ns(0)) * 1e-9 : -1;
  s.parks_builtins = bench::kMeterWaits ? meter.parks(1) : -1;
  s.blocked_s_builtins = bench::kMeterWaits ? static_cast<double>(meter.blocked_ns(1)) * 1e-9 : -1;
  return s;
}

bool ParseArgs(int argc, char** argv, Options* opt) {
  tools::ArgParser args;
  std::vector<std::string> variants;
  args.Int("readers", 1, 4096, &opt->readers)
      .Int("iters", 1, 1'000'000'000'000, &opt->iters)
      .Int("interval_us", 0, 1'000'000'000, &opt->interval_us)
      .Int("repeat", 1, 1'000'000, &opt->repeat)
      .Flag("json", &opt->json)
      .Value("invalidation", 0, [opt](std::string_view w) -> absl::Status {
        if (w == "no") {
          opt->invalidation = {false};
        } else if (w == "yes") {
          opt->invalidation = {true};
        } else if (w == "both") {
          opt->invalidation = {false, true};
        } else {
          return absl::InvalidArgumentError("expected no, yes or both, got '" + std::string(w) + "'");
        }
        return absl::OkStatus();
      })
      .List("variants", &variants);
  absl::Status s = args.Parse(argc, argv);
  if (s.ok() && !variants.empty()) opt->variants = variants;
  if (!s.ok() || args.help()) {
    if (!s.ok()) std::fprintf(stderr, "%s: %s\n", argv[0], std::string(s.message()).c_str());
    std::fprintf(stderr,
                 "usage: %s [--readers N] [--iters N] [--interval_us N] [--variants a,b] [--repeat N] "
                 "[--invalidation no|yes|both] [--json]\n",
                 argv[0]);
    return false;
  }
  return true;
}

}  // namespace
}  // namespace ftf::core

int main(int argc, char** argv) {
  using namespace ftf::core;
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) return 2;
  std::vector<const Variant*> variants;
  for (const std::string& name : opt.variants) {
    const Variant* v = FindVariant(name);
    if (v == nullptr) {
      std::fprintf(stderr, "unknown variant %s\n", name.c_str());
      return 2;
    }
    variants.push_back(v);
  }
  if (!opt.json) {
    std::printf("LOAD_GLOBAL contention (gh-152075 benchmark on the model): %d reader threads, %ld iterations "
                "x 11 loads each, invalidation interval %ld us, %u hardware threads, sched hooks %s\n",
                opt.readers, opt.iters, opt.interval_us, std::thread::hardware_concurrency(),
                FTF_SCHED_HOOKS ? "compiled in (none installed)" : "compiled out");
    std::printf("%-18s %-13s %9s %8s %10s %10s %10s %8s %8s %9s\n", "variant", "invalidation", "seconds", "hit%",
                "deopts", "attempts", "contended", "invals", "parks", "blocked_s");
  }
  // Repetitions outermost: the variants alternate, so slow phases of a
  // shared machine fall on all of them alike.
  for (int rep = 0; rep < opt.repeat; ++rep) {
    for (bool inval : opt.invalidation) {
      for (size_t j = 0; j < variants.size(); ++j) {
        // Rotated with the repetition: no variant always runs first.
        const Variant* v = variants[(j + static_cast<size_t>(rep)) % variants.size()];
        Stats s = RunOnce(*v, opt, inval);
        const double hit_pct = 100.0 * static_cast<double>(s.hits) / static_cast<double>(s.loads);
        if (opt.json) {
          std::printf("{\"bench\":\"globals\",\"variant\":\"%s\",\"invalidation\":\"%s\",\"rep\":%d,"
                      "\"readers\":%d,\"iters\":%ld,\"seconds\":%.6f,\"hit_pct\":%.3f,\"deopts\":%ld,"
                      "\"attempts\":%ld,\"contended\":%ld,\"invalidations\":%ld,\"parks\":%ld,"
                      "\"blocked_s\":%.6f,\"parks_globals\":%ld,\"blocked_s_globals\":%.6f,"
                      "\"parks_builtins\":%ld,\"blocked_s_builtins\":%.6f}\n",
                      v->name.c_str(), inval ? "yes" : "no", rep, opt.readers, opt.iters, s.seconds, hit_pct,
                      s.deopts, s.attempts, s.contended, s.invalidations, s.parks, s.blocked_s, s.parks_globals,
                      s.blocked_s_globals, s.parks_builtins, s.blocked_s_builtins);
        } else {
          std::printf("%-18s %-13s %9.3f %7.2f%% %10ld %10ld %10ld %8ld %8ld %9.3f\n", v->name.c_str(),
                      inval ? "yes" : "no", s.seconds, hit_pct, s.deopts, s.attempts, s.contended, s.invalidations,
                      s.parks, s.blocked_s);
        }
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
