// standalone_main.cc - runs a fuzz target without libFuzzer.
//
// Linked into every fuzz target when FTF_LIBFUZZER is off (the gcc preset),
// like curl-fuzzer's standalone_fuzz_target_runner: it calls
// LLVMFuzzerInitialize (if the target defines it) and then
// LLVMFuzzerTestOneInput once per file named on the command line,
// descending into directories (sorted, so runs are repeatable). Arguments
// starting with '-' are libFuzzer-style flags: they are passed to
// LLVMFuzzerInitialize and otherwise ignored. An unreadable path is
// reported and skipped; the exit status is then 1. Each input is copied
// into a buffer of exactly its size so ASan sees reads past the end.
// Prints one summary line:
//   standalone: ran N inputs (B bytes), U unreadable, R rejected

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

struct Totals {
  size_t ran = 0, bytes = 0, unreadable = 0, rejected = 0;
};

bool ReadWhole(const std::string& path, std::vector<uint8_t>& out, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = std::strerror(errno);
    return false;
  }
  out.clear();
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.insert(out.end(), buf, buf + n);
  const bool failed = std::ferror(f) != 0;
  if (failed) error = std::strerror(errno);
  std::fclose(f);
  return !failed;
}

void RunFile(const std::string& path, Totals& totals) {
  std::vector<uint8_t> data;
  std::string error;
  if (!ReadWhole(path, data, error)) {
    std::fprintf(stderr, "standalone: cannot read %s: %s\n", path.c_str(), error.c_str());
    ++totals.unreadable;
    return;
  }
  std::fprintf(stderr, "Running: %s\n", path.c_str());
  // Exactly-sized heap copy (new[] of 0 is a valid, unreadable pointer).
  std::unique_ptr<uint8_t[]> copy(new uint8_t[data.size()]);
  if (!data.empty()) std::memcpy(copy.get(), data.data(), data.size());
  if (LLVMFuzzerTestOneInput(copy.get(), data.size()) == -1) ++totals.rejected;
  ++totals.ran;
  totals.bytes += data.size();
}

void RunPath(const std::string& path, Totals& totals) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    std::fprintf(stderr, "standalone: cannot read %s: %s\n", path.c_str(),
                 ec ? ec.message().c_str() : "no such file or directory");
    ++totals.unreadable;
    return;
  }
  if (fs::is_regular_file(st)) {
    RunFile(path, totals);
    return;
  }
  if (!fs::is_directory(st)) {  // a FIFO or device would block or never end
    std::fprintf(stderr, "standalone: cannot read %s: not a regular file or directory\n", path.c_str());
    ++totals.unreadable;
    return;
  }
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) files.push_back(it->path().string());
  }
  if (ec) {
    std::fprintf(stderr, "standalone: cannot list %s: %s\n", path.c_str(), ec.message().c_str());
    ++totals.unreadable;
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) RunFile(f, totals);
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') paths.emplace_back(argv[i]);
  }
  if (paths.empty()) {
    std::fprintf(stderr,
                 "usage: %s FILE_OR_DIR...\n"
                 "  Standalone replay driver (no libFuzzer): runs the fuzz target once on every\n"
                 "  file given, descending into directories.\n",
                 argv[0]);
    return 2;
  }
  Totals totals;
  for (const std::string& p : paths) RunPath(p, totals);
  std::fprintf(stderr, "standalone: ran %zu inputs (%zu bytes), %zu unreadable, %zu rejected\n", totals.ran,
               totals.bytes, totals.unreadable, totals.rejected);
  return totals.unreadable ? 1 : 0;
}
