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
                                                "core/object.cc"};
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

// DATA_RACE: the finding thread's access and the last access to the same
// address by another thread before it.
std::string RaceCause(const Finding& f, const std::vector<sched::TraceStep>& steps) {
  const int me = LastStepOf(steps, f.thread, f.step);
  if (me < 0) return "race " + f.site;
  std::set<std::string> pair = {SiteOf(steps[me])};
  for (int i = me - 1; i >= 0; --i) {
    if (steps[i].thread != steps[me].thread && steps[i].addr == steps[me].addr && IsMemoryAccess(steps[i])) {
      pair.insert(SiteOf(steps[i]));
      break;
    }
  }
  // The same line in both threads is still a pair.
  if (pair.size() == 1) return "race " + *pair.begin() + " " + *pair.begin();
  return "race " + absl::StrJoin(pair, " ");
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

// Refcount findings: the offending operation's site and the main object's
// last event by another thread (before the finding).
std::string RefcountCause(const Finding& f, const std::vector<sched::TraceStep>& steps, const RefLedger* ledger) {
  std::string op = f.site;
  if (const int me = LastStepOf(steps, f.thread, f.step); me >= 0) {
    // The finding's site is its thread's last scheduling point: name the
    // core path around it.
    if (op.empty() || op == SiteOf(steps[me])) op = CallerSite(steps, me);
  }
  std::string out = "op " + (op.empty() ? std::string("end-of-run") : op);
  const ObjectLife* life = ledger != nullptr ? ledger->Life(f.main_object()) : nullptr;
  if (life == nullptr) return out;
  const std::vector<LedgerEvent>& events = ledger->events();
  for (auto it = life->events.rbegin(); it != life->events.rend(); ++it) {
    const LedgerEvent& e = events[*it];
    if (e.thread < 0 || e.thread == f.thread || e.step == 0 || e.step > f.step) continue;
    if (std::optional<std::string> site = EventSite(e, steps)) return out + " last-conflict " + *site;
  }
  return out;
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
  mix(FindingKindName(kind));
  mix(" ");
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
      return RefcountCause(f, steps, ledger);
    case FindingKind::kLeak:
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
  std::string a = StackSite(stacks[0]);
  std::string b = StackSite(stacks[1]);
  if (a.empty() || b.empty()) return "";
  if (b < a) std::swap(a, b);
  return "race " + a + " " + b;
}

}  // namespace ftf::audit
