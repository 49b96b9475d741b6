// ftf_main.cc - the ftf tool: one binary, one subcommand per job.

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "core/variant.h"
#include "program/cli.h"
#include "tools/classify.h"
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
               "  variants                 list the core variants\n"
               "  classify FILE|-          print the last finding of a log or report as JSON\n"
               "                           (kind, SUMMARY line, signature, root cause)\n");
  return out == stderr ? 2 : 0;
}

int Variants() {
  // EXPECTS: what the harness reports for a mutant without TSan (gcc, asan);
  // UNDER TSAN: under the tsan preset ("-" when TSan cannot see more).
  std::printf("%-34s %-66s %-11s %s\n", "VARIANT", "EXPECTS", "UNDER TSAN", "DESCRIPTION");
  for (const ftf::core::Variant& v : ftf::core::AllVariants()) {
    auto name = [](std::optional<ftf::core::FindingKind> k) {
      return std::string(k.has_value() ? ftf::core::FindingKindName(*k) : "clean");
    };
    std::string plain = name(ftf::core::ExpectedFinding(v, /*under_tsan=*/false));
    for (ftf::core::FindingKind k : v.also_found_as) plain += std::string("|") + ftf::core::FindingKindName(k);
    const std::string tsan = name(ftf::core::ExpectedFinding(v, /*under_tsan=*/true));
    std::printf("%-34s %-66s %-11s %s\n", v.name.c_str(), plain.c_str(), tsan.c_str(), v.description.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  std::string cmd = argv[1];
  if (cmd == "decode") return ftf::program::DecodeCommand(argc - 1, argv + 1);
  if (cmd == "encode") return ftf::program::EncodeCommand(argc - 1, argv + 1);
  if (cmd == "variants") return Variants();
  if (cmd == "repro") return ftf::tools::ReproCommand(argc - 1, argv + 1);
  if (cmd == "minimize") return ftf::tools::MinimizeCommand(argc - 1, argv + 1);
  if (cmd == "trace") return ftf::tools::TraceCommand(argc - 1, argv + 1);
  if (cmd == "export") return ftf::tools::ExportCommand(argc - 1, argv + 1);
  if (cmd == "classify") return ftf::tools::ClassifyCommand(argc - 1, argv + 1);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") return Usage(stdout);
  std::fprintf(stderr, "ftf: unknown command '%s'\n", cmd.c_str());
  return Usage(stderr);
}
