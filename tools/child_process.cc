// child_process.cc - see child_process.h.

#include "tools/child_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace ftf::tools {

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    Kill();
    Reap();
  }
  CloseFds();
}

bool ChildProcess::Start(const std::function<void(int result_fd)>& body) {
  int result_pipe[2];
  int error_pipe[2];
  if (pipe(result_pipe) != 0) return false;
  if (pipe(error_pipe) != 0) {
    close(result_pipe[0]);
    close(result_pipe[1]);
    return false;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {result_pipe[0], result_pipe[1], error_pipe[0], error_pipe[1]}) close(fd);
    return false;
  }
  if (pid == 0) {
    close(result_pipe[0]);
    close(error_pipe[0]);
    dup2(error_pipe[1], 2);
    body(result_pipe[1]);
    _exit(0);
  }
  close(result_pipe[1]);
  close(error_pipe[1]);
  pid_ = pid;
  result_fd_ = result_pipe[0];
  error_fd_ = error_pipe[0];
  errors_.clear();
  return true;
}

ChildProcess::Event ChildProcess::Poll(int timeout_ms, std::string* result) {
  if (result_fd_ < 0 && error_fd_ < 0) return Event::kClosed;
  pollfd fds[2] = {{result_fd_, POLLIN, 0}, {error_fd_, POLLIN, 0}};
  int r;
  do {
    r = poll(fds, 2, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return Event::kTimeout;
  char buf[4096];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    ssize_t got;
    do {
      got = read(fds[i].fd, buf, sizeof(buf));
    } while (got < 0 && errno == EINTR);
    int& fd = i == 0 ? result_fd_ : error_fd_;
    if (got <= 0) {
      close(fd);
      fd = -1;
      continue;
    }
    if (i == 0) {
      result->append(buf, static_cast<size_t>(got));
    } else if (errors_.size() < max_error_bytes) {
      errors_.append(buf, static_cast<size_t>(got));
    }
  }
  return result_fd_ < 0 ? Event::kClosed : Event::kData;
}

bool ChildProcess::ReadToEnd(int timeout_ms, std::string* result) {
  while (result_fd_ >= 0 || error_fd_ >= 0) {
    if (Poll(timeout_ms, result) == Event::kTimeout) return false;
  }
  return true;
}

void ChildProcess::DrainErrors(int timeout_ms) {
  std::string ignored;
  if (result_fd_ >= 0) {
    close(result_fd_);
    result_fd_ = -1;
  }
  while (error_fd_ >= 0) {
    if (Poll(timeout_ms, &ignored) == Event::kTimeout) break;
  }
}

void ChildProcess::Kill() {
  if (pid_ > 0) kill(pid_, SIGKILL);
}

int ChildProcess::Reap() {
  CloseFds();
  int status = 0;
  if (pid_ > 0) {
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  return status;
}

void ChildProcess::CloseFds() {
  for (int* fd : {&result_fd_, &error_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

}  // namespace ftf::tools
