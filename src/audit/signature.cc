// signature.cc - root causes and their hash (see signature.h).

#include "audit/signature.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "audit/ledger.h"
#include "audit/unsync.h"
#include "sched/trace.h"

namespace ftf::audit {
namespace {

std::string SiteOf(const sched::TraceStep& s) { return absl::StrFormat("%s:%d", sched::ShortFile(s.file), s.line); }

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Accesses that are the model's bookkeeping rather than the values a
// program reads: reference counts, locks, QSBR, the Cell wrapper. A value
// load that went wrong is never one of these (their own bugs are reported
// by the ledger as refcount findings, or by TSan).
bool IsBookkeepingSite(std::string_view site) {
  static constexpr std::string_view kFiles[] = {"core/refcount.cc", "core/brc.cc",          "core/qsbr.cc",
                                                "core/mutex.cc",    "core/parking_lot.cc",  "core/stw.cc",
                                                "core/heap.cc",     "core/critical_section.cc", "core/atomics.h",
                                                "core/object.cc",
                                                // The harness (the interpreter's register clean-up
                                                // drops references with its own call site): no
                                                // CPython path, and its lines move with every edit.
                                                "runner/"};
  for (std::string_view f : kFiles) {
    if (StartsWith(site, f)) return true;
  }
  return false;
}

bool IsWrite(const sched::TraceStep& s) {
  return s.kind == sched::EventKind::kStore || s.kind == sched::EventKind::kRmw;
}
bool IsMemoryAccess(const sched::TraceStep& s) {
  return s.kind == sched::EventKind::kLoad || s.kind == sched::EventKind::kStore ||
         s.kind == sched::EventKind::kRmw;
}

// Index in `steps` of `thread`'s last step at or before `step` (-1: none).
int LastStepOf(const std::vector<sched::TraceStep>& steps, int thread, uint64_t step) {
  for (int i = static_cast<int>(steps.size()) - 1; i >= 0; --i) {
    if (steps[i].step <= step && steps[i].thread == thread) return i;
  }
  return -1;
}

// DATA_RACE: the finding thread's access and an earlier access of another
// thread it races with (unsync.h; a plain write among them if there is one),
// named by the pair's plain accesses. Without a racing pair in the trace (a
// ring that lost the earlier access): the last conflicting access by another
// thread, named the same way.
std::string RaceCause(const Finding& f, const std::vector<sched::TraceStep>& steps) {
  const int me = LastStepOf(steps, f.thread, f.step);
  if (me < 0) return "race " + f.site;
  const RaceAccess mine = AccessOf(steps[me]);
  int partner = -1;
  for (const RacingPair& p : RacingPairs(steps, me)) {
    if (p.later != me) continue;
    // A plain write beats any other partner, then the latest.
    auto rank = [&steps](int i) {
      const RaceAccess a = AccessOf(steps[i]);
      return std::make_pair(a.plain && a.write, i);
    };
    if (partner < 0 || rank(p.earlier) > rank(partner)) partner = p.earlier;
  }
  for (int i = me - 1; i >= 0 && partner < 0; --i) {
    const sched::TraceStep& s = steps[i];
    if (s.thread == steps[me].thread || s.addr != steps[me].addr || !IsMemoryAccess(s)) continue;
    const RaceAccess other = AccessOf(s);
    if ((other.write || mine.write) && (other.plain || mine.plain)) partner = i;
  }
  const ReadHalves halves = PlainReadModifyWrites(steps);
  if (partner < 0) return NormalizedRaceCause(AsWriteHalf(mine, halves), AsWriteHalf(mine, halves));
  return NormalizedRaceCause(AsWriteHalf(mine, halves), AsWriteHalf(AccessOf(steps[partner]), halves));
}

// Refcount findings and leaks: a reference count breaks long after the
// access that broke it (the lost update of a plain store, or a plain read of
// the old value that an exchange swapped out, seen as a use after free, a
// premature free, an over-release or a leak depending on the interleaving).
// That access is the latest racing pair of the run up to the finding with a
// plain write outside the bookkeeping files, else the latest one with a
// plain read there, named as a DATA_RACE is; "" if none.
std::string UnsyncAccessCause(const Finding& f, const std::vector<sched::TraceStep>& steps) {
  int upto = static_cast<int>(steps.size()) - 1;
  if (f.step != 0) {
    while (upto >= 0 && steps[upto].step > f.step) --upto;
  }
  const std::vector<RacingPair> pairs = RacingPairs(steps, upto);
  const ReadHalves halves = PlainReadModifyWrites(steps);
  for (const bool want_write : {true, false}) {
    for (auto it = pairs.rbegin(); it != pairs.rend(); ++it) {
      const RaceAccess a = AsWriteHalf(AccessOf(steps[it->earlier]), halves);
      const RaceAccess b = AsWriteHalf(AccessOf(steps[it->later]), halves);
      auto counts = [want_write](const RaceAccess& x) {
        return x.plain && (x.write || !want_write) && !IsBookkeepingSite(x.site);
      };
      if (counts(a) || counts(b)) return NormalizedRaceCause(a, b);
    }
  }
  return "";
}

// WRONG_VALUE / BAD_LAYOUT: in the finding thread's current operation, the
// latest value load whose address another thread wrote before it, and that
// write.
std::string StaleLoadCause(const Finding& f, const std::vector<sched::TraceStep>& steps) {
  const int last = LastStepOf(steps, f.thread, f.step);
  std::string load = f.site;
  std::string write;
  if (last >= 0) {
    const uint64_t op_note = steps[last].note;
    for (int i = last; i >= 0 && write.empty(); --i) {
      const sched::TraceStep& l = steps[i];
      if (l.thread != f.thread) continue;
      if (l.note != op_note) break;  // the operation began here
      if (l.kind != sched::EventKind::kLoad || IsBookkeepingSite(SiteOf(l))) continue;
      for (int j = i - 1; j >= 0; --j) {
        const sched::TraceStep& w = steps[j];
        if (w.thread != f.thread && w.addr == l.addr && IsWrite(w) && !IsBookkeepingSite(SiteOf(w))) {
          load = SiteOf(l);
          write = SiteOf(w);
          break;
        }
      }
    }
    if (write.empty()) {
      // No load of this operation read another thread's write: the last
      // value write by another thread is the one the load did not see.
      for (int j = last - 1; j >= 0; --j) {
        if (steps[j].thread != f.thread && IsWrite(steps[j]) && !IsBookkeepingSite(SiteOf(steps[j]))) {
          write = SiteOf(steps[j]);
          break;
        }
      }
    }
  }
  std::string out = "stale-load " + load;
  if (!write.empty()) out += " missed-write " + write;
  return out;
}

// The core path that called into the refcount machinery at steps[i]: the
// closest step before it of the same thread and operation whose site is not
// bookkeeping (every Py_DECREF is core/refcount.cc; which slot or dict path
// dropped the reference is what tells two bugs apart). steps[i]'s own site
// if there is none.
std::string CallerSite(const std::vector<sched::TraceStep>& steps, int i) {
  const sched::TraceStep& at = steps[i];
  const std::string own = SiteOf(at);
  if (!IsBookkeepingSite(own)) return own;
  for (int j = i - 1; j >= 0; --j) {
    const sched::TraceStep& s = steps[j];
    if (s.thread != at.thread) continue;
    if (s.note != at.note) break;
    if (std::string site = SiteOf(s); !IsBookkeepingSite(site) && StartsWith(site, "core/")) return site;
  }
  return own;
}

// The site of the ledger event `e` (its thread's step at e.step, see
// CallerSite), if the trace still holds it.
std::optional<std::string> EventSite(const LedgerEvent& e, const std::vector<sched::TraceStep>& steps) {
  const int i = LastStepOf(steps, e.thread, e.step);
  if (i < 0) return std::nullopt;
  return CallerSite(steps, i);
}

// Refcount findings with no racing plain access: the offending operation's
// core path. The other thread's last access to the object is not part of
// it: that access is an atomic reference-count operation, correct on its
// own, and which writer or reader it was depends on the interleaving (one
// defective reader fallback met three different threads' accesses: three
// findings).
std::string RefcountCause(const Finding& f, const std::vector<sched::TraceStep>& steps) {
  std::string op = f.site;
  if (const int me = LastStepOf(steps, f.thread, f.step); me >= 0) {
    // The finding's site is its thread's last scheduling point: name the
    // core path around it.
    if (op.empty() || op == SiteOf(steps[me])) op = CallerSite(steps, me);
  }
  return "op " + (op.empty() ? std::string("end-of-run") : op);
}

std::string LeakCause(const Finding& f, const std::vector<sched::TraceStep>& steps, const RefLedger* ledger) {
  const ObjectLife* life = ledger != nullptr ? ledger->Life(f.main_object()) : nullptr;
  if (life != nullptr) {
    const std::vector<LedgerEvent>& events = ledger->events();
    for (auto it = life->events.rbegin(); it != life->events.rend(); ++it) {
      const LedgerEvent& e = events[*it];
      if (e.thread < 0 || e.step == 0) continue;
      if (std::optional<std::string> site = EventSite(e, steps)) return "leak last-access " + *site;
    }
  }
  return "leak " + (f.site.empty() ? std::string("end-of-run") : f.site);
}

// "ThreadSanitizer reported heap-use-after-free in f" -> "heap-use-after-free".
std::string SanitizerBug(const Finding& f) {
  const std::string_view m = f.message;
  const size_t at = m.find(" reported ");
  if (at == std::string_view::npos) return "sanitizer";
  std::string_view rest = m.substr(at + 10);
  rest = rest.substr(0, rest.find(' '));
  return rest.empty() ? std::string("sanitizer") : std::string(rest);
}

}  // namespace

std::string Signature::Hex() const { return absl::StrFormat("%016x", hash); }

Signature MakeSignature(FindingKind kind, std::string cause) {
  Signature s;
  s.kind = kind;
  s.cause = std::move(cause);
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  auto mix = [&h](std::string_view text) {
    for (char c : text) {
      h ^= static_cast<uint8_t>(c);
      h *= 0x100000001b3ull;
    }
  };
  // The cause only: one defect seen as a DATA_RACE under TSan and as a use
  // after free under ASan is one finding.
  mix(s.cause);
  s.hash = h;
  return s;
}

std::string RootCause(const Finding& f, const sched::Trace* trace, const RefLedger* ledger) {
  const std::vector<sched::TraceStep> steps = trace != nullptr ? trace->Steps() : std::vector<sched::TraceStep>();
  const std::string site = f.site.empty() ? std::string("end-of-run") : f.site;
  switch (f.kind) {
    case FindingKind::kDataRace:
      return RaceCause(f, steps);
    case FindingKind::kWrongValue:
    case FindingKind::kBadLayout:
      return StaleLoadCause(f, steps);
    case FindingKind::kDoubleFree:
    case FindingKind::kOverRelease:
    case FindingKind::kPrematureFree:
    case FindingKind::kResurrection:
    case FindingKind::kUseAfterFree:
      if (std::string cause = UnsyncAccessCause(f, steps); !cause.empty()) return cause;
      return RefcountCause(f, steps);
    case FindingKind::kLeak:
      if (std::string cause = UnsyncAccessCause(f, steps); !cause.empty()) return cause;
      return LeakCause(f, steps, ledger);
    case FindingKind::kDeadlock:
      return "blocked " + site;
    case FindingKind::kLivelock:
      return "spin " + site;
    case FindingKind::kCrash:
      return "crash " + site;
    case FindingKind::kHang:
      return "hang " + site;
    case FindingKind::kAsan:
    case FindingKind::kUbsan:
      return SanitizerBug(f) + " " + site;
  }
  return site;
}

Signature SignatureOf(const Finding& f, const sched::Trace* trace, const RefLedger* ledger) {
  return MakeSignature(f.kind, f.cause.empty() ? RootCause(f, trace, ledger) : f.cause);
}

std::string SignatureLine(const Signature& s) {
  return absl::StrFormat("SIGNATURE: ftfuzz: %s %s %s", FindingKindName(s.kind), s.Hex(), s.cause);
}

namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// "/x/src/core/member.cc:88:5" -> "core/member.cc:88" ("" if no file:line).
std::string FrameSite(std::string_view token) {
  size_t colon = token.rfind(':');
  if (colon == std::string_view::npos) return "";
  std::string_view line = token.substr(colon + 1);
  std::string_view file = token.substr(0, colon);
  if (!AllDigits(line)) return "";
  const size_t colon2 = file.rfind(':');
  if (colon2 != std::string_view::npos && AllDigits(file.substr(colon2 + 1))) {
    line = file.substr(colon2 + 1);
    file = file.substr(0, colon2);
  }
  const std::string path(file);
  return absl::StrFormat("%s:%s", sched::ShortFile(path.c_str()), line);
}

// The chosen frame of one stack ("#0 fn /path/file.cc:1:2 (mod+0x1)" lines):
// the first src/core frame that is not the Cell wrapper; else the first
// frame with a source line other than the wrapper (a test's own code).
std::string StackSite(const std::vector<std::string_view>& frames) {
  std::string fallback;
  for (std::string_view frame : frames) {
    std::string site;
    bool in_core = false;
    size_t pos = 0;
    while (pos < frame.size()) {
      size_t end = frame.find(' ', pos);
      if (end == std::string_view::npos) end = frame.size();
      std::string_view token = frame.substr(pos, end - pos);
      if (std::string s = FrameSite(token); !s.empty()) {
        site = s;
        in_core = token.find("src/core/") != std::string_view::npos;
      }
      pos = end + 1;
    }
    if (site.empty()) continue;
    const bool wrapper = StartsWith(site, "core/atomics.h:");
    if (in_core && !wrapper) return site;
    if (!wrapper && fallback.empty()) fallback = site;
  }
  return fallback;
}

}  // namespace

