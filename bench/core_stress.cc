// core_stress.cc - the lock-free STORE_ATTR_SLOT proposal's concurrent stress test, run on
// the model core with real OS threads, for comparison with the fuzzer's
// time to find each mutant (docs/bench.md).
//
// --mode slots (the document: "4 writer threads + 2 reader threads racing on
// the same __slots__ object's slots, 200k writes each, 100k reads each"):
// writers store fresh objects of their own (biased to the writer) into x, y,
// z of one object, 3 of 4 stores through STORE_ATTR (specialized after
// warm-up) and 1 of 4 through PyMember_SetOne; 1 write in 16 is a `del`
// (PyMember_SetOne with NULL: the document's test has no deletes, but one of
// the mutants is about them); readers load through LOAD_ATTR and
// PyMember_GetOne. Every thread passes a safe point after each operation.
//
// --mode globals (the globals issue's analogue, gh-152075's benchmark plus
// entry reuse): readers LOAD_GLOBAL G1..G8 and 3 builtins; one churner
// thread inserts and deletes the invalidator's temporary key, pops the last
// global (popitem) and inserts another name that reuses its entry, then puts
// things back. A load of Gi must return Gi's value or raise NameError.
//
// How a round detects a bug (what the document's test checked: "no crash,
// no inconsistency, refcount stays in expected range"):
//   * a dealloc counter is the Runtime's observer: an object id whose
//     dealloc starts twice is a DOUBLE_FREE at once; after the round every
//     value a writer made must have been deallocated exactly once (0: LEAK,
//     the references of a lost store; 2+: DOUBLE_FREE). Object ids are never
//     reused (heap.h), so this is sound on real threads;
//   * WRONG_VALUE from the globals readers' value check, INVARIANT for an
//     attribute error the program cannot raise;
//   * in sanitizer builds, TSan's or ASan's own report (the process dies and
//     the driver counts it); a crash; a round that does not finish within
//     the driver's timeout (HANG: a DEADLOCK or a LIVELOCK).
// --ledger also installs the refcount ledger (audit/ledger.h) in its
// real-thread mode. It is NOT sound there: the core delivers an observer
// event right after the access it describes, which on real threads leaves a
// window in which another thread acts first, so the ledger reports
// USE_AFTER_FREE on `locked` too (seen under TSan). Off by default.
//
// Rounds repeat until --seconds have passed (at least one round); the
// program stops at the first round with a finding. Output: one JSON line per
// round, {"round":i,"seconds":s,"finding":"KIND"|""}, exit status 1 if a
// round found something.
//
// Usage: core_stress --variant V [--mode slots|globals] [--seconds S]
//                    [--writes N] [--reads N] [--ledger]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "audit/finding.h"
#include "audit/ledger.h"
#include "core/dict.h"
#include "core/load_global.h"
#include "core/member.h"
#include "core/mutex.h"
#include "core/observer.h"
#include "core/object.h"
#include "core/qsbr.h"
#include "core/refcount.h"
#include "core/runtime.h"
#include "core/slot_access.h"
#include "core/stw.h"
#include "core/type.h"
#include "core/variant.h"
#include "churn_world.h"
#include "tools/args.h"

namespace ftf::bench {
namespace {

using core::Object;
using core::ThreadState;

struct Options {
  std::string variant = "locked";
  std::string mode = "slots";
  double seconds = 0;
  long writes = 200'000;
  long reads = 100'000;
  bool ledger = false;
};

// Counts dealloc starts per object id (ids are sequential per Runtime and
// never reused). Thread-safety: any thread; relaxed atomic counters.
class DeallocCounter final : public core::Observer {
 public:
  explicit DeallocCounter(size_t capacity) : counts_(new std::atomic<uint32_t>[capacity]()), capacity_(capacity) {}
  void OnDealloc(ThreadState& ts, Object* o) override {
    const uint64_t id = core::ObjectId(o);
    if (id >= capacity_) return;
    if (counts_[id].fetch_add(1, std::memory_order_relaxed) != 0) double_free_.store(true);
  }
  uint32_t Count(uint64_t id) const { return id < capacity_ ? counts_[id].load() : 0; }
  bool double_free() const { return double_free_.load(); }

