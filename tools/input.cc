// input.cc - see input.h.

#include "tools/input.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "program/io.h"

namespace ftf::tools {

std::string EmptyInputNote(std::string_view prefix, const std::string& path) {
  return absl::StrCat(std::string(prefix), ": note: ", path,
                      " is empty; it is read as the empty input (one thread with no operations)");
}

std::optional<program::Program> LoadInputOrReport(std::string_view prefix, const std::string& path,
                                                  std::ostream& err) {
  absl::StatusOr<std::string> bytes = program::ReadFileBytes(path);
  if (!bytes.ok()) {
    err << prefix << ": " << bytes.status().message() << "\n";
    return std::nullopt;
  }
  if (bytes->empty()) err << EmptyInputNote(prefix, path) << "\n";
  absl::StatusOr<program::Program> p = program::LoadProgram(*bytes);
  if (!p.ok()) {
    // The parse error names the line; the file is named here, once.
    err << prefix << ": " << path << ": " << p.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(p);
}

absl::Status CheckWritable(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty output file name");
  struct stat st;
  const bool existed = ::stat(path.c_str(), &st) == 0;
  if (existed && S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", path, ": is a directory"));
  }
  // Opening for append creates the file if needed and truncates nothing.
  FILE* f = std::fopen(path.c_str(), "ab");
  if (f == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::fclose(f);
  if (!existed) std::remove(path.c_str());
  return absl::OkStatus();
}

}  // namespace ftf::tools
