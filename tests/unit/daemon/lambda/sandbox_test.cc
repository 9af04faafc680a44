// Sandbox against a fake runc: what it writes into the bundle, what it tells
// the init, how it maps the init's report (and its absence) to a
// LambdaResult, and that it always tears down.
#include "daemon/lambda/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <mutex>

#include "common/memory_env.h"
#include "support/runtime_fake_oci.h"

namespace nexus::daemon::runtime {
namespace {

using ::nexus::testing::FakeCgroupFs;
using ::nexus::testing::FakeOciRuntime;
using ::nexus::testing::FakeProcessScript;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A container whose supervisor reports `control` and whose runc exits with
// `runc_exit`.
FakeProcessScript Container(std::string control, std::string out = "", std::string err = "",
                            int runc_exit = 0) {
  FakeProcessScript s;
  s.outcome.control_data = std::move(control);
  s.outcome.stdout_data = std::move(out);
  s.outcome.stderr_data = std::move(err);
  s.outcome.exit_code = runc_exit;
  s.outcome.elapsed_ms = 77;
  return s;
}

class SandboxTest : public ::testing::Test {
 protected:
  // Where the runner keeps its bundles.
  static constexpr char kDir[] = "/run/nexus-t/lambda";

  void SetUp() override { ASSERT_TRUE(files_.MakeDirs(kDir, 0700).ok()); }
  void TearDown() override { ::close(seccomp_fd_); }

  // What the sandbox wrote at `path` inside its bundle ("" when nothing is).
  std::string Read(const std::string& path) {
    auto text = files_.ReadFile(std::string(kDir) + "/" + path, 1 << 20);
    return text.ok() ? *text : "";
  }
  bool Exists(const std::string& path) { return files_.Exists(std::string(kDir) + "/" + path); }

  std::unique_ptr<Sandbox> Make(bool pool = false) {
    SandboxOptions o;
    o.init_path = "/opt/nexus/bin/nexus-lambda-init";
    o.seccomp_fd = seccomp_fd_;
    o.pool = pool;
    o.id = "t-l-1";
    o.bundle_dir = std::string(kDir) + "/" + o.id;
    o.cgroups_path = "/nexus-t-lambda/t-l-1";
    o.memory_bytes = 64 << 20;
    o.host.entries = {{"usr", ""}, {"bin", "usr/bin"}};
    return std::make_unique<Sandbox>(o, runtime_, cgroups_, files_);
  }

  Result<LambdaResult> RunOnce(FakeProcessScript script, SandboxRun run = Python("print(1)")) {
    runtime_.run_script = [script](const std::string&, const std::string&) { return script; };
    auto sandbox = Make();
    Status started = sandbox->Start();
    if (!started.ok()) return started;
    return sandbox->RunCode(run);
  }

  static SandboxRun Python(std::string code) {
    SandboxRun run;
    run.runtime = "python3";
    run.code = std::move(code);
    run.timeout_ms = 3000;
    return run;
  }

