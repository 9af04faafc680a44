// Tests of the real POSIX process runner; the children are /bin/sh one-liners.
#include "daemon/runtime/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace nexus::daemon::runtime {
namespace {

SpawnOptions Sh(const std::string& script) {
  SpawnOptions s;
  s.argv = {"/bin/sh", "-c", script};
  s.env = {"PATH=/usr/bin:/bin"};
  return s;
}

class ProcessRunnerTest : public ::testing::Test {
 protected:
  // For the tests of an early end: `script` runs with a control pipe and
  // writes "end" to fd 3 when its work is done; UntilEnd() stops there.
  Result<std::unique_ptr<Child>> SpawnReporting(const std::string& script) {
    SpawnOptions spawn = Sh(script);
    spawn.control_pipe = true;
    return runner_->Spawn(spawn);
  }
  static CommunicateOptions UntilEnd() {
    CommunicateOptions io;
    io.done = [](std::string_view control) { return control.find("end\n") != std::string::npos; };
    return io;
  }

  std::unique_ptr<ProcessRunner> runner_ = NewPosixProcessRunner();
};

TEST_F(ProcessRunnerTest, CapturesStdoutStderrAndExitCode) {
  auto out = runner_->Run(Sh("echo out; echo err >&2; exit 3"), {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->stdout_data, "out\n");
  EXPECT_EQ(out->stderr_data, "err\n");
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_EQ(out->term_signal, 0);
  EXPECT_FALSE(out->timed_out);
}

TEST_F(ProcessRunnerTest, FeedsStdinAndClosesIt) {
  CommunicateOptions io;
  io.stdin_data = "line one\nline two\n";
  auto out = runner_->Run(Sh("cat; echo done"), io);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->stdout_data, "line one\nline two\ndone\n");
}

TEST_F(ProcessRunnerTest, MovesMegabytesBothWaysWithoutDeadlock) {
  CommunicateOptions io;
  io.stdin_data.assign(4 << 20, 'x');
  io.stdout_limit = 8 << 20;
  auto out = runner_->Run(Sh("cat"), io);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->stdout_data.size(), io.stdin_data.size());
  EXPECT_FALSE(out->stdout_truncated);
}

TEST_F(ProcessRunnerTest, KeepsOutputUpToTheLimitAndDrainsTheRest) {
  CommunicateOptions io;
  io.stdout_limit = 1000;
  io.stderr_limit = 10;
  // 1 MiB would block the child on a full pipe if the excess were not read.
  auto out = runner_->Run(Sh("head -c 1048576 /dev/zero; echo 0123456789abc >&2; exit 7"), io);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->stdout_data, std::string(1000, '\0'));
  EXPECT_TRUE(out->stdout_truncated);
  EXPECT_EQ(out->stderr_data, "0123456789");
  EXPECT_TRUE(out->stderr_truncated);
  EXPECT_EQ(out->exit_code, 7);
}

TEST_F(ProcessRunnerTest, OutputExactlyAtTheLimitIsNotTruncated) {
  CommunicateOptions io;
  io.stdout_limit = 4;
  auto out = runner_->Run(Sh("printf abcd"), io);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stdout_data, "abcd");
  EXPECT_FALSE(out->stdout_truncated);
}

TEST_F(ProcessRunnerTest, TimeoutKillsTheChildWithSigkill) {
  CommunicateOptions io;
  io.timeout_ms = 100;
  auto out = runner_->Run(Sh("echo started; exec sleep 30"), io);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(out->timed_out);
  EXPECT_EQ(out->term_signal, SIGKILL);
  EXPECT_EQ(out->ShellExitCode(), 137);
  EXPECT_EQ(out->stdout_data, "started\n");
  EXPECT_LT(out->elapsed_ms, 5000);
}

TEST_F(ProcessRunnerTest, TimeoutCallbackReplacesTheDefaultKill) {
  auto child = runner_->Spawn(Sh("exec sleep 30"));
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  int pid = (*child)->pid();
  std::atomic<int> calls{0};
  CommunicateOptions io;
  io.timeout_ms = 50;
  io.on_timeout = [&] {
    ++calls;
    ::kill(pid, SIGTERM);
  };
  auto out = (*child)->Communicate(io);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(out->timed_out);
  EXPECT_EQ(out->term_signal, SIGTERM);
}

TEST_F(ProcessRunnerTest, ChildThatOutlivesTheGraceIsKilledDirectly) {
  CommunicateOptions io;
  io.timeout_ms = 50;
  io.on_timeout = [] {};  // pretends to stop it, but does nothing
  io.kill_grace_ms = 50;
  auto out = runner_->Run(Sh("exec sleep 30"), io);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->timed_out);
  EXPECT_EQ(out->term_signal, SIGKILL);
}

