// RuncRuntime against a scripted process runner: the runc command lines it
// builds, how it reads runc's answers, and the fast teardown sequence.
#include "daemon/runtime/oci_runtime.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <deque>
#include <string>
#include <vector>

#include "support/runtime_fake_process.h"

namespace nexus::daemon::runtime {
namespace {

using ::nexus::testing::FakeProcessRunner;
using ::nexus::testing::FakeProcessScript;

const char kRunc[] = "/usr/sbin/runc";
const char kRoot[] = "/data/runc";

FakeProcessScript Answer(int exit_code, std::string out, std::string err = "") {
  FakeProcessScript s;
  s.outcome.exit_code = exit_code;
  s.outcome.stdout_data = std::move(out);
  s.outcome.stderr_data = std::move(err);
  return s;
}

std::string StateJson(const std::string& id, const std::string& status, int pid = 0) {
  return R"({"ociVersion":"1.0.2","id":")" + id + R"(","pid":)" + std::to_string(pid) +
         R"(,"status":")" + status + R"(","bundle":"/b/)" + id + R"(","rootfs":"/b/rootfs"})";
}

const char kDoesNotExist[] =
    "time=\"2026-01-01T00:00:00Z\" level=error msg=\"container does not exist\"\n";

class RuncRuntimeTest : public ::testing::Test {
 protected:
  RuncRuntimeTest()
      : runtime_({kRunc, kRoot, 1000, [this](int64_t ms) { sleeps_.push_back(ms); }}, processes_) {}

  // The runc subcommand and arguments of each spawn, after "runc --root <root>".
  std::vector<std::string> Commands() {
    std::vector<std::string> out;
    for (const auto& s : processes_.Spawned()) {
      std::string line;
      for (size_t i = 3; i < s.argv.size(); ++i) line += (i > 3 ? " " : "") + s.argv[i];
      out.push_back(line);
    }
    return out;
  }

  // Answers the spawns in order from a queue of scripts.
  void AnswerInOrder(std::deque<FakeProcessScript> answers) {
    answers_ = std::move(answers);
    processes_.script = [this](const SpawnOptions&) {
      if (answers_.empty()) return Answer(1, "", "no more answers");
      FakeProcessScript s = answers_.front();
      answers_.pop_front();
      return s;
    };
  }

  FakeProcessRunner processes_;
  std::vector<int64_t> sleeps_;
  std::deque<FakeProcessScript> answers_;
  RuncRuntime runtime_;
};

TEST_F(RuncRuntimeTest, EveryCommandRunsTheConfiguredBinaryWithItsOwnRoot) {
  AnswerInOrder({Answer(0, StateJson("c1", "running", 42))});
  ASSERT_TRUE(runtime_.State("c1").ok());
  auto spawned = processes_.Spawned();
  ASSERT_EQ(spawned.size(), 1u);
  EXPECT_EQ(spawned[0].argv, (std::vector<std::string>{kRunc, "--root", kRoot, "state", "c1"}));
  for (const auto& e : spawned[0].env) {
    EXPECT_EQ(e.rfind("LISTEN_FDS", 0), std::string::npos) << "runc would pass those fds on";
  }
}

TEST_F(RuncRuntimeTest, StateReadsRuncsJson) {
  AnswerInOrder({Answer(0, StateJson("c1", "running", 42))});
  auto s = runtime_.State("c1");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->id, "c1");
  EXPECT_EQ(s->status, ContainerStatus::kRunning);
  EXPECT_EQ(s->pid, 42);
  EXPECT_EQ(s->bundle, "/b/c1");
}

TEST_F(RuncRuntimeTest, StateOfAMissingContainerIsNotFound) {
  AnswerInOrder({Answer(1, "", kDoesNotExist)});
  auto s = runtime_.State("ghost");
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("ghost"), std::string::npos);
}

