// args.cc - see args.h.

#include "tools/args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ftf::tools {

absl::StatusOr<int64_t> ParseInt(std::string_view text, int64_t lo, int64_t hi) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &n) || n < lo || n > hi) {
    return absl::InvalidArgumentError(absl::StrCat("needs a number from ", lo, " to ", hi, ", not '",
                                                   std::string(text), "'"));
  }
  return n;
}

absl::StatusOr<double> ParseDouble(std::string_view text, double lo, double hi) {
  double d = 0;
  if (!absl::SimpleAtod(absl::string_view(text.data(), text.size()), &d) || !(d >= lo && d <= hi)) {
    return absl::InvalidArgumentError(absl::StrCat("needs a number from ", lo, " to ", hi, ", not '",
                                                   std::string(text), "'"));
  }
  return d;
}

ArgParser& ArgParser::Value(std::string name, char alias, std::function<absl::Status(std::string_view)> set) {
  options_.push_back(Option{std::move(name), alias, true, std::move(set)});
  return *this;
}

ArgParser& ArgParser::String(std::string name, std::string* out, char alias) {
  return Value(std::move(name), alias, [out](std::string_view v) {
    if (v.empty()) return absl::InvalidArgumentError("needs a value");
    *out = std::string(v);
    return absl::OkStatus();
  });
}

ArgParser& ArgParser::Double(std::string name, double lo, double hi, double* out) {
  return Value(std::move(name), 0, [out, lo, hi](std::string_view v) -> absl::Status {
    absl::StatusOr<double> d = ParseDouble(v, lo, hi);
    if (!d.ok()) return d.status();
    *out = *d;
    return absl::OkStatus();
  });
}

ArgParser& ArgParser::List(std::string name, std::vector<std::string>* out) {
  return Value(std::move(name), 0, [out](std::string_view v) {
    out->clear();
    for (absl::string_view item : absl::StrSplit(absl::string_view(v.data(), v.size()), ',', absl::SkipEmpty())) {
      out->emplace_back(item);
    }
    if (out->empty()) return absl::InvalidArgumentError("needs a comma-separated list");
    return absl::OkStatus();
  });
}

ArgParser& ArgParser::Flag(std::string name, bool* out) {
  options_.push_back(Option{std::move(name), 0, false, [out](std::string_view) {
                              *out = true;
                              return absl::OkStatus();
                            }});
  return *this;
}

ArgParser& ArgParser::Positional(std::string* out) {
  positionals_.push_back(out);
  return *this;
}

const ArgParser::Option* ArgParser::Find(std::string_view arg) const {
  for (const Option& o : options_) {
    if (arg.size() == 2 && arg[0] == '-' && o.alias != 0 && arg[1] == o.alias) return &o;
    if (arg.size() > 2 && arg.substr(0, 2) == "--" && arg.substr(2) == o.name) return &o;
  }
  return nullptr;
}

absl::Status ArgParser::Parse(int argc, char** argv) {
  size_t next_positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      const size_t eq = arg.find('=');
      const std::string_view key = arg.substr(0, eq);
      const Option* o = Find(key);
      if (o == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown option '", std::string(arg), "'"));
      std::string_view value;
      if (!o->takes_value) {
        if (eq != std::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrCat(std::string(key), " takes no value"));
        }
      } else if (eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat(std::string(key), " needs a value"));
      }
      if (absl::Status s = o->set(value); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(std::string(key), " ", s.message()));
      }
      continue;
    }
    if (next_positional >= positionals_.size()) {
      return absl::InvalidArgumentError(
          positionals_.empty() ? absl::StrCat("unexpected argument '", std::string(arg), "'")
                               : absl::StrCat("one input file, please (got '", *positionals_.back(), "' and '",
                                              std::string(arg), "')"));
    }
    *positionals_[next_positional++] = std::string(arg);
  }
  return absl::OkStatus();
}

}  // namespace ftf::tools