TEST_F(ProcessRunnerTest, ReportsDeathBySignal) {
  auto out = runner_->Run(Sh("kill -SEGV $$"), {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->exit_code, -1);
  EXPECT_EQ(out->term_signal, SIGSEGV);
  EXPECT_EQ(out->ShellExitCode(), 128 + SIGSEGV);
}

TEST_F(ProcessRunnerTest, ControlPipeIsTheChildsFd3) {
  SpawnOptions spawn = Sh("echo ready >&3; echo program output");
  spawn.control_pipe = true;
  auto out = runner_->Run(spawn, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->control_data, "ready\n");
  EXPECT_EQ(out->stdout_data, "program output\n");
}

TEST_F(ProcessRunnerTest, ExtraDescriptorsFollowTheControlPipeInOrder) {
  // A caller's file, then the child's own stdout and stderr pipes once more.
  int file = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0);
  SpawnOptions spawn =
      Sh("echo ctl >&3; echo via-4 >&4; echo via-5 >&5; echo via-1; "
         "readlink /proc/self/fd/6; if echo x >&7; then echo 7-open; fi 2>/dev/null");
  spawn.control_pipe = true;
  using Kind = SpawnOptions::ExtraFd::Kind;
  spawn.extra_fds = {{Kind::kStdoutPipe}, {Kind::kStderrPipe}, {Kind::kCallers, file}};
  auto out = runner_->Run(spawn, {});
  ::close(file);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->control_data, "ctl\n");
  EXPECT_EQ(out->stdout_data, "via-4\nvia-1\n/dev/null\n");
  EXPECT_EQ(out->stderr_data, "via-5\n");
}

TEST_F(ProcessRunnerTest, ALowCallerDescriptorIsPassedIntact) {
  // The caller's fd 4 goes to the child's fd 5; fd 4 itself is the
  // child's stdout pipe, set up first.
  int saved = ::fcntl(4, F_DUPFD_CLOEXEC, 20);  // fd 4 may be in use by the test runner
  int file = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(file, 0);
  if (file != 4) {
    ASSERT_EQ(::dup2(file, 4), 4);
    ::close(file);
  }
  SpawnOptions spawn = Sh("readlink /proc/self/fd/5; echo four >&4");
  spawn.control_pipe = true;
  using Kind = SpawnOptions::ExtraFd::Kind;
  spawn.extra_fds = {{Kind::kStdoutPipe}, {Kind::kCallers, 4}};
  auto out = runner_->Run(spawn, {});
  if (saved >= 0) {
    ::dup2(saved, 4);
    ::close(saved);
  } else {
    ::close(4);
  }
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->stdout_data, "/dev/null\nfour\n");
}

TEST_F(ProcessRunnerTest, PipeExtrasNeedPipes) {
  SpawnOptions spawn = Sh("true");
  spawn.output_file = "/dev/null";
  spawn.extra_fds = {{SpawnOptions::ExtraFd::Kind::kStdoutPipe}};
  EXPECT_EQ(runner_->Spawn(spawn).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ProcessRunnerTest, DoneEndsCommunicateAtTheReportWithTheOutputWrittenBeforeIt) {
  // The child reports, then lingers; Communicate must not wait for it.
  auto child = SpawnReporting("cat; echo out; echo err >&2; echo end >&3; exec sleep 30");
  ASSERT_TRUE(child.ok());
  CommunicateOptions io = UntilEnd();
  io.stdin_data = "in\n";
  io.timeout_ms = 20000;
  auto out = (*child)->Communicate(io);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->stdout_data, "in\nout\n");
  EXPECT_EQ(out->stderr_data, "err\n");
  EXPECT_EQ(out->control_data, "end\n");
  EXPECT_FALSE(out->timed_out);
  EXPECT_EQ(out->exit_code, -1);
  EXPECT_TRUE((*child)->Running());
  // Still running `sleep 30`: WaitExit's deadline kills and reaps it.
  EXPECT_FALSE((*child)->WaitExit(50));
  EXPECT_FALSE((*child)->Running());
  EXPECT_NE(::kill((*child)->pid(), 0), 0);  // reaped: no such process
}

TEST_F(ProcessRunnerTest, WaitExitDrainsWhatTheChildStillWritesUntilItExits) {
  // 1 MiB after the report would block on a full pipe if nobody read it.
  auto child = SpawnReporting("echo end >&3; head -c 1048576 /dev/zero; exit 3");
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE((*child)->Communicate(UntilEnd()).ok());
  EXPECT_TRUE((*child)->WaitExit(20000));  // exited by itself, not killed at the deadline
  EXPECT_FALSE((*child)->Running());
}