TEST_F(RuncRuntimeTest, FailuresCarryRuncsMessage) {
  AnswerInOrder({Answer(1, "", "time=\"x\" level=error msg=\"cannot kill: \\\"boom\\\"\"\n")});
  Status s = runtime_.Kill("c1", SIGTERM, false);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("cannot kill: \"boom\""), std::string::npos) << s.message();
}

TEST_F(RuncRuntimeTest, ACommandThatHangsIsAnError) {
  processes_.script = [](const SpawnOptions&) {
    FakeProcessScript s;
    s.runs_until_killed = true;
    s.outcome.term_signal = SIGKILL;
    return s;
  };
  Status s = runtime_.Delete("c1");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("did not answer"), std::string::npos) << s.message();
}

TEST_F(RuncRuntimeTest, ListReadsNullAsNoContainers) {
  AnswerInOrder({Answer(0, "null\n")});
  auto list = runtime_.List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(Commands(), (std::vector<std::string>{"list --format json"}));
}

TEST_F(RuncRuntimeTest, ListReadsEveryContainer) {
  AnswerInOrder(
      {Answer(0, "[" + StateJson("a", "stopped") + "," + StateJson("b", "running", 7) + "]")});
  auto list = runtime_.List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "a");
  EXPECT_EQ((*list)[0].status, ContainerStatus::kStopped);
  EXPECT_EQ((*list)[1].pid, 7);
}

TEST_F(RuncRuntimeTest, ListRejectsGarbage) {
  AnswerInOrder({Answer(0, "{not json")});
  EXPECT_FALSE(runtime_.List().ok());
}

TEST_F(RuncRuntimeTest, KillNamesTheSignalAndCanReachEveryProcess) {
  AnswerInOrder({Answer(0, ""), Answer(0, "")});
  ASSERT_TRUE(runtime_.Kill("c1", SIGKILL, /*all=*/true).ok());
  ASSERT_TRUE(runtime_.Kill("c1", SIGTERM, /*all=*/false).ok());
  EXPECT_EQ(Commands(), (std::vector<std::string>{"kill --all c1 KILL", "kill c1 TERM"}));
}

TEST_F(RuncRuntimeTest, RunKeepsTheContainerAndPreservesTheControlPipeAndExtraFds) {
  using Kind = SpawnOptions::ExtraFd::Kind;
  RunIo io;
  io.control_pipe = true;
  io.extra_fds = {{Kind::kStdoutPipe}, {Kind::kStderrPipe}, {Kind::kCallers, 42}};
  auto child = runtime_.Run("c1", "/b/c1", io);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  ASSERT_TRUE(runtime_.Run("c2", "/b/c2", RunIo{}).ok());
  auto spawned = processes_.Spawned();
  ASSERT_EQ(spawned.size(), 2u);
  EXPECT_TRUE(spawned[0].control_pipe);
  EXPECT_TRUE(spawned[0].output_file.empty());
  ASSERT_EQ(spawned[0].extra_fds.size(), 3u);
  EXPECT_EQ(spawned[0].extra_fds[1].kind, Kind::kStderrPipe);
  EXPECT_EQ(spawned[0].extra_fds[2].fd, 42);
  EXPECT_FALSE(spawned[1].control_pipe);
  EXPECT_EQ(Commands(), (std::vector<std::string>{"run --keep --bundle /b/c1 --preserve-fds 4 c1",
                                                  "run --keep --bundle /b/c2 c2"}));
}

TEST_F(RuncRuntimeTest, CreateSendsTheContainersOutputToAFile) {
  ASSERT_TRUE(runtime_.Create("c1", "/b/c1", "/b/c1/console.log").ok());
  auto spawned = processes_.Spawned();
  ASSERT_EQ(spawned.size(), 1u);
  EXPECT_EQ(spawned[0].output_file, "/b/c1/console.log");
  EXPECT_EQ(Commands(), (std::vector<std::string>{"create --bundle /b/c1 c1"}));
}

