// io.cc - see io.h. C stdio, so that errors carry strerror(errno).

#include "program/io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "program/decoder.h"
#include "program/text.h"

namespace ftf::program {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

absl::Status ErrnoError(int err, const std::string& what) {
  const std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT: return absl::NotFoundError(msg);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(msg);
    default: return absl::FailedPreconditionError(msg);
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path, ": is a directory"));
  }
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return ErrnoError(errno, absl::StrCat("cannot open ", path));
  std::string data;
  char buf[1 << 16];
  while (true) {
    const size_t n = std::fread(buf, 1, sizeof(buf), f.get());
    data.append(buf, n);
    if (n < sizeof(buf)) break;
  }
  if (std::ferror(f.get())) return ErrnoError(errno, absl::StrCat("cannot read ", path));
  return data;
}

absl::Status WriteFileBytes(const std::string& path, std::span<const uint8_t> bytes) {
  File f(std::fopen(path.c_str(), "wb"));
  if (!f) return ErrnoError(errno, absl::StrCat("cannot create ", path));
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    return ErrnoError(errno, absl::StrCat("cannot write ", path));
  }
  std::FILE* raw = f.release();
  if (std::fclose(raw) != 0) return ErrnoError(errno, absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<Program> LoadProgram(std::string_view contents, const Limits& limits) {
  if (LooksLikeText(contents)) return ParseText(contents, limits);
  return Decode(contents, limits);
}

absl::StatusOr<Program> LoadProgramFile(const std::string& path, const Limits& limits) {
  absl::StatusOr<std::string> data = ReadFileBytes(path);
  if (!data.ok()) return data.status();
  absl::StatusOr<Program> p = LoadProgram(*data, limits);
  if (!p.ok()) return absl::Status(p.status().code(), absl::StrCat(path, ": ", p.status().message()));
  return p;
}

}  // namespace ftf::program