  MemoryEnv files_;
  // Stands for the runner's seccomp program; the fakes only pass it on.
  int seccomp_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  FakeOciRuntime runtime_;
  FakeCgroupFs cgroups_;
};

// A user's code is no other local user's to read: the bundle is root's
// alone, the code file and its directory the sandbox user's alone, from the
// moment they exist (Env takes modes exactly, whatever the umask, and
// WriteNewFileAs gives the file away before its first byte).
TEST_F(SandboxTest, TheCodeIsTheSandboxUsersAloneInsideAPrivateBundle) {
  FileInfo bundle, dir, code;
  FakeProcessScript script = Container("ready\nexit 0 5\n");
  script.on_communicate = [&](const CommunicateOptions&) {
    bundle = *files_.Stat(std::string(kDir) + "/t-l-1");
    dir = *files_.Stat(std::string(kDir) + "/t-l-1/rootfs/sandbox");
    code = *files_.Stat(std::string(kDir) + "/t-l-1/rootfs/sandbox/main.py");
  };
  auto r = RunOnce(script, Python("secret = 42"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(bundle.mode, 0700u);
  EXPECT_EQ(bundle.uid, ::geteuid());
  EXPECT_EQ(dir.mode, 0700u);
  EXPECT_EQ(code.mode, 0400u);
  // As root the sandbox user owns them; otherwise nobody can give them away.
  const SandboxSpec spec;  // the user the sandbox runs as
  const bool root = ::geteuid() == 0;
  EXPECT_EQ(dir.uid, root ? spec.uid : ::geteuid());
  EXPECT_EQ(code.uid, root ? spec.uid : ::geteuid());
  EXPECT_EQ(code.gid, root ? spec.gid : ::getegid());
}

TEST_F(SandboxTest, MountsTheInitWritesTheCodeAndOrdersTheRunOnStdin) {
  std::string seen_code, seen_stdin, seen_config;
  bool init_mount_point = false;
  FakeProcessScript script = Container("ready\nexit 0 5\n");
  script.on_communicate = [&](const CommunicateOptions& io) {
    seen_code = Read("t-l-1/rootfs/sandbox/main.py");
    auto init = files_.Stat(std::string(kDir) + "/t-l-1/rootfs/sandbox/init");
    init_mount_point = init.ok() && init->type == FileType::kRegular;
    seen_config = Read("t-l-1/config.json");
    seen_stdin = io.stdin_data;
  };
  SandboxRun run = Python("print('hi')");
  run.stdin_data = "user input\n";
  run.timeout_ms = 2500;
  auto r = RunOnce(script, run);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen_code, "print('hi')");
  EXPECT_EQ(seen_stdin, "python3 2500\nuser input\n");
  EXPECT_TRUE(init_mount_point) << "the mount point must exist before runc makes / read-only";
  auto config = nlohmann::json::parse(seen_config);
  EXPECT_EQ(config["process"]["args"], nlohmann::json::array({"/sandbox/init"}));
  EXPECT_EQ(config["linux"]["resources"]["memory"]["limit"], 64 << 20);
  EXPECT_EQ(config["linux"]["cgroupsPath"], "/nexus-t-lambda/t-l-1");
  EXPECT_FALSE(config["linux"].contains("seccomp"))
      << "the init installs the precompiled profile; runc must not compile it again";
  EXPECT_EQ(config["process"]["noNewPrivileges"], true);
  nlohmann::json init_mount;
  for (const auto& m : config["mounts"]) {
    if (m["destination"] == "/sandbox/init") init_mount = m;
  }
  ASSERT_TRUE(init_mount.is_object()) << config["mounts"].dump();
  EXPECT_EQ(init_mount["source"], "/opt/nexus/bin/nexus-lambda-init");
  EXPECT_EQ(init_mount["type"], "bind");
  auto options = init_mount["options"].get<std::vector<std::string>>();
  EXPECT_TRUE(Contains(options, "ro"));
  EXPECT_TRUE(Contains(options, "nosuid"));
  EXPECT_FALSE(Contains(options, "noexec"));
}

TEST_F(SandboxTest, HandsTheInitOurOutputPipesAndTheSeccompProgram) {
  auto r = RunOnce(Container("ready\nexit 0 5\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto io = runtime_.run_io();
  ASSERT_EQ(io.size(), 1u);
  EXPECT_TRUE(io[0].control_pipe);  // fd 3
  using Kind = SpawnOptions::ExtraFd::Kind;
  ASSERT_EQ(io[0].extra_fds.size(), 3u);
  EXPECT_EQ(io[0].extra_fds[0].kind, Kind::kStdoutPipe);  // fd 4
  EXPECT_EQ(io[0].extra_fds[1].kind, Kind::kStderrPipe);  // fd 5
  EXPECT_EQ(io[0].extra_fds[2].kind, Kind::kCallers);     // fd 6
  EXPECT_EQ(io[0].extra_fds[2].fd, seccomp_fd_);
}

TEST_F(SandboxTest, AnswersOnTheInitsEndReportAndWaitsForRuncAtTeardown) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    return Container("ready\nexit 0 5\n");
  };
  auto sandbox = Make();
  ASSERT_TRUE(sandbox->Start().ok());
  ASSERT_TRUE(sandbox->RunCode(Python("print(1)")).ok());
  CommunicateOptions io;
  {
    auto log = runtime_.log();
    std::lock_guard<std::mutex> lock(log->mu);
    ASSERT_EQ(log->communicated.size(), 1u);
    io = log->communicated[0];
  }
  ASSERT_TRUE(io.done);
  EXPECT_FALSE(io.done("ready\n"));
  EXPECT_FALSE(io.done("ready\nexit 300 5\n")) << "a malformed report is no end";
  EXPECT_TRUE(io.done("ready\nexit 0 5\n"));
  EXPECT_TRUE(io.done("ready\nsignal 9 5\n"));
  EXPECT_TRUE(io.done("ready\ntimeout 100\n"));
  EXPECT_EQ(runtime_.log()->wait_exits.load(), 0);
  ASSERT_TRUE(sandbox->Destroy().ok());
  EXPECT_EQ(runtime_.log()->wait_exits.load(), 1) << "runc is waited for before the delete";
}

TEST_F(SandboxTest, APoolSandboxTellsItsInitToStartTheInterpreterAhead) {
  std::string seen_config;
  runtime_.run_script = [&](const std::string&, const std::string& bundle) {
    seen_config = *files_.ReadFile(bundle + "/config.json", 1 << 20);
    return Container("ready\n");
  };
  auto sandbox = Make(/*pool=*/true);
  ASSERT_TRUE(sandbox->Start().ok());
  EXPECT_EQ(nlohmann::json::parse(seen_config)["process"]["args"],
            nlohmann::json::array({"/sandbox/init", "pool"}));
}

TEST_F(SandboxTest, RefusesToStartWithoutWhatTheInitNeeds) {
  struct Case {
    const char* what;
    std::function<void(SandboxOptions&)> edit;
  } cases[] = {
      {"a relative init path", [](SandboxOptions& o) { o.init_path = "nexus-lambda-init"; }},
      {"no seccomp program", [](SandboxOptions& o) { o.seccomp_fd = -1; }},
  };
  for (const auto& c : cases) {
    SandboxOptions o;
    o.id = "t-l-2";
    o.bundle_dir = std::string(kDir) + "/" + o.id;
    o.cgroups_path = "/nexus-t-lambda/t-l-2";
    o.init_path = "/opt/nexus/bin/nexus-lambda-init";
    o.seccomp_fd = seccomp_fd_;
    c.edit(o);
    Sandbox sandbox(o, runtime_, cgroups_, files_);
    EXPECT_EQ(sandbox.Start().code(), StatusCode::kInternal) << c.what;
    EXPECT_FALSE(Exists("t-l-2")) << c.what;
    EXPECT_EQ(runtime_.container_count(), 0u) << c.what;
  }
}

TEST_F(SandboxTest, ShellCodeGoesToMainSh) {
  std::string seen;
  FakeProcessScript script = Container("ready\nexit 0 1\n");
  script.on_communicate = [&](const CommunicateOptions&) {
    seen = Read("t-l-1/rootfs/sandbox/main.sh");
  };
  SandboxRun run = Python("echo hi");
  run.runtime = "sh";
  ASSERT_TRUE(RunOnce(script, run).ok());
  EXPECT_EQ(seen, "echo hi");
}

TEST_F(SandboxTest, MapsTheInitsReportToShellConventions) {
  struct Case {
    const char* control;
    int exit_code;
    const char* signal;
    bool timed_out;
    int64_t ms;
  } cases[] = {
      {"ready\nexit 0 12\n", 0, "", false, 12},
      {"ready\nexit 3 40\n", 3, "", false, 40},
      {"ready\nexit 137 9\n", 137, "", false, 9},  // exit(137) is not a kill
      {"ready\nsignal 9 50\n", 137, "SIGKILL", false, 50},
      {"ready\nsignal 11 2\n", 139, "SIGSEGV", false, 2},
      {"ready\nsignal 15 3\n", 143, "SIGTERM", false, 3},
      {"ready\ntimeout 3001\n", 137, "SIGKILL", true, 3001},
  };
  for (const auto& tc : cases) {
    auto r = RunOnce(Container(tc.control, "out", "err"));
    ASSERT_TRUE(r.ok()) << tc.control << r.status().ToString();
    EXPECT_EQ(r->exit_code, tc.exit_code) << tc.control;
    EXPECT_EQ(r->signal, tc.signal) << tc.control;
    EXPECT_EQ(r->timed_out, tc.timed_out) << tc.control;
    EXPECT_EQ(r->execution_time_ms, tc.ms) << tc.control;
    EXPECT_EQ(r->stdout_data, "out");
    EXPECT_EQ(r->stderr_data, "err");
    EXPECT_FALSE(r->oom_killed);
  }
}

TEST_F(SandboxTest, WithoutAFinalReportRuncsStatusIsUsed) {
  // The init itself was killed: runc reports 128+9.
  auto r = RunOnce(Container("ready\n", "partial", "", 137));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 137);
  EXPECT_EQ(r->signal, "SIGKILL");
  EXPECT_EQ(r->execution_time_ms, 77);
  EXPECT_EQ(r->stdout_data, "partial");
}

TEST_F(SandboxTest, OomIsReadFromTheCgroupBeforeTheContainerIsDeleted) {
  cgroups_.SetOomKilled("/nexus-t-lambda/t-l-1");
  auto r = RunOnce(Container("ready\nsignal 9 80\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->oom_killed);
  EXPECT_EQ(r->exit_code, 137);
  EXPECT_FALSE(r->timed_out);
}

TEST_F(SandboxTest, OomKillOfTheInitBeforeItStartedIsStillAResult) {
  cgroups_.SetOomKilled("/nexus-t-lambda/t-l-1");
  auto r = RunOnce(Container("", "", "", 137));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->oom_killed);
  EXPECT_EQ(r->exit_code, 137);
}

TEST_F(SandboxTest, HostDeadlineKillsEveryProcessOfTheContainer) {
  FakeProcessScript script = Container("ready\n");
  script.runs_until_killed = true;
  script.outcome.exit_code = 137;  // runc's status once its container is killed
  SandboxRun run = Python("while True: pass");
  run.timeout_ms = 1000;
  auto r = RunOnce(script, run);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 137);
  EXPECT_EQ(r->signal, "SIGKILL");
  EXPECT_EQ(r->execution_time_ms, 1000);
  EXPECT_TRUE(Contains(runtime_.calls(), "kill t-l-1 9 all"));
  auto comm = runtime_.log()->communicated;
  ASSERT_EQ(comm.size(), 1u);
  EXPECT_GT(comm[0].timeout_ms, run.timeout_ms)
      << "the host deadline is a backstop after the init's";
}

TEST_F(SandboxTest, ContainerThatNeverStartedIsAnInternalError) {
  auto r =
      RunOnce(Container("", "", "time=\"x\" level=error msg=\"runc run failed: bad config\"\n", 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("bad config"), std::string::npos);
}

TEST_F(SandboxTest, OutputIsCappedPerStream) {
  SandboxRun run = Python("print('x' * 100)");
  run.output_limit = 10;
  auto r = RunOnce(Container("ready\nexit 0 1\n", std::string(100, 'x'), "short"), run);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_data, std::string(10, 'x'));
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stderr_data, "short");
  EXPECT_FALSE(r->stderr_truncated);
}

TEST_F(SandboxTest, DestroyRemovesContainerBundleAndIsIdempotent) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    return Container("ready\nexit 0 1\n");
  };
  auto sandbox = Make();
  ASSERT_TRUE(sandbox->Start().ok());
  ASSERT_TRUE(sandbox->RunCode(Python("1")).ok());
  EXPECT_TRUE(Exists("t-l-1"));
  ASSERT_TRUE(sandbox->Destroy().ok());
  EXPECT_FALSE(Exists("t-l-1"));
  EXPECT_EQ(runtime_.container_count(), 0u);
  EXPECT_TRUE(Contains(runtime_.calls(), "delete t-l-1"));
  auto calls = runtime_.calls().size();
  ASSERT_TRUE(sandbox->Destroy().ok());
  EXPECT_EQ(runtime_.calls().size(), calls);
}