const char kNotStopped[] =
    "time=\"x\" level=error msg=\"cannot delete container c1 that is not stopped: running\"\n";

TEST_F(RuncRuntimeTest, DestroyIsAKillAndAPlainDeleteWhenTheContainerDiesAtOnce) {
  AnswerInOrder({Answer(0, ""), Answer(0, "")});
  Status s = runtime_.Destroy("c1");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Commands(), (std::vector<std::string>{"kill c1 KILL", "delete c1"}));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RuncRuntimeTest, DestroyPollsUntilStoppedWhenTheFirstDeleteIsTooEarly) {
  AnswerInOrder({
      Answer(0, ""),                              // kill
      Answer(1, "", kNotStopped),                 // delete: still running
      Answer(0, StateJson("c1", "running", 42)),  // state
      Answer(0, StateJson("c1", "running", 42)),  // state
      Answer(0, StateJson("c1", "stopped")),      // state
      Answer(0, ""),                              // delete
  });
  Status s = runtime_.Destroy("c1");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Commands(), (std::vector<std::string>{"kill c1 KILL", "delete c1", "state c1",
                                                  "state c1", "state c1", "delete c1"}));
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{1, 2}));
  for (const auto& c : Commands()) EXPECT_EQ(c.find("--force"), std::string::npos) << c;
}

TEST_F(RuncRuntimeTest, DestroyOfAStoppedContainerSucceeds) {
  AnswerInOrder(
      {Answer(1, "", "time=\"x\" level=error msg=\"container not running\"\n"), Answer(0, "")});
  ASSERT_TRUE(runtime_.Destroy("c1").ok());
  EXPECT_EQ(Commands(), (std::vector<std::string>{"kill c1 KILL", "delete c1"}));
}

TEST_F(RuncRuntimeTest, DestroyOfAMissingContainerSucceeds) {
  AnswerInOrder({Answer(1, "", kDoesNotExist)});
  EXPECT_TRUE(runtime_.Destroy("ghost").ok());
  EXPECT_EQ(Commands().size(), 1u);
}

TEST_F(RuncRuntimeTest, DestroyForcesTheDeleteWhenTheContainerWillNotStop) {
  processes_.script = [](const SpawnOptions& s) {
    const std::string& cmd = s.argv[3];
    if (cmd == "state") return Answer(0, StateJson("c1", "paused", 42));
    if (cmd == "delete" && s.argv[4] != "--force") return Answer(1, "", kNotStopped);
    return Answer(0, "");
  };
  ASSERT_TRUE(runtime_.Destroy("c1").ok());
  auto commands = Commands();
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands.back(), "delete --force c1");
  int64_t waited = 0;
  for (int64_t ms : sleeps_) waited += ms;
  EXPECT_GE(waited, 1000);  // the command timeout
}

TEST(RuncErrorMessageTest, ExtractsTheMessage) {
  struct Case {
    const char* stderr_text;
    const char* message;
  } cases[] = {
      {kDoesNotExist, "container does not exist"},
      {"time=\"x\" level=warning msg=\"first\"\ntime=\"x\" level=error msg=\"second\"\n", "second"},
      {"plain failure\n\n", "plain failure"},
      {"", ""},
  };
  for (const auto& tc : cases)
    EXPECT_EQ(RuncErrorMessage(tc.stderr_text), tc.message) << tc.stderr_text;
}

TEST(ContainerStatusTest, NamesRoundTrip) {
  for (auto s : {ContainerStatus::kCreating, ContainerStatus::kCreated, ContainerStatus::kRunning,
                 ContainerStatus::kPaused, ContainerStatus::kStopped}) {
    EXPECT_EQ(ContainerStatusFromName(ContainerStatusName(s)), s);
  }
  EXPECT_EQ(ContainerStatusFromName("exploded"), ContainerStatus::kUnknown);
}

}  // namespace
}  // namespace nexus::daemon::runtime
