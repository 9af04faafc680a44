// NodeManager::Exec over the fake runc (node_manager_rig.h): output, caps,
// timeouts, runc's own failures and validation.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <limits>
#include <thread>

#include "node_manager_rig.h"

namespace nexus::daemon::runtime {
namespace {

// ---- Exec -------------------------------------------------------------------------

TEST_F(NodeManagerTest, ExecRunsTheCommandAndReturnsItsOutput) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  runtime_.exec_script = [](const std::string&, const ExecOptions& o) {
    FakeProcessScript s;
    s.outcome.exit_code = 3;
    s.outcome.stdout_data = "out:" + o.args[1];
    s.outcome.stderr_data = "err";
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"echo", "hi"}, 0});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stdout_data, "out:hi");
  EXPECT_EQ(r->stderr_data, "err");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  auto execs = runtime_.execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].args, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(execs[0].pid_file.rfind(manager_->NodeDir(Record("alice", "worker1").uid), 0), 0u);
  auto io = runtime_.log()->communicated;
  ASSERT_EQ(io.size(), 1u);
  EXPECT_EQ(io[0].timeout_ms, manager_->options().exec_timeout_ms_default);
  EXPECT_EQ(io[0].stdout_limit, static_cast<size_t>(manager_->options().exec_output_limit_bytes));
  EXPECT_TRUE(io[0].on_timeout) << "a timeout kills the command, not just runc exec";
}

TEST_F(NodeManagerTest, ExecCapsOutputAndReportsTimeouts) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  runtime_.exec_script = [](const std::string&, const ExecOptions&) {
    FakeProcessScript s;
    s.runs_until_killed = true;
    s.outcome.term_signal = SIGKILL;
    s.outcome.stdout_data = std::string(3 << 20, 'x');
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"yes"}, 500});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 137);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stdout_data.size(), static_cast<size_t>(1 << 20));
}

TEST_F(NodeManagerTest, ExecKillsATimedOutCommandWhosePidArrivesAfterTheTimeout) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  // A stand-in for the node's command: a real process that waits forever.
  pid_t command = ::fork();
  ASSERT_GE(command, 0);
  if (command == 0) {
    ::pause();
    ::_exit(0);
  }
  // runc, slow on a loaded host, writes the pid file only after the timeout.
  runtime_.exec_script = [this, command](const std::string&, const ExecOptions& o) {
    FakeProcessScript s;
    s.runs_until_killed = true;
    s.outcome.term_signal = SIGKILL;
    s.after_timeout = [this, command, pid_file = o.pid_file] {
      files_.PutFile(pid_file, std::to_string(command));
    };
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"sleep", "30"}, 500});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  int status = 0;
  pid_t reaped = 0;
  for (int i = 0; i < 200 && reaped == 0; ++i) {
    reaped = ::waitpid(command, &status, WNOHANG);
    if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (reaped == 0) {
    ::kill(command, SIGKILL);
    ::waitpid(command, &status, 0);
    FAIL() << "the command outlived its timeout";
  }
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST_F(NodeManagerTest, ExecTurnsRuncsOwnFailureIntoTheShellsExitCodes) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  runtime_.exec_script = [](const std::string&, const ExecOptions&) {
    FakeProcessScript s;
    s.outcome.exit_code = 255;
    s.outcome.stderr_data =
        "time=\"2024-01-01T00:00:00Z\" level=error msg=\"exec failed: unable to start container "
        "process: exec: \\\"nope\\\": executable file not found in $PATH\"\n";
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"nope"}, 0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_EQ(r->stderr_data.find("level=error"), std::string::npos) << r->stderr_data;
  EXPECT_NE(r->stderr_data.find("executable file not found"), std::string::npos);
}

TEST_F(NodeManagerTest, ExecValidatesCommandAndTimeout) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  struct Case {
    std::vector<std::string> command;
    int64_t timeout_ms;
    const char* error;
  } cases[] = {
      {{}, 0, "command"},
      {{""}, 0, "command"},
      {{"true"}, -1, "timeout_ms"},
      {{"true"}, manager_->options().exec_timeout_ms_max + 1, "timeout_ms"},
  };
  for (const auto& c : cases) {
    auto r = manager_->Exec({"alice", "worker1", c.command, c.timeout_ms});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.error;
    EXPECT_EQ(r.status().message().rfind(c.error, 0), 0u) << r.status().message();
  }
  EXPECT_TRUE(runtime_.execs().empty());
}

}  // namespace
}  // namespace nexus::daemon::runtime
