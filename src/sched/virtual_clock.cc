// virtual_clock.cc - the VirtualClockExecutor (see virtual_clock.h).
//
// Bookkeeping (clocks, cache lines, the trace hash) runs on the fibers, like
// the FiberExecutor's fiber side, but it allocates (the line map grows as
// new lines are touched) and is not hidden from ThreadSanitizer: this
// executor is a benchmark tool for builds without sanitizers.

#include "sched/virtual_clock.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "absl/strings/str_format.h"
#include "core/parking_lot.h"

namespace ftf::sched {
namespace {

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "ftfuzz: VirtualClockExecutor: %s\n", what);
  std::abort();
}

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t Mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= kFnvPrime;
  }
  return h;
}

uint64_t HashString(const char* s) {
  uint64_t h = kFnvOffset;
  for (; *s != '\0'; ++s) {
    h ^= static_cast<unsigned char>(*s);
    h *= kFnvPrime;
  }
  return h;
}

constexpr uint8_t kKindBlock = 10;
constexpr uint8_t kKindSleep = 11;
constexpr uint8_t kKindFinish = 12;

}  // namespace

struct VirtualClockExecutor::Thread {
  Fiber* fiber = nullptr;
  double clock = 0;
  bool started = false;
  bool finished = false;
  bool blocked = false;
  bool sleeping = false;
  core::WaitSpec wait{};
  double blocked_at = 0;
  VcThreadStats stats;
};

// A cache line: who wrote it last, its version (bumped by every write), the
// version each thread last saw, whether threads other than the last writer
// read it since, and until when it is busy moving between cores.
struct VirtualClockExecutor::Line {
  int last_writer = -1;
  uint32_t version = 1;
  bool read_by_others = false;
  double busy_until = 0;
  std::vector<uint32_t> seen;
};

VirtualClockExecutor::VirtualClockExecutor(size_t stack_size) : stack_size_(stack_size) {}

VirtualClockExecutor::~VirtualClockExecutor() {
  if (in_run_) Fatal("destroyed during Run");
  terminating_ = true;
  AdoptCurrentThread(&main_ctx_);
  for (size_t i = 0; i < pool_.size(); ++i) {
    cur_ = static_cast<int>(i);
    SwitchContext(&main_ctx_, pool_[i]->context());
  }
  cur_ = -1;
  pool_.clear();
}

void VirtualClockExecutor::EnsureFibers(int n) {
  AdoptCurrentThread(&main_ctx_);
  while (static_cast<int>(pool_.size()) < n) {
    const int i = static_cast<int>(pool_.size());
    pool_.push_back(std::make_unique<Fiber>(stack_size_, i, &VirtualClockExecutor::FiberMain, this));
    pool_.back()->Start(&main_ctx_);  // enters FiberLoop and comes straight back
  }
}

VcResult VirtualClockExecutor::Run(int num_threads, const Body& body, const VcOptions& options) {
  if (num_threads < 1 || num_threads > kVcMaxThreads) Fatal("num_threads out of range");
  if (options.cpus < 1) Fatal("cpus < 1");
  if (in_run_ || core::CurrentSchedHook() != nullptr) Fatal("Run while a run is in progress or a hook is installed");
  EnsureFibers(num_threads);
  in_run_ = true;
  options_ = options;
  body_ = &body;
  num_threads_ = num_threads;
  threads_.assign(num_threads, Thread{});
  for (int i = 0; i < num_threads; ++i) threads_[i].fiber = pool_[i].get();
  lines_.clear();
  wait_index_.clear();
  hot_.clear();
  result_ = VcResult{};
  result_.trace_hash = kFnvOffset;
  unfinished_ = num_threads;
  computing_ = num_threads;
  blocked_ = 0;
  abandoning_ = false;
  core::SchedHook* previous = core::InstallSchedHook(this);
  AdoptCurrentThread(&main_ctx_);
  for (int i = 0; i < num_threads; ++i) glue::Release(&threads_[i].fiber->start_token);

  // Every clock is 0: thread 0 starts. Control comes back here when all
  // threads finished, or when the run must be abandoned.
  cur_ = 0;
  SwitchContext(&main_ctx_, threads_[0].fiber->context());
  if (unfinished_ > 0) {
    Abandon(result_.error.empty() ? "stuck" : result_.error);
  }
  for (int i = 0; i < num_threads; ++i) glue::Acquire(&threads_[i].fiber->done_token);
  core::InstallSchedHook(previous);
  cur_ = -1;
  body_ = nullptr;
  in_run_ = false;
  VcResult r = std::move(result_);
  for (const auto& [k, h] : hot_) r.hot_sites.push_back(h);
  std::sort(r.hot_sites.begin(), r.hot_sites.end(), [](const VcHotSite& a, const VcHotSite& b) {
    if (a.transfer_ns != b.transfer_ns) return a.transfer_ns > b.transfer_ns;
    return a.line < b.line;
  });
  if (r.hot_sites.size() > 8) r.hot_sites.resize(8);
  for (const Thread& t : threads_) {
    r.threads.push_back(t.stats);
    r.virtual_ns = std::max(r.virtual_ns, t.stats.clock_ns);
  }
  return r;
}