TEST_F(SandboxTest, ASandboxServesOneRunOnly) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    return Container("ready\nexit 0 1\n");
  };
  auto sandbox = Make();
  ASSERT_TRUE(sandbox->Start().ok());
  EXPECT_TRUE(sandbox->Alive());
  ASSERT_TRUE(sandbox->RunCode(Python("1")).ok());
  EXPECT_FALSE(sandbox->Alive());
  EXPECT_EQ(sandbox->RunCode(Python("1")).status().code(), StatusCode::kInternal);
}

TEST_F(SandboxTest, UnusedSandboxIsDismissedByClosingItsStdin) {
  auto sandbox = Make();
  ASSERT_TRUE(sandbox->Start().ok());
  sandbox.reset();
  auto comm = runtime_.log()->communicated;
  ASSERT_EQ(comm.size(), 1u);
  EXPECT_EQ(comm[0].stdin_data, "");
  EXPECT_TRUE(Contains(runtime_.calls(), "delete t-l-1"));
  EXPECT_FALSE(Exists("t-l-1"));
}

TEST_F(SandboxTest, FailedStartStillRemovesTheBundleAndCgroup) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    FakeProcessScript s;
    s.spawn_error = InternalError("spawn runc: no such file");
    return s;
  };
  cgroups_.AddExisting("/nexus-t-lambda/t-l-1");
  auto sandbox = Make();
  EXPECT_FALSE(sandbox->Start().ok());
  EXPECT_TRUE(Exists("t-l-1"));
  sandbox.reset();
  EXPECT_FALSE(Exists("t-l-1"));
  auto removed = cgroups_.removed();
  EXPECT_TRUE(Contains(removed, "/nexus-t-lambda/t-l-1"));
}

