// unsync.cc - racing pairs of a trace (see unsync.h).

#include "audit/unsync.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ftf::audit {
namespace {

using Clock = std::vector<uint64_t>;

void Join(Clock& into, const Clock& from) {
  if (into.size() < from.size()) into.resize(from.size(), 0);
  for (size_t i = 0; i < from.size(); ++i) into[i] = std::max(into[i], from[i]);
}

bool IsAccess(const sched::TraceStep& s) {
  return s.kind == sched::EventKind::kLoad || s.kind == sched::EventKind::kStore ||
         s.kind == sched::EventKind::kRmw;
}
bool Acquires(const sched::TraceStep& s) {
  return (s.kind == sched::EventKind::kLoad || s.kind == sched::EventKind::kRmw) &&
         (s.order == core::Order::kAcquire || s.order == core::Order::kSeqCst);
}
bool Releases(const sched::TraceStep& s) {
  return (s.kind == sched::EventKind::kStore || s.kind == sched::EventKind::kRmw) &&
         (s.order == core::Order::kRelease || s.order == core::Order::kSeqCst);
}

// A thread's last access of each class to one address: a later access
// races with an earlier one of the same thread only if it races with the
// last one (whose epoch is the largest), so four are enough.
struct Last {
  uint64_t epoch = 0;  // 0: none
  int index = -1;
};
int ClassOf(const RaceAccess& a) { return (a.write ? 2 : 0) + (a.plain ? 1 : 0); }

}  // namespace

RaceAccess AccessOf(const sched::TraceStep& s) {
  RaceAccess a;
  a.site = absl::StrFormat("%s:%d", sched::ShortFile(s.file), s.line);
  a.write = s.kind == sched::EventKind::kStore || s.kind == sched::EventKind::kRmw;
  a.plain = s.order == core::Order::kPlain;
  return a;
}

std::string NormalizedRaceCause(const RaceAccess& a, const RaceAccess& b) {
  std::set<std::string> plain_writes;
  std::set<std::string> plain;
  for (const RaceAccess* x : {&a, &b}) {
    if (!x->plain) continue;
    plain.insert(x->site);
    if (x->write) plain_writes.insert(x->site);
  }
  // Two atomic accesses never race; named by both if asked anyway.
  if (plain.empty()) plain = {a.site, b.site};
  return "race " + absl::StrJoin(plain_writes.empty() ? plain : plain_writes, " ");
}

ReadHalves PlainReadModifyWrites(const std::vector<sched::TraceStep>& steps) {
  ReadHalves out;
  std::map<std::pair<int, const void*>, int> last;  // (thread, address) -> its last access
  for (int i = 0; i < static_cast<int>(steps.size()); ++i) {
    const sched::TraceStep& s = steps[i];
    if (!IsAccess(s) || s.thread < 0) continue;
    auto [it, fresh] = last.try_emplace({s.thread, s.addr}, i);
    if (!fresh) {
      const sched::TraceStep& prev = steps[it->second];
      if (prev.kind == sched::EventKind::kLoad && prev.order == core::Order::kPlain &&
          s.kind == sched::EventKind::kStore && s.order == core::Order::kPlain && prev.note == s.note) {
        out.emplace(AccessOf(prev).site, AccessOf(s).site);
      }
      it->second = i;
    }
  }
  return out;
}

RaceAccess AsWriteHalf(RaceAccess a, const ReadHalves& halves) {
  if (!a.plain || a.write) return a;
  if (auto it = halves.find(a.site); it != halves.end()) {
    a.site = it->second;
    a.write = true;
  }
  return a;
}

std::vector<RacingPair> RacingPairs(const std::vector<sched::TraceStep>& steps, int upto) {
  std::vector<RacingPair> out;
  std::map<int, Clock> clocks;                       // thread -> its vector clock
  std::map<const void*, Clock> published;            // address -> joined clocks of its release writes
  std::map<const void*, std::map<int, std::array<Last, 4>>> last;  // address -> thread -> class
  const int n = std::min<int>(upto + 1, static_cast<int>(steps.size()));
  for (int i = 0; i < n; ++i) {
    const sched::TraceStep& s = steps[i];
    if (!IsAccess(s) || s.thread < 0) continue;
    const int t = s.thread;
    Clock& c = clocks[t];
    if (c.size() <= static_cast<size_t>(t)) c.resize(t + 1, 0);
    c[t] += 1;
    const RaceAccess me = AccessOf(s);
    auto& per_thread = last[s.addr];
    for (const auto& [u, classes] : per_thread) {
      if (u == t) continue;
      const uint64_t seen = u < static_cast<int>(c.size()) ? c[u] : 0;
      for (int k = 0; k < 4; ++k) {
        const bool write = (k & 2) != 0;
        const bool plain = (k & 1) != 0;
        const Last& l = classes[k];
        if (l.index < 0 || l.epoch <= seen) continue;  // none, or it happens before
        if ((write || me.write) && (plain || me.plain)) out.push_back(RacingPair{l.index, i});
      }
    }
    if (Acquires(s)) {
      if (auto it = published.find(s.addr); it != published.end()) Join(c, it->second);
    }
    if (Releases(s)) Join(published[s.addr], c);
    per_thread[t][ClassOf(me)] = Last{c[t], i};
  }
  return out;
}

}  // namespace ftf::audit
