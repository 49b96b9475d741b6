// cli.cc - see cli.h.

#include "program/cli.h"

#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "program/encoder.h"
#include "program/io.h"
#include "program/text.h"

namespace ftf::program {
namespace {

constexpr char kDecodeUsage[] =
    "usage: decode FILE [-o OUT]\n"
    "  Print the text form of FILE: a binary input (corpus file, crash file) or a\n"
    "  text program (printed in normalised form). -o writes it to OUT instead.\n";
constexpr char kEncodeUsage[] =
    "usage: encode FILE.txt -o OUT\n"
    "  Write the input bytes of the text program FILE.txt to OUT.\n";

struct Args {
  std::optional<std::string> input;
  std::optional<std::string> output;
  bool help = false;
  std::string error;  // non-empty: a usage error
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i] ? argv[i] : "";
    if (arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (arg == "-o" || arg == "--output") {
      if (i + 1 >= argc) { a.error = std::string(arg) + " needs a file name"; return a; }
      a.output = argv[++i];
    } else if (arg.rfind("-o=", 0) == 0 || arg.rfind("--output=", 0) == 0) {
      a.output = std::string(arg.substr(arg.find('=') + 1));
    } else if (arg.size() > 1 && arg[0] == '-') {
      a.error = "unknown option " + std::string(arg);
      return a;
    } else if (a.input) {
      a.error = "more than one input file (" + *a.input + ", " + std::string(arg) + ")";
      return a;
    } else {
      a.input = std::string(arg);
    }
  }
  if (a.output && a.output->empty()) a.error = "empty output file name";
  return a;
}

int Usage(std::ostream& err, const char* usage, const std::string& error) {
  if (!error.empty()) err << "error: " << error << "\n";
  err << usage;
  return kCliError;
}

}  // namespace

int DecodeCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  const Args a = ParseArgs(argc, argv);
  if (a.help) { out << kDecodeUsage; return kCliOk; }
  if (!a.error.empty()) return Usage(err, kDecodeUsage, a.error);
  if (!a.input) return Usage(err, kDecodeUsage, "no input file");
  absl::StatusOr<Program> p = LoadProgramFile(*a.input);
  if (!p.ok()) {
    err << "decode: " << p.status().message() << "\n";
    return kCliError;
  }
  const std::string text = ToText(*p);
  if (!a.output) {
    out << text;
    return kCliOk;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(text.data());
  if (absl::Status s = WriteFileBytes(*a.output, {data, text.size()}); !s.ok()) {
    err << "decode: " << s.message() << "\n";
    return kCliError;
  }
  return kCliOk;
}

int EncodeCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  const Args a = ParseArgs(argc, argv);
  if (a.help) { out << kEncodeUsage; return kCliOk; }
  if (!a.error.empty()) return Usage(err, kEncodeUsage, a.error);
  if (!a.input) return Usage(err, kEncodeUsage, "no input file");
  if (!a.output) return Usage(err, kEncodeUsage, "no output file (-o OUT)");
  absl::StatusOr<std::string> data = ReadFileBytes(*a.input);
  if (!data.ok()) {
    err << "encode: " << data.status().message() << "\n";
    return kCliError;
  }
  if (!LooksLikeText(*data)) {
    err << "encode: " << *a.input << " is not a text program (its first line must be '" << kTextVersionLine
        << "'); 'decode' turns a binary input into text\n";
    return kCliError;
  }
  absl::StatusOr<Program> p = ParseText(*data);
  if (!p.ok()) {
    err << "encode: " << *a.input << ": " << p.status().message() << "\n";
    return kCliError;
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = Encode(*p);
  if (!bytes.ok()) {  // cannot happen for a parsed program; reported, not crashed on
    err << "encode: " << *a.input << ": " << bytes.status().message() << "\n";
    return kCliError;
  }
  if (absl::Status s = WriteFileBytes(*a.output, *bytes); !s.ok()) {
    err << "encode: " << s.message() << "\n";
    return kCliError;
  }
  err << "encode: wrote " << bytes->size() << " bytes to " << *a.output << "\n";
  return kCliOk;
}

int DecodeCommand(int argc, char** argv) { return DecodeCommand(argc, argv, std::cout, std::cerr); }
int EncodeCommand(int argc, char** argv) { return EncodeCommand(argc, argv, std::cout, std::cerr); }

}  // namespace ftf::program