TEST_F(SandboxTest, DoesNotTouchABundleDirectoryItDidNotCreate) {
  files_.PutFile(std::string(kDir) + "/t-l-1/precious", "keep");
  auto sandbox = Make();
  EXPECT_FALSE(sandbox->Start().ok());
  sandbox.reset();
  EXPECT_EQ(Read("t-l-1/precious"), "keep");
}

TEST_F(SandboxTest, DoesNotFollowASymlinkWhereItsBundleShouldGo) {
  ASSERT_TRUE(files_.Symlink("/nowhere", std::string(kDir) + "/t-l-1").ok());
  auto sandbox = Make();
  EXPECT_EQ(sandbox->Start().code(), StatusCode::kInternal);
  sandbox.reset();
  EXPECT_TRUE(files_.LinkStat(std::string(kDir) + "/t-l-1").ok()) << "not ours to remove";
  EXPECT_FALSE(files_.Exists("/nowhere"));
}

TEST(SupervisorReportTest, ParsesEveryLineKind) {
  struct Case {
    const char* control;
    bool ready;
    SupervisorReport::End end;
    int value;
    int64_t ms;
  } cases[] = {
      {"", false, SupervisorReport::End::kNone, 0, 0},
      {"ready\n", true, SupervisorReport::End::kNone, 0, 0},
      {"ready\nexit 4 17\n", true, SupervisorReport::End::kExit, 4, 17},
      {"ready\nsignal 6 3\n", true, SupervisorReport::End::kSignal, 6, 3},
      {"ready\ntimeout 1002\n", true, SupervisorReport::End::kTimeout, SIGKILL, 1002},
      {"ready\nexit nonsense\n", true, SupervisorReport::End::kNone, 0, 0},
      {"ready\nexit 1 2", true, SupervisorReport::End::kExit, 1, 2},  // no final newline
  };
  for (const auto& tc : cases) {
    auto r = ParseSupervisorReport(tc.control);
    EXPECT_EQ(r.ready, tc.ready) << tc.control;
    EXPECT_EQ(r.end, tc.end) << tc.control;
    EXPECT_EQ(r.value, tc.value) << tc.control;
    EXPECT_EQ(r.ms, tc.ms) << tc.control;
  }
}