TEST_F(ProcessRunnerTest, WithoutControlPipeFd3IsClosed) {
  auto out =
      runner_->Run(Sh("if echo x >&3; then echo open; else echo closed; fi 2>/dev/null"), {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stdout_data, "closed\n");
}

TEST_F(ProcessRunnerTest, ChildInheritsNoOtherDescriptorOfOurs) {
  int null_fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(null_fd, 0);
  int leaked = ::fcntl(null_fd, F_DUPFD, 50);  // deliberately not close-on-exec
  ::close(null_fd);
  ASSERT_GE(leaked, 50);
  SpawnOptions spawn = Sh("ls /proc/self/fd | sort -n | tr '\\n' ' '");
  spawn.control_pipe = true;
  auto out = runner_->Run(spawn, {});
  ::close(leaked);
  ASSERT_TRUE(out.ok());
  // 0-3, plus the one `ls` opens to read the directory.
  EXPECT_EQ(out->stdout_data.substr(0, 8), "0 1 2 3 ") << out->stdout_data;
  EXPECT_EQ(out->stdout_data.find(" " + std::to_string(leaked) + " "), std::string::npos)
      << out->stdout_data;
}

TEST_F(ProcessRunnerTest, EnvironmentIsExactlyTheGivenOne) {
  SpawnOptions spawn;
  spawn.argv = {"/usr/bin/env"};
  spawn.env = {"ONLY=this"};
  auto out = runner_->Run(spawn, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stdout_data, "ONLY=this\n");
}

TEST_F(ProcessRunnerTest, ChildRunsInItsOwnProcessGroup) {
  // Field 5 of /proc/<pid>/stat is the process group.
  auto out = runner_->Run(Sh("cut -d' ' -f5 /proc/$$/stat; echo $$"), {});
  ASSERT_TRUE(out.ok());
  std::istringstream lines(out->stdout_data);
  std::string pgid, pid;
  lines >> pgid >> pid;
  EXPECT_EQ(pgid, pid);
  EXPECT_NE(pgid, std::to_string(::getpgrp()));
}

TEST_F(ProcessRunnerTest, SpawnOfAMissingProgramNamesIt) {
  SpawnOptions spawn;
  spawn.argv = {"/nonexistent/program"};
  auto child = runner_->Spawn(spawn);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("/nonexistent/program"), std::string::npos);
}

TEST_F(ProcessRunnerTest, RelativeProgramIsRejected) {
  SpawnOptions spawn;
  spawn.argv = {"sh", "-c", "true"};
  auto child = runner_->Spawn(spawn);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ProcessRunnerTest, OutputFileModeAppendsBothStreamsAndGivesNoStdin) {
  auto dir =
      std::filesystem::temp_directory_path() / ("nexus-process-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string file = (dir / "out.log").string();
  SpawnOptions spawn = Sh("echo to-stdout; echo to-stderr >&2; cat; echo end");
  spawn.output_file = file;
  CommunicateOptions io;
  io.timeout_ms = 5000;
  auto out = runner_->Run(spawn, io);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exit_code, 0);
  EXPECT_FALSE(out->timed_out);  // cat saw /dev/null, not a pipe left open
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "to-stdout\nto-stderr\nend\n");
  std::filesystem::remove_all(dir);
}

TEST_F(ProcessRunnerTest, DestroyingARunningChildKillsAndReapsIt) {
  auto child = runner_->Spawn(Sh("exec sleep 30"));
  ASSERT_TRUE(child.ok());
  int pid = (*child)->pid();
  EXPECT_TRUE((*child)->Running());
  child->reset();
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped: the pid is gone
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(ProcessRunnerTest, RunningTurnsFalseWhenTheChildExits) {
  auto child = runner_->Spawn(Sh("exit 0"));
  ASSERT_TRUE(child.ok());
  auto out = (*child)->Communicate({});
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE((*child)->Running());
}

TEST(FindExecutableTest, FindsShOnPathAndRejectsMissingNames) {
  EXPECT_FALSE(FindExecutable("sh").empty());
  EXPECT_EQ(FindExecutable("no-such-program-nexus"), "");
  EXPECT_EQ(FindExecutable("/bin/sh"), "/bin/sh");
  EXPECT_EQ(FindExecutable("/nonexistent/sh"), "");
}

}  // namespace
}  // namespace nexus::daemon::runtime