std::string RaceCauseFromTsanReport(std::string_view report) {
  const size_t warn = report.rfind("WARNING: ThreadSanitizer: data race");
  if (warn == std::string_view::npos) return "";
  std::string_view text = report.substr(warn);
  std::vector<std::vector<std::string_view>> stacks;
  std::vector<RaceAccess> accesses;
  bool in_stack = false;
  size_t pos = 0;
  while (pos < text.size() && stacks.size() <= 2) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (StartsWith(line, "SUMMARY:")) break;
    std::string_view trimmed = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    if (trimmed.find(" of size ") != std::string_view::npos && trimmed.find(" at ") != std::string_view::npos) {
      stacks.emplace_back();
      // "Atomic write of size 8 at ...", "Previous read of size 1 at ...".
      std::string head(trimmed.substr(0, trimmed.find(" of size ")));
      std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
      RaceAccess a;
      a.write = head.find("write") != std::string::npos;
      a.plain = head.find("atomic") == std::string::npos;
      accesses.push_back(a);
      in_stack = true;
      continue;
    }
    if (in_stack && StartsWith(trimmed, "#")) {
      stacks.back().push_back(trimmed);
    } else {
      in_stack = false;
    }
  }
  if (stacks.size() < 2) return "";
  accesses[0].site = StackSite(stacks[0]);
  accesses[1].site = StackSite(stacks[1]);
  if (accesses[0].site.empty() || accesses[1].site.empty()) return "";
  return NormalizedRaceCause(accesses[0], accesses[1]);
}

std::string RaceCauseFromMops(const RaceMop& current, const RaceMop& previous) {
  RaceAccess accesses[2];
  const RaceMop* mops[2] = {&current, &previous};
  for (int i = 0; i < 2; ++i) {
    const std::vector<std::string_view> frames(mops[i]->frames.begin(), mops[i]->frames.end());
    accesses[i].site = StackSite(frames);
    accesses[i].write = mops[i]->write;
    accesses[i].plain = !mops[i]->atomic;
    if (accesses[i].site.empty()) return "";
  }
  return NormalizedRaceCause(accesses[0], accesses[1]);
}

}  // namespace ftf::audit