TEST(SupervisorReportTest, IgnoresLinesWithOutOfRangeValuesAndKeepsTheLastValidOne) {
  struct Case {
    const char* control;
    SupervisorReport::End end;
    int value;
    int64_t ms;
  } cases[] = {
      // 128 + INT_MAX would overflow the shell-style exit code.
      {"ready\nsignal 2147483647 0\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nexit 3 5\nsignal 2147483647 0\n", SupervisorReport::End::kExit, 3, 5},
      {"ready\nsignal 0 5\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nsignal 65 5\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nsignal -9 5\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nsignal 64 5\n", SupervisorReport::End::kSignal, 64, 5},
      {"ready\nexit 256 1\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nexit -1 1\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nexit 99999999999 1\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nexit 255 1\n", SupervisorReport::End::kExit, 255, 1},
      {"ready\nexit 0 -7\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\ntimeout -1\n", SupervisorReport::End::kNone, 0, 0},
      {"ready\nexit 2 9\ntimeout -1\n", SupervisorReport::End::kExit, 2, 9},
  };
  for (const auto& tc : cases) {
    auto r = ParseSupervisorReport(tc.control);
    EXPECT_EQ(r.end, tc.end) << tc.control;
    EXPECT_EQ(r.value, tc.value) << tc.control;
    EXPECT_EQ(r.ms, tc.ms) << tc.control;
  }
}

TEST(SignalNameTest, NamesSignalsTheWayKillDoes) {
  struct Case {
    int signal;
    const char* name;
  } cases[] = {{0, ""}, {SIGKILL, "SIGKILL"}, {SIGSEGV, "SIGSEGV"}, {SIGXCPU, "SIGXCPU"}};
  for (const auto& tc : cases) EXPECT_EQ(SignalName(tc.signal), tc.name);
}

TEST(LambdaRuntimeTest, KnowsPythonAndShOnly) {
  EXPECT_EQ(FindLambdaRuntime("python3")->file, "main.py");
  EXPECT_EQ(FindLambdaRuntime("sh")->file, "main.sh");
  EXPECT_EQ(FindLambdaRuntime("ruby"), nullptr);
  EXPECT_EQ(FindLambdaRuntime(""), nullptr);
}

}  // namespace
}  // namespace nexus::daemon::runtime