 private:
  std::unique_ptr<std::atomic<uint32_t>[]> counts_;
  size_t capacity_;
  std::atomic<bool> double_free_{false};
};

// Fans observer events out to the counter and, with --ledger, the ledger.
class Tee final : public core::Observer {
 public:
  Tee(core::Observer* a, core::Observer* b) : a_(a), b_(b) {}
  void OnAlloc(ThreadState& ts, Object* o) override { Both([&](core::Observer* x) { x->OnAlloc(ts, o); }); }
  void OnReuse(ThreadState& ts, Object* o, uint64_t prev) override {
    Both([&](core::Observer* x) { x->OnReuse(ts, o, prev); });
  }
  void OnDealloc(ThreadState& ts, Object* o) override { Both([&](core::Observer* x) { x->OnDealloc(ts, o); }); }
  void OnFreeBlock(ThreadState& ts, Object* o) override { Both([&](core::Observer* x) { x->OnFreeBlock(ts, o); }); }
  void OnRefChange(ThreadState& ts, Object* o, core::RefOp op, int64_t before, int64_t after) override {
    Both([&](core::Observer* x) { x->OnRefChange(ts, o, op, before, after); });
  }
  void OnBrcQueued(ThreadState& ts, Object* o, int owner) override {
    Both([&](core::Observer* x) { x->OnBrcQueued(ts, o, owner); });
  }
  void OnRawAlloc(ThreadState& ts, void* p, size_t size) override {
    Both([&](core::Observer* x) { x->OnRawAlloc(ts, p, size); });
  }
  void OnRawFree(ThreadState& ts, void* p) override { Both([&](core::Observer* x) { x->OnRawFree(ts, p); }); }
  void OnDelayed(ThreadState& ts, void* p, bool is_decref, uint64_t goal) override {
    Both([&](core::Observer* x) { x->OnDelayed(ts, p, is_decref, goal); });
  }

 private:
  template <typename F>
  void Both(F f) {
    f(a_);
    if (b_ != nullptr) f(b_);
  }
  core::Observer* a_;
  core::Observer* b_;
};

constexpr int kWriters = 4;
constexpr int kReaders = 2;

// Starts `n` threads that wait for each other before running body(i).
void RunThreads(int n, const std::function<void(int)>& body) {
  std::atomic<int> arrived{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      arrived.fetch_add(1);
      while (arrived.load() < n) std::this_thread::yield();
      body(i);
    });
  }
  for (auto& t : threads) t.join();
}