// Resumes every started, unfinished thread once: its pending scheduling
// point throws VcAbandon and the body unwinds.
void VirtualClockExecutor::Abandon(const std::string& why) {
  result_.ok = false;
  result_.error = why;
  abandoning_ = true;
  for (int i = 0; i < num_threads_; ++i) {
    Thread& t = threads_[i];
    if (t.finished) continue;
    if (!t.started) {
      t.finished = true;
      continue;
    }
    cur_ = i;
    SwitchContext(&main_ctx_, t.fiber->context());
    if (!t.finished) Fatal("an abandoned fiber did not unwind");
  }
  cur_ = -1;
  abandoning_ = false;
  core::GlobalParkingLot().Reset();  // parked waiters lived on the abandoned stacks
}

double VirtualClockExecutor::ShareFactor() const {
  return computing_ > options_.cpus ? static_cast<double>(computing_) / options_.cpus : 1.0;
}

void VirtualClockExecutor::Charge(int me, double cpu_ns) {
  const double d = cpu_ns * ShareFactor();
  threads_[me].clock += d;
  threads_[me].stats.cpu_ns += d;
}

// Threads whose wait predicate now holds were made ready by `me`'s last
// steps: `me` pays the wake syscall, they run again after the wake latency.
void VirtualClockExecutor::Wakeups(int me) {
  if (blocked_ == 0) return;
  for (int i = 0; i < num_threads_; ++i) {
    Thread& w = threads_[i];
    if (!w.blocked || !w.wait.ready(w.wait.ctx)) continue;
    if (me >= 0 && !threads_[me].finished) Charge(me, options_.costs.unpark_ns);
    const double waker = me >= 0 ? threads_[me].clock : w.clock;
    w.blocked = false;
    --blocked_;
    ++computing_;
    w.clock = std::max(w.clock, waker) + options_.costs.wake_ns;
    const double blocked = w.clock - w.blocked_at;
    w.stats.blocked_ns += blocked;
    auto it = wait_index_.find(w.wait.key);
    if (it != wait_index_.end()) result_.waits[it->second].blocked_ns += blocked;
  }
}

// The scheduling decision at a point of `me` (which may be blocked, sleeping
// or finished): run the thread with the smallest clock.
void VirtualClockExecutor::Schedule(int me) {
  Wakeups(me);
  int next = -1;
  double best = 0;
  for (int i = 0; i < num_threads_; ++i) {
    const Thread& t = threads_[i];
    if (t.finished || t.blocked) continue;
    if (next < 0 || t.clock < best) {
      next = i;
      best = t.clock;
    }
  }
  if (next < 0) {
    if (unfinished_ > 0 && result_.error.empty()) {
      result_.error = absl::StrFormat("all %d unfinished threads blocked", unfinished_);
    }
    cur_ = -1;
    SwitchContextInline(threads_[me].fiber->context(), &main_ctx_);
    return;  // resumed by Abandon
  }
  Thread& n = threads_[next];
  if (n.sleeping) {
    n.sleeping = false;
    ++computing_;
  }
  if (next != me) SwitchTo(me, next);
}

void VirtualClockExecutor::SwitchTo(int me, int next) {
  ++result_.switches;
  cur_ = next;
  Thread& n = threads_[next];
  n.started = true;
  SwitchContextInline(threads_[me].fiber->context(), n.fiber->context());
}

void VirtualClockExecutor::Step(int me, uint8_t kind, uint8_t order, const core::Loc& loc) {
  ++result_.steps;
  uint64_t h = result_.trace_hash;
  h = Mix(h, static_cast<uint64_t>(me) | static_cast<uint64_t>(kind) << 16 | static_cast<uint64_t>(order) << 24);
  h = Mix(h, HashString(loc.file) ^ static_cast<uint64_t>(loc.line));
  result_.trace_hash = h;
  if (kind != kKindFinish && result_.steps >= options_.max_steps && result_.error.empty()) {
    result_.error = absl::StrFormat("the run reached the cap of %d steps", options_.max_steps);
    cur_ = -1;
    SwitchContextInline(threads_[me].fiber->context(), &main_ctx_);
  }
}

void VirtualClockExecutor::AbandonPoint() {
  if (std::uncaught_exceptions() > 0) return;
  throw VcAbandon{};
}

