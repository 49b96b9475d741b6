// The one child-process runner of the tools (tools/child_process.h): what
// the child writes to its result pipe and to stderr arrives, its exit status
// is reaped, and a child that makes no progress is seen as hung and killed.

#include "tools/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace ftf::tools {
namespace {

void WriteAll(int fd, const std::string& s) {
  ssize_t ignored = write(fd, s.data(), s.size());
  (void)ignored;
}

TEST(ChildProcessTest, ResultAndErrorsArriveAndTheStatusIsReaped) {
  ChildProcess child;
  ASSERT_TRUE(child.Start([](int fd) {
    WriteAll(fd, "line 1\n");
    std::fprintf(stderr, "to stderr\n");
    WriteAll(fd, "line 2\n");
  }));
  std::string result;
  EXPECT_TRUE(child.ReadToEnd(10'000, &result));
  const int status = child.Reap();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(result, "line 1\nline 2\n");
  EXPECT_NE(child.errors().find("to stderr\n"), std::string::npos) << child.errors();
}

TEST(ChildProcessTest, PollSeesEachLineThenTheEnd) {
  ChildProcess child;
  ASSERT_TRUE(child.Start([](int fd) {
    WriteAll(fd, "a\n");
    usleep(50'000);
    WriteAll(fd, "b\n");
    _exit(3);
  }));
  std::string result;
  ChildProcess::Event e = ChildProcess::Event::kData;
  while (e == ChildProcess::Event::kData) e = child.Poll(10'000, &result);
  EXPECT_EQ(e, ChildProcess::Event::kClosed);
  EXPECT_EQ(result, "a\nb\n");
  const int status = child.Reap();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
}

TEST(ChildProcessTest, AChildThatMakesNoProgressTimesOutAndIsKilled) {
  ChildProcess child;
  ASSERT_TRUE(child.Start([](int fd) {
    WriteAll(fd, "started\n");
    pause();  // hangs
  }));
  std::string result;
  EXPECT_FALSE(child.ReadToEnd(300, &result));
  EXPECT_EQ(result, "started\n");
  child.Kill();
  const int status = child.Reap();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

TEST(ChildProcessTest, ADyingChildsLastWordsAreDrained) {
  ChildProcess child;
  ASSERT_TRUE(child.Start([](int fd) {
    close(fd);  // the result pipe ends first
    usleep(50'000);
    std::fprintf(stderr, "report after the result pipe closed\n");
    std::abort();
  }));
  std::string result;
  EXPECT_EQ(child.Poll(10'000, &result), ChildProcess::Event::kClosed);
  child.DrainErrors(5'000);
  const int status = child.Reap();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << status;
  EXPECT_NE(child.errors().find("report after the result pipe closed\n"), std::string::npos) << child.errors();
}

}  // namespace
}  // namespace ftf::tools
