// child_process.h - the one way the tools run work in a child process:
// `ftf minimize` runs each candidate in a fork (a sanitizer report or a hang
// must not end the tool) and `ftf repro --threads` runs batches of real-thread
// replays in workers. The child gets a result pipe and its stderr goes to a
// second pipe; the parent reads both with one poll loop, kills a child that
// makes no progress, and reaps it.
//
// Thread-safety: a ChildProcess belongs to one thread. Not for use inside a
// fiber run (fork copies only the calling OS thread).

#ifndef FTF_TOOLS_CHILD_PROCESS_H_
#define FTF_TOOLS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>

namespace ftf::tools {

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // kills and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Forks. The child runs `body(result_fd)` with stderr on the error pipe,
  // then exits with status 0 (body may exit or exec itself). False if the
  // pipes or the fork failed (nothing is left running).
  bool Start(const std::function<void(int result_fd)>& body);

  enum class Event {
    kData,     // something arrived (result bytes appended to *result, stderr to the error text)
    kClosed,   // the result pipe is at end of file (the child closed it or died)
    kTimeout,  // nothing arrived for timeout_ms
  };
  // Waits up to `timeout_ms` for either pipe; appends what arrives.
  Event Poll(int timeout_ms, std::string* result);
  // Reads until the child closed both pipes; false if a wait of
  // `timeout_ms` saw nothing (the child is then hung: Kill it).
  bool ReadToEnd(int timeout_ms, std::string* result);
  // Reads what is left on stderr, waiting up to `timeout_ms` per chunk (a
  // dying sanitizer may still be writing its report).
  void DrainErrors(int timeout_ms);

  void Kill();
  // Waits for the child; its wait status.
  int Reap();

  // Everything the child wrote to stderr (capped at max_error_bytes).
  const std::string& errors() const { return errors_; }
  size_t max_error_bytes = 1 << 20;

 private:
  void CloseFds();
  pid_t pid_ = -1;
  int result_fd_ = -1;
  int error_fd_ = -1;
  std::string errors_;
};

}  // namespace ftf::tools

#endif  // FTF_TOOLS_CHILD_PROCESS_H_
