// args.h - the one way every `ftf` subcommand and every bench program reads
// its command line.
//
// A command declares its options, then parses argv once:
//   --name=VALUE or --name VALUE     a value option (String, Int, Double, List)
//   -x VALUE                         a value option's one-letter alias
//   --flag                           a Flag (no value)
//   -h, --help                       sets help() (the caller prints its usage)
//   anything else                    a positional, up to the declared number
// Errors (an unknown option, a missing value, a number out of range, one
// positional too many) come back as one line naming the option. Numbers are
// parsed by ParseInt / ParseDouble, built on absl::SimpleAtoi / SimpleAtod:
// the whole text must be the number.
//
// Thread-safety: an ArgParser is used by one thread.

#ifndef FTF_TOOLS_ARGS_H_
#define FTF_TOOLS_ARGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ftf::tools {

// A decimal integer in [lo, hi]; the error names the range.
absl::StatusOr<int64_t> ParseInt(std::string_view text, int64_t lo, int64_t hi);
// A number in [lo, hi].
absl::StatusOr<double> ParseDouble(std::string_view text, double lo, double hi);

class ArgParser {
 public:
  ArgParser() = default;

  // Value options. `name` is the long name without "--"; `alias` an optional
  // one-letter name without "-".
  ArgParser& String(std::string name, std::string* out, char alias = 0);
  template <typename T>
  ArgParser& Int(std::string name, int64_t lo, int64_t hi, T* out, char alias = 0) {
    return Value(std::move(name), alias, [out, lo, hi](std::string_view v) -> absl::Status {
      absl::StatusOr<int64_t> n = ParseInt(v, lo, hi);
      if (!n.ok()) return n.status();
      *out = static_cast<T>(*n);
      return absl::OkStatus();
    });
  }
  ArgParser& Double(std::string name, double lo, double hi, double* out);
  // A comma-separated list ("a,b,c"; empty items dropped).
  ArgParser& List(std::string name, std::vector<std::string>* out);
  // Any other value option: `set` checks and stores the value.
  ArgParser& Value(std::string name, char alias, std::function<absl::Status(std::string_view)> set);
  // An option with no value.
  ArgParser& Flag(std::string name, bool* out);
  // The next positional argument (declaration order).
  ArgParser& Positional(std::string* out);

  // Parses argv[1..argc-1] (argv[0] is the command's name).
  absl::Status Parse(int argc, char** argv);
  bool help() const { return help_; }

 private:
  struct Option {
    std::string name;
    char alias = 0;
    bool takes_value = true;
    std::function<absl::Status(std::string_view)> set;
  };
  const Option* Find(std::string_view arg) const;

  std::vector<Option> options_;
  std::vector<std::string*> positionals_;
  bool help_ = false;
};

}  // namespace ftf::tools

#endif  // FTF_TOOLS_ARGS_H_