std::string SlotsRound(const core::Variant& v, const Options& opt) {
  core::Runtime rt(1 + kWriters + kReaders);
  rt.plain_free_list_link = false;  // see heap.h: the benign stale-reader race
  audit::RefLedger ledger(rt, audit::LedgerOptions{false, false, false});
  DeallocCounter deallocs(static_cast<size_t>(kWriters * opt.writes) + 4096);
  Tee tee(&deallocs, opt.ledger ? &ledger : nullptr);
  rt.observer = &tee;
  std::vector<std::vector<uint64_t>> made(kWriters);
  core::TypeSystem sys(rt, v);
  ThreadState& main = rt.thread(0);
  core::ThreadStart(main);
  core::Type* t = sys.NewHeapType(main, "Point", {{"x"}, {"y"}, {"z", core::MemberType::kObject}});
  Object* o = core::NewInstance(main, t);
  const char* names[3] = {"x", "y", "z"};
  std::atomic<int> bad_errors{0};
  core::Detach(main);
  RunThreads(kWriters + kReaders, [&](int i) {
    ThreadState& ts = rt.thread(1 + i);
    core::ThreadStart(ts);
    if (i < kWriters) {
      core::AttrSite sites[3] = {{sys, core::AttrSite::Family::kStore, "x"},
                                 {sys, core::AttrSite::Family::kStore, "y"},
                                 {sys, core::AttrSite::Family::kStore, "z"}};
      for (long k = 0; k < opt.writes; ++k) {
        const int s = static_cast<int>((k + i) % 3);
        if (k % 16 == 15) {
          core::AttrResult r = core::GenericDelAttr(ts, o, names[s]);
          if (!r.ok() && !core::IsAttributeError(r.error)) bad_errors.fetch_add(1);
        } else {
          Object* val = core::NewInstance(ts, sys.object_type());
          made[i].push_back(core::ObjectId(val));
          if (k % 4 != 3) {
            core::StoreAttr(ts, sites[s], o, val);  // consumes val
          } else {
            core::AttrResult r = core::GenericSetAttr(ts, o, names[s], val);
            if (!r.ok()) bad_errors.fetch_add(1);
            core::Decref(ts, val);
          }
        }
        core::SafePoint(ts);
      }
    } else {
      core::AttrSite sites[3] = {{sys, core::AttrSite::Family::kLoad, "x"},
                                 {sys, core::AttrSite::Family::kLoad, "y"},
                                 {sys, core::AttrSite::Family::kLoad, "z"}};
      for (long k = 0; k < opt.reads; ++k) {
        const int s = static_cast<int>((k + i) % 3);
        core::AttrResult r = k % 4 != 3 ? core::LoadAttr(ts, sites[s], o) : core::GenericGetAttr(ts, o, names[s]);
        if (r.ok()) {
          if (r.value == nullptr) bad_errors.fetch_add(1);
          core::Decref(ts, r.value);
        } else if (!core::IsAttributeError(r.error)) {
          bad_errors.fetch_add(1);  // deleted slots raise AttributeError (EX) only
        }
        core::SafePoint(ts);
      }
    }
    core::ThreadExit(ts);
  });
  core::Attach(main);
  core::SafePoint(main);
  std::string finding;
  if (deallocs.double_free()) finding = "DOUBLE_FREE";
  if (finding.empty() && bad_errors.load() != 0) finding = "INVARIANT";
  if (finding.empty() && ledger.has_finding()) finding = std::string("ledger:") + audit::FindingKindName(ledger.finding()->kind);
  // Tear down: empty the slots, drop the object, then every value must have
  // been deallocated exactly once.
  for (const char* n : names) core::GenericDelAttr(main, o, n);
  core::Decref(main, o);
  core::SafePoint(main);
  core::ThreadExit(main);
  core::ProcessDelayed(main);
  if (finding.empty()) {
    for (const auto& ids : made) {
      for (uint64_t id : ids) {
        const uint32_t c = deallocs.Count(id);
        if (c != 1) {
          finding = c == 0 ? "LEAK" : "DOUBLE_FREE";
          break;
        }
      }
      if (!finding.empty()) break;
    }
  }
  rt.observer = nullptr;
  return finding;
}

