// report_parse.cc - findings from report lines (see report_parse.h).

#include "audit/report_parse.h"

#include "audit/sanitizer_report.h"
#include "audit/signature.h"

namespace ftf::audit {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string_view FirstWord(std::string_view s) { return s.substr(0, s.find(' ')); }

// "SIGNATURE: ftfuzz: KIND HASH CAUSE" -> (KIND, HASH, CAUSE).
struct SignatureFields {
  std::string kind;
  std::string hash;
  std::string cause;
};
std::optional<SignatureFields> ParseSignatureLine(std::string_view line) {
  constexpr std::string_view kPrefix = "SIGNATURE: ftfuzz: ";
  if (!StartsWith(line, kPrefix)) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  SignatureFields s;
  s.kind = std::string(FirstWord(line));
  line.remove_prefix(std::min(line.size(), s.kind.size() + 1));
  s.hash = std::string(FirstWord(line));
  line.remove_prefix(std::min(line.size(), s.hash.size() + 1));
  s.cause = std::string(line);
  if (s.hash.size() != 16 || s.cause.empty()) return std::nullopt;
  return s;
}

// "core/refcount.cc:173 in LOAD_GLOBAL" -> "core/refcount.cc:173": a SUMMARY
// location without its operation name (older reports, no SIGNATURE line).
std::string SiteOfLocation(std::string_view location) {
  const size_t in = location.rfind(" in ");
  return std::string(in == std::string_view::npos ? location : location.substr(0, in));
}

ParsedFinding WithSignature(FindingKind kind, std::string summary, std::string cause) {
  ParsedFinding p;
  const Signature sig = MakeSignature(kind, std::move(cause));
  p.kind = kind;
  p.summary = std::move(summary);
  p.signature = sig.Hex();
  p.cause = sig.cause;
  return p;
}

}  // namespace

std::vector<ParsedFinding> ParseReportLines(std::string_view text) {
  std::vector<ParsedFinding> out;
  std::optional<SignatureFields> previous_signature;  // the line right before
  bool after_ftfuzz = false;  // an ftfuzz report ended and nothing but its abort followed
  // The last finding came from a sanitizer's SUMMARY line, in the same
  // process: an ftfuzz report that follows is the same finding, told better.
  bool last_is_sanitizer = false;
  size_t block_start = 0;     // where the current sanitizer report may begin
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t line_start = pos;
    pos = nl + 1;

    std::optional<SignatureFields> signature = ParseSignatureLine(line);
    if (StartsWith(line, "SUMMARY: ftfuzz: ")) {
      std::string_view rest = line.substr(17);
      const std::optional<FindingKind> kind = ParseFindingKind(FirstWord(rest));
      if (kind.has_value()) {
        if (last_is_sanitizer) out.pop_back();
        last_is_sanitizer = false;
        if (previous_signature.has_value() && previous_signature->kind == FindingKindName(*kind)) {
          ParsedFinding p;
          p.kind = *kind;
          p.summary = std::string(line);
          p.signature = previous_signature->hash;
          p.cause = previous_signature->cause;
          out.push_back(std::move(p));
        } else {
          rest.remove_prefix(std::min(rest.size(), FirstWord(rest).size() + 1));
          out.push_back(WithSignature(*kind, std::string(line), "site " + SiteOfLocation(rest)));
        }
        after_ftfuzz = true;
        block_start = pos;
      }
    } else if (StartsWith(line, "SUMMARY: libFuzzer: timeout")) {
      if (!after_ftfuzz) out.push_back(WithSignature(FindingKind::kHang, std::string(line), "hang timeout"));
      last_is_sanitizer = false;
      block_start = pos;
    } else if (StartsWith(line, "SUMMARY: ")) {
      if (std::optional<SanitizerSummary> s = ParseSanitizerSummary(line); s.has_value() && !after_ftfuzz) {
        std::string cause;
        if (s->kind == FindingKind::kDataRace) {
          cause = RaceCauseFromTsanReport(text.substr(block_start, line_start - block_start + line.size()));
        }
        if (cause.empty()) cause = std::string(FirstWord(s->bug)) + " " + (s->site.empty() ? "unknown" : s->site);
        out.push_back(WithSignature(s->kind, std::string(line), std::move(cause)));
        last_is_sanitizer = true;
      }
      block_start = pos;
    } else if (StartsWith(line, "INFO: Seed: ") || StartsWith(line, "Running: ")) {
      // A new libFuzzer process, or a new input of a replay of several
      // files: later reports are new findings.
      after_ftfuzz = false;
      last_is_sanitizer = false;
    } else if (StartsWith(line, "WARNING: ThreadSanitizer: ")) {
      block_start = line_start;
    }
    previous_signature = std::move(signature);
  }
  return out;
}

std::optional<ParsedFinding> LastFinding(std::string_view text) {
  std::vector<ParsedFinding> all = ParseReportLines(text);
  if (all.empty()) return std::nullopt;
  return all.back();
}

}  // namespace ftf::audit
