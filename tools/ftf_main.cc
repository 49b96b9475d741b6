// ftf_main.cc - the ftf tool: one binary, one subcommand per job.

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/variant.h"
#include "fuzzers/fuzz_targets.h"
#include "program/expectations.h"
#include "program/io.h"
#include "tools/args.h"
#include "tools/classify.h"
#include "tools/decode_command.h"
#include "tools/export_python.h"
#include "tools/minimize.h"
#include "tools/repro.h"
#include "tools/trace_html.h"

namespace {

int Usage(FILE* out) {
  std::fprintf(out,
               "usage: ftf COMMAND [ARGS]\n"
               "  decode FILE              print an input as a text program\n"
               "  encode FILE.txt -o OUT   write the bytes of a text program\n"
               "  repro FILE [--variant=V] [--runs=N] [--threads=K] [--timeout=S]\n"
               "                           replay an input and print the finding report\n"
               "  minimize FILE [-o OUT] [--variant=V] [--max-runs=N]\n"
               "                           shrink an input that produces a finding\n"
               "  trace FILE --html OUT.html [--variant=V]\n"
               "                           write the interleaving as an HTML page\n"
               "  export FILE --python -o OUT.py\n"
               "                           write the program as a Python script\n"
               "  variants [--json]        list the core variants (--json: every field, for scripts)\n"
               "  targets [--all]          list the fuzz targets that take --variant (--all: every target)\n"
               "  expect FILE.txt [--tsan] a regression twin's `# expect:` outcomes, one `VARIANT KIND` a line\n"
               "  classify FILE|-          print the last finding of a log or report as JSON\n"
               "                           (kind, SUMMARY line, signature, root cause)\n");
  return out == stderr ? 2 : 0;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + JsonString(items[i]);
  return out + "]";
}

std::string KindName(std::optional<ftf::core::FindingKind> k) {
  return std::string(k.has_value() ? ftf::core::FindingKindName(*k) : "clean");
}

// The registry for scripts: one JSON array, one object per variant.
void VariantsJson() {
  std::printf("[\n");
  const std::vector<ftf::core::Variant>& all = ftf::core::AllVariants();
  for (size_t i = 0; i < all.size(); ++i) {
    const ftf::core::Variant& v = all[i];
    const std::string plain = KindName(ftf::core::ExpectedFinding(v, /*under_tsan=*/false));
    const std::string tsan = KindName(ftf::core::ExpectedFinding(v, /*under_tsan=*/true));
    std::vector<std::string> also;
    for (ftf::core::FindingKind k : v.also_found_as) also.push_back(KindName(k));
    std::printf(
        "  {\"name\": %s, \"mutant\": %s, \"expected\": %s, \"expected_tsan\": %s, \"also_found_as\": %s, "
        "\"fuzz_targets\": %s, \"description\": %s}%s\n",
        JsonString(v.name).c_str(), v.is_mutant ? "true" : "false", JsonString(plain).c_str(),
        JsonString(tsan).c_str(), JsonList(also).c_str(), JsonList(v.fuzz_targets).c_str(),
        JsonString(v.description).c_str(), i + 1 < all.size() ? "," : "");
  }
  std::printf("]\n");
}

// Reads a registry subcommand's arguments with the shared parser (args.h).
// Returns -1 to go on, else the exit status (0 after --help, 2 on a usage
// error, with the usage line).
int ParseArgs(ftf::tools::ArgParser& args, int argc, char** argv, const char* usage) {
  const absl::Status s = args.Parse(argc, argv);
  if (!s.ok()) std::fprintf(stderr, "ftf %s: %s\n", argv[0], std::string(s.message()).c_str());
  if (s.ok() && !args.help()) return -1;
  std::fprintf(s.ok() ? stdout : stderr, "usage: %s\n", usage);
  return s.ok() ? 0 : 2;
}

int Variants(int argc, char** argv) {
  bool json = false;
  ftf::tools::ArgParser args;
  args.Flag("json", &json);
  if (int rc = ParseArgs(args, argc, argv, "ftf variants [--json]"); rc >= 0) return rc;
  if (json) {
    VariantsJson();
    return 0;
  }
  // EXPECTS: what the harness reports for a mutant without TSan (gcc, asan);
  // UNDER TSAN: under the tsan preset ("-" when TSan cannot see more).
  std::printf("%-34s %-66s %-11s %s\n", "VARIANT", "EXPECTS", "UNDER TSAN", "DESCRIPTION");
  for (const ftf::core::Variant& v : ftf::core::AllVariants()) {
    std::string plain = KindName(ftf::core::ExpectedFinding(v, /*under_tsan=*/false));
    for (ftf::core::FindingKind k : v.also_found_as) plain += "|" + KindName(k);
    const std::string tsan = KindName(ftf::core::ExpectedFinding(v, /*under_tsan=*/true));
    std::printf("%-34s %-66s %-11s %s\n", v.name.c_str(), plain.c_str(), tsan.c_str(), v.description.c_str());
  }
  return 0;
}

// The fuzz targets fuzzers/CMakeLists.txt registers (generated header).
int Targets(int argc, char** argv) {
  bool all = false;
  ftf::tools::ArgParser args;
  args.Flag("all", &all);
  if (int rc = ParseArgs(args, argc, argv, "ftf targets [--all]"); rc >= 0) return rc;
  if (all) {
    for (std::string_view t : ftf::kAllFuzzTargets) std::printf("%.*s\n", static_cast<int>(t.size()), t.data());
  } else {
    for (std::string_view t : ftf::kVariantFuzzTargets) std::printf("%.*s\n", static_cast<int>(t.size()), t.data());
  }
  return 0;
}

// The outcomes a regression's text twin records for this build kind.
int Expect(int argc, char** argv) {
  std::string file;
  bool tsan = false;
  ftf::tools::ArgParser args;
  args.Flag("tsan", &tsan).Positional(&file);
  if (int rc = ParseArgs(args, argc, argv, "ftf expect FILE.txt [--tsan]"); rc >= 0) return rc;
  if (file.empty()) {
    std::fprintf(stderr, "ftf expect: missing FILE.txt (usage: ftf expect FILE.txt [--tsan])\n");
    return 2;
  }
  absl::StatusOr<std::string> text = ftf::program::ReadFileBytes(file);
  if (!text.ok()) {
    std::fprintf(stderr, "ftf expect: %s\n", std::string(text.status().message()).c_str());
    return 2;
  }
  for (const ftf::program::Expectation& e : ftf::program::ParseExpectations(*text, tsan))
    std::printf("%s %s\n", e.variant.c_str(), e.kind.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  std::string cmd = argv[1];
  if (cmd == "decode") return ftf::tools::DecodeCommand(argc - 1, argv + 1);
  if (cmd == "encode") return ftf::tools::EncodeCommand(argc - 1, argv + 1);
  if (cmd == "variants") return Variants(argc - 1, argv + 1);
  if (cmd == "targets") return Targets(argc - 1, argv + 1);
  if (cmd == "expect") return Expect(argc - 1, argv + 1);
  if (cmd == "repro") return ftf::tools::ReproCommand(argc - 1, argv + 1);
  if (cmd == "minimize") return ftf::tools::MinimizeCommand(argc - 1, argv + 1);
  if (cmd == "trace") return ftf::tools::TraceCommand(argc - 1, argv + 1);
  if (cmd == "export") return ftf::tools::ExportCommand(argc - 1, argv + 1);
  if (cmd == "classify") return ftf::tools::ClassifyCommand(argc - 1, argv + 1);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") return Usage(stdout);
  std::fprintf(stderr, "ftf: unknown command '%s'\n", cmd.c_str());
  return Usage(stderr);
}