void VirtualClockExecutor::OnAccess(const core::Access& a) {
  const int me = cur_;
  if (me < 0) return;
  if (abandoning_) return AbandonPoint();
  Schedule(me);
  if (abandoning_) return AbandonPoint();
  Thread& t = threads_[me];
  const CostTable& c = options_.costs;
  const bool write = a.kind != core::AccessKind::kLoad;
  double cost = c.load_ns;
  if (a.kind == core::AccessKind::kRmw || (a.kind == core::AccessKind::kStore && a.order == core::Order::kSeqCst)) {
    cost = c.rmw_ns;
  } else if (a.kind == core::AccessKind::kStore) {
    cost = c.store_ns;
  } else if (a.kind == core::AccessKind::kFence) {
    cost = c.fence_ns;
  }
  if (a.addr != nullptr && a.kind != core::AccessKind::kFence) {
    Line& l = lines_[reinterpret_cast<uintptr_t>(a.addr) >> 6];
    if (l.seen.empty()) l.seen.assign(num_threads_, 0);
    bool transfer = false;
    if (write) {
      // Needs the line exclusive: a transfer unless this thread wrote it
      // last and nobody read it since (or it was never written: set-up data).
      transfer = l.last_writer != -1 && (l.last_writer != me || l.read_by_others);
      transfer = transfer || (l.last_writer == -1 && l.read_by_others && l.seen[me] != l.version);
      ++l.version;
      l.last_writer = me;
      l.read_by_others = false;
    } else {
      transfer = l.seen[me] != l.version && l.last_writer != -1 && l.last_writer != me;
      if (me != l.last_writer) l.read_by_others = true;
    }
    l.seen[me] = l.version;
    if (transfer) {
      // A miss waits for a transfer of the line already in flight; a write
      // (an exclusive transfer) then occupies the line itself, so writers
      // of one line queue behind each other. Read misses share the line and
      // are served side by side.
      const double start = std::max(t.clock, l.busy_until);
      const double wait = start - t.clock;
      t.clock = start;
      const double d = c.transfer_ns * ShareFactor();
      t.clock += d;
      t.stats.cpu_ns += wait + d;  // a stalled core is a busy core
      t.stats.transfer_ns += wait + d;
      if (write) l.busy_until = t.clock;
      VcHotSite& h = hot_[HashString(a.loc.file) * 31 + static_cast<uint64_t>(a.loc.line)];
      h.file = a.loc.file;
      h.line = a.loc.line;
      ++h.transfers;
      h.transfer_ns += wait + d;
    }
  }
  Charge(me, cost);
  ++t.stats.accesses;
  Step(me, static_cast<uint8_t>(a.kind), static_cast<uint8_t>(a.order), a.loc);
  if (abandoning_) AbandonPoint();
}

void VirtualClockExecutor::WaitUntil(const core::WaitSpec& spec) {
  const int me = cur_;
  if (me < 0) {
    while (!spec.ready(spec.ctx)) std::this_thread::yield();
    return;
  }
  if (abandoning_) return AbandonPoint();
  while (!spec.ready(spec.ctx)) {
    Thread& t = threads_[me];
    Charge(me, options_.costs.park_ns);
    t.wait = spec;
    t.blocked = true;
    t.blocked_at = t.clock;
    ++t.stats.parks;
    ++blocked_;
    --computing_;
    auto [it, fresh] = wait_index_.emplace(spec.key, result_.waits.size());
    if (fresh) result_.waits.push_back(VcWaitStats{spec.key, 0, 0});
    ++result_.waits[it->second].parks;
    Step(me, kKindBlock, 0, spec.loc);
    if (!abandoning_) Schedule(me);
    if (abandoning_) return AbandonPoint();
  }
}

void VirtualClockExecutor::Advance(double ns) {
  if (cur_ >= 0 && ns > 0) Charge(cur_, ns);
}

void VirtualClockExecutor::Sleep(double ns) {
  const int me = cur_;
  if (me < 0) return;
  if (abandoning_) return AbandonPoint();
  Thread& t = threads_[me];
  t.clock += ns;
  t.stats.slept_ns += ns;
  t.sleeping = true;
  --computing_;
  Step(me, kKindSleep, 0, core::Loc::Here());
  if (!abandoning_) Schedule(me);
  if (abandoning_) return AbandonPoint();
}

double VirtualClockExecutor::Now() const { return cur_ >= 0 ? threads_[cur_].clock : 0.0; }

void VirtualClockExecutor::FiberMain(Fiber* self, void* arg) { static_cast<VirtualClockExecutor*>(arg)->FiberLoop(self); }

void VirtualClockExecutor::FiberLoop(Fiber* self) {
  const int me = self->index();
  SwitchContextInline(self->context(), &main_ctx_);  // primed: wait for a run
  for (;;) {
    if (terminating_) {
      SwitchContextInline(self->context(), &main_ctx_, /*from_exits=*/true);
      Fatal("an exited fiber was resumed");
    }
    Thread& t = threads_[me];
    t.started = true;
    glue::Acquire(&self->start_token);
    try {
      (*body_)(me);
    } catch (const VcAbandon&) {
      // The run was abandoned.
    } catch (...) {
      Fatal("a thread body threw");
    }
    t.finished = true;
    t.stats.clock_ns = t.clock;
    --unfinished_;
    if (!t.blocked && !t.sleeping) --computing_;
    glue::Release(&self->done_token);
    if (abandoning_) {
      cur_ = -1;
      SwitchContextInline(self->context(), &main_ctx_);
      continue;
    }
    Step(me, kKindFinish, 0, core::Loc::Here());
    if (unfinished_ == 0) {
      cur_ = -1;
      SwitchContextInline(self->context(), &main_ctx_);
    } else {
      Schedule(me);
    }
  }
}

}  // namespace ftf::sched
