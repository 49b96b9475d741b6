// decode_command.cc - see decode_command.h.

#include "tools/decode_command.h"

#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "program/encoder.h"
#include "program/io.h"
#include "program/text.h"
#include "tools/args.h"
#include "tools/input.h"

namespace ftf::tools {
namespace {

using program::Encode;
using program::kTextVersionLine;
using program::LoadProgramFile;
using program::LooksLikeText;
using program::ParseText;
using program::Program;
using program::ReadFileBytes;
using program::ToText;
using program::WriteFileBytes;

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
  std::string input, output;
  bool output_given = false;
  ArgParser parser;
  parser.Value("output", 'o', [&](std::string_view v) {
    if (v.empty()) return absl::InvalidArgumentError("needs a value");
    output = std::string(v);
    output_given = true;
    return absl::OkStatus();
  });
  parser.Positional(&input);
  if (absl::Status s = parser.Parse(argc, argv); !s.ok()) a.error = std::string(s.message());
  a.help = parser.help();
  if (!input.empty()) a.input = input;
  if (output_given) a.output = output;
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
  std::optional<Program> p = LoadInputOrReport("decode", *a.input, err);
  if (!p) return kCliError;
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

}  // namespace ftf::tools