std::string GlobalsRound(const core::Variant& v, const Options& opt) {
  const int readers = kWriters;  // 4 readers and 1 churner: the stress's thread count
  core::Runtime rt(2 + readers);
  rt.plain_free_list_link = false;
  audit::RefLedger ledger(rt, audit::LedgerOptions{false, false, false});
  DeallocCounter deallocs(1 << 16);
  Tee tee(&deallocs, opt.ledger ? &ledger : nullptr);
  rt.observer = &tee;
  core::DictState state;
  ThreadState& main = rt.thread(0);
  core::ThreadStart(main);
  // values[names.size()] is the invalidator's, values[names.size() + 1] H's.
  bench::ChurnWorld w = bench::BuildChurnWorld(rt, state, main, v, /*spare=*/2);
  const std::vector<Object*>& names = w.names;
  const std::vector<Object*>& values = w.values;
  Object* const temp = w.temp;
  Object* const other = state.Intern(rt, "H");
  core::GlobalsEnv& env = w.env;
  std::atomic<int> wrong{0};
  std::atomic<int> readers_left{readers};
  core::Detach(main);
  RunThreads(1 + readers, [&](int i) {
    ThreadState& ts = rt.thread(1 + i);
    core::ThreadStart(ts);
    if (i == readers) {  // the churner: runs while readers run
      long k = 0;
      while (readers_left.load(std::memory_order_relaxed) > 0) {
        core::InvalidateGlobals(ts, env, temp, values[names.size()]);
        if (k % 4 == 0) {
          // popitem takes the last entry (G8 after the first round); H reuses it.
          core::DictPopResult p = core::DictPopItem(ts, env.globals);
          core::StoreGlobal(ts, env, other, values[names.size() + 1]);
          core::DeleteGlobal(ts, env, other);
          if (p.key != nullptr) {
            core::StoreGlobal(ts, env, p.key, p.value);
            core::Decref(ts, p.key);
            core::XDecref(ts, p.value);
          }
        }
        ++k;
        core::SafePoint(ts);
      }
    } else {
      std::vector<core::LoadGlobalSite> sites(names.size());
      for (size_t n = 0; n < names.size(); ++n) sites[n].name = names[n];
      const long iters = std::max(1L, opt.reads / static_cast<long>(names.size()));
      for (long it = 0; it < iters; ++it) {
        for (size_t n = 0; n < names.size(); ++n) {
          core::LoadGlobalResult r = core::LoadGlobal(ts, env, sites[n]);
          if (r.value != nullptr) {
            if (r.value != values[n]) wrong.fetch_add(1);
            core::Decref(ts, r.value);
          } else if (n >= 8) {
            wrong.fetch_add(1);  // builtins are never deleted
          }
        }
        core::SafePoint(ts);
      }
      readers_left.fetch_sub(1);
    }
    core::ThreadExit(ts);
  });
  core::Attach(main);
  core::SafePoint(main);
  std::string finding;
  if (wrong.load() != 0) finding = "WRONG_VALUE";
  if (finding.empty() && deallocs.double_free()) finding = "DOUBLE_FREE";
  if (finding.empty() && ledger.has_finding()) finding = std::string("ledger:") + audit::FindingKindName(ledger.finding()->kind);
  core::DictFree(main, env.globals);
  core::DictFree(main, env.builtins);
  core::ThreadExit(main);
  core::ProcessDelayed(main);
  rt.observer = nullptr;
  return finding;
}

bool ParseArgs(int argc, char** argv, Options* opt) {
  tools::ArgParser args;
  args.String("variant", &opt->variant)
      .String("mode", &opt->mode)
      .Double("seconds", 0, 86400, &opt->seconds)
      .Int("writes", 1, 1'000'000'000, &opt->writes)
      .Int("reads", 1, 1'000'000'000, &opt->reads)
      .Flag("ledger", &opt->ledger);
  absl::Status s = args.Parse(argc, argv);
  if (s.ok() && opt->mode != "slots" && opt->mode != "globals") s = absl::InvalidArgumentError("--mode is slots or globals");
  if (!s.ok() || args.help()) {
    if (!s.ok()) std::fprintf(stderr, "%s: %s\n", argv[0], std::string(s.message()).c_str());
    std::fprintf(stderr,
                 "usage: %s --variant V [--mode slots|globals] [--seconds S] [--writes N] [--reads N] [--ledger]\n",
                 argv[0]);
    return false;
  }
  return true;
}

}  // namespace
}  // namespace ftf::bench

int main(int argc, char** argv) {
  using namespace ftf;
  bench::Options opt;
  if (!bench::ParseArgs(argc, argv, &opt)) return 2;
  const core::Variant* v = core::FindVariant(opt.variant);
  if (v == nullptr) {
    std::fprintf(stderr, "unknown variant %s\n", opt.variant.c_str());
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (int round = 1;; ++round) {
    const auto r0 = Clock::now();
    std::string finding = opt.mode == "slots" ? bench::SlotsRound(*v, opt) : bench::GlobalsRound(*v, opt);
    const double secs = std::chrono::duration<double>(Clock::now() - r0).count();
    std::printf("{\"round\":%d,\"seconds\":%.4f,\"finding\":\"%s\"}\n", round, secs, finding.c_str());
    std::fflush(stdout);
    if (!finding.empty()) return 1;
    if (std::chrono::duration<double>(Clock::now() - start).count() >= opt.seconds) return 0;
  }
}
