// LambdaRunner with a fake runc, fake cgroups and an in-memory file system:
// validation, defaults, availability, the concurrency limit, its
// directories, cleanup, leftovers and the warm pool.
#include "daemon/lambda/lambda.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/memory_env.h"
#include "support/runtime_fake_oci.h"
#include "unit/daemon/lambda/lambda_request.h"

namespace nexus::daemon::runtime {
namespace {

using ::nexus::testing::FakeCgroupFs;
using ::nexus::testing::FakeOciRuntime;
using ::nexus::testing::FakeProcessScript;

size_t CountStartingWith(const std::vector<std::string>& v, const std::string& prefix) {
  return std::count_if(v.begin(), v.end(),
                       [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
}

class LambdaRunnerTest : public ::testing::Test {
 protected:
  static constexpr char kRun[] = "/run/nexus-test";
  static constexpr char kLambdaDir[] = "/run/nexus-test/lambda";

  void SetUp() override {
    options_.runtime_dir = kRun;
    options_.instance = "test";
    options_.timeout_ms_default = 4000;
    options_.timeout_ms_max = 8000;
    options_.memory_mb_default = 128;
    options_.memory_mb_max = 256;
    options_.max_concurrent = 2;
    options_.output_limit_bytes = 100;
    options_.queue_wait_ms = 10000;  // runs wait for the previous run's teardown
    options_.host.entries = {{"usr", ""}};
    options_.init_path = "/opt/nexus/bin/nexus-lambda-init";
  }
  void TearDown() override { runner_.reset(); }

  LambdaRunner& Runner(Status availability = Status::Ok()) {
    runner_ = std::make_unique<LambdaRunner>(options_, runtime_, cgroups_, availability, &files_);
    return *runner_;
  }

  nlohmann::json BundleConfig(const std::string& bundle) {
    auto text = files_.ReadFile(bundle + "/config.json", 1 << 20);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return nlohmann::json::parse(text.ok() ? *text : "null");
  }

  bool LambdaDirIsEmpty() {
    auto names = files_.ListDir(kLambdaDir);
    return names.ok() && names->empty();
  }

  static LambdaRequest Request(std::string code = "print(1)", std::string runtime = "python3") {
    LambdaRequest r;
    r.code = std::move(code);
    r.runtime = std::move(runtime);
    return r;
  }

  MemoryEnv files_;
  LambdaOptions options_;
  FakeOciRuntime runtime_;
  FakeCgroupFs cgroups_;
  std::unique_ptr<LambdaRunner> runner_;
};

TEST_F(LambdaRunnerTest, RejectsInvalidRequestsBeforeTouchingRunc) {
  struct Case {
    const char* name;
    LambdaRequest request;
  } cases[] = {
      {"unknown runtime", Req("print(1)", "ruby", "", 0, 0)},
      {"missing runtime", Req("print(1)", "", "", 0, 0)},
      {"empty code", Req("", "python3", "", 0, 0)},
      {"code over 1 MiB", Req(std::string((1 << 20) + 1, 'x'), "python3", "", 0, 0)},
      {"stdin over 1 MiB", Req("print(1)", "python3", std::string((1 << 20) + 1, 'x'), 0, 0)},
      {"negative timeout", Req("print(1)", "python3", "", -1, 0)},
      {"timeout above the maximum", Req("print(1)", "python3", "", 8001, 0)},
      {"memory above the maximum", Req("print(1)", "python3", "", 0, 257)},
      {"memory below the minimum", Req("print(1)", "python3", "", 0, 8)},
      {"negative memory", Req("print(1)", "python3", "", 0, -5)},
  };
  Runner();
  for (const auto& tc : cases) {
    auto r = runner_->Run(tc.request);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << tc.name;
  }
  EXPECT_TRUE(runtime_.calls().empty());
}

TEST_F(LambdaRunnerTest, SandboxesMountTheSharedEtcWhichGoesWithTheRunner) {
  options_.host.ld_so_cache = "cache-bytes";
  const std::string shared = std::string(kLambdaDir) + "/etc";
  ASSERT_TRUE(files_.MakeDirs(shared + "/stale", 0700).ok());
  std::string etc_source;
  bool bundle_has_etc = true;
  runtime_.run_script = [&](const std::string&, const std::string& bundle) {
    const nlohmann::json config = BundleConfig(bundle);
    for (const auto& m : config["mounts"]) {
      if (m["destination"] == "/etc") etc_source = m["source"];
    }
    bundle_has_etc = files_.Exists(bundle + "/etc");
    FakeProcessScript script;
    script.outcome.control_data = "ready\nexit 0 1\n";
    return script;
  };
  ASSERT_TRUE(Runner().PrepareSharedEtc().ok());
  EXPECT_FALSE(files_.Exists(shared + "/stale")) << "a stale one is replaced";
  ASSERT_TRUE(runner_->Run(Request()).ok());
  EXPECT_EQ(etc_source, shared);
  EXPECT_FALSE(bundle_has_etc);
  EXPECT_EQ(*files_.ReadFile(shared + "/ld.so.cache", 100), "cache-bytes");
  runner_.reset();
  EXPECT_FALSE(files_.Exists(shared));
}

TEST_F(LambdaRunnerTest, AcceptsTheBoundaries) {
  struct Case {
    const char* name;
    LambdaRequest request;
  } cases[] = {
      {"code of exactly 1 MiB", Req(std::string(1 << 20, '#'), "python3", "", 0, 0)},
      {"maximum timeout", Req("print(1)", "python3", "", 8000, 0)},
      {"maximum memory", Req("print(1)", "python3", "", 0, 256)},
      {"minimum memory", Req("print(1)", "python3", "", 0, kMinLambdaMemoryMb)},
      {"shell", Req("echo 1", "sh", "", 0, 0)},
  };
  Runner();
  for (const auto& tc : cases) {
    auto r = runner_->Run(tc.request);
    EXPECT_TRUE(r.ok()) << tc.name << ": " << r.status().ToString();
  }
}

TEST_F(LambdaRunnerTest, AppliesDefaultTimeoutAndMemory) {
  std::string order;
  int64_t memory = 0;
  runtime_.run_script = [&](const std::string&, const std::string& bundle) {
    FakeProcessScript s;
    s.outcome.control_data = "ready\nexit 0 1\n";
    s.on_communicate = [&, bundle](const CommunicateOptions& io) {
      order = io.stdin_data.substr(0, io.stdin_data.find('\n'));
      auto config = BundleConfig(bundle);
      memory = config["linux"]["resources"]["memory"]["limit"].get<int64_t>();
    };
    return s;
  };
  ASSERT_TRUE(Runner().Run(Request()).ok());
  EXPECT_EQ(order, "python3 4000");
  EXPECT_EQ(memory, 128 << 20);

  LambdaRequest custom = Request();
  custom.timeout_ms = 1234;
  custom.memory_mb = 64;
  ASSERT_TRUE(runner_->Run(custom).ok());
  EXPECT_EQ(order, "python3 1234");
  EXPECT_EQ(memory, 64 << 20);
}

TEST_F(LambdaRunnerTest, ReturnsWhatTheSandboxReported) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    FakeProcessScript s;
    s.outcome.control_data = "ready\nsignal 6 21\n";
    s.outcome.stdout_data = std::string(150, 'o');
    s.outcome.stderr_data = "Aborted\n";
    return s;
  };
  auto r = Runner().Run(Request());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 134);
  EXPECT_EQ(r->signal, "SIGABRT");
  EXPECT_EQ(r->execution_time_ms, 21);
  EXPECT_EQ(r->stdout_data, std::string(100, 'o'));  // output_limit_bytes
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stderr_data, "Aborted\n");
  EXPECT_FALSE(r->stderr_truncated);
}

TEST_F(LambdaRunnerTest, TimeoutPathKillsTheContainerAndStillCleansUp) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    FakeProcessScript s;
    s.outcome.control_data = "ready\n";  // the supervisor never got to report
    s.outcome.exit_code = 137;
    s.runs_until_killed = true;
    return s;
  };
  LambdaRequest req = Request("while True: pass");
  req.timeout_ms = 1000;
  auto r = Runner().Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 137);
  EXPECT_EQ(r->signal, "SIGKILL");
  EXPECT_EQ(r->execution_time_ms, 1000);
  runner_->WaitForTeardown();
  auto calls = runtime_.calls();
  EXPECT_EQ(CountStartingWith(calls, "kill test-l-"), 1u);
  EXPECT_EQ(CountStartingWith(calls, "delete test-l-"), 1u);
  EXPECT_EQ(runtime_.container_count(), 0u);
  EXPECT_TRUE(LambdaDirIsEmpty());
}

TEST_F(LambdaRunnerTest, EveryRunGetsAFreshUniqueContainerThatIsRemovedAfterwards) {
  Runner();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(runner_->Run(Request()).ok());
  runner_->WaitForTeardown();
  auto calls = runtime_.calls();
  std::vector<std::string> runs;
  for (const auto& c : calls) {
    if (c.rfind("run ", 0) == 0) runs.push_back(c);
  }
  ASSERT_EQ(runs.size(), 3u);
  std::sort(runs.begin(), runs.end());
  EXPECT_EQ(std::unique(runs.begin(), runs.end()), runs.end());
  EXPECT_EQ(runtime_.container_count(), 0u);
  EXPECT_TRUE(LambdaDirIsEmpty());
}

TEST_F(LambdaRunnerTest, FailedStartIsAnErrorAndLeavesNothing) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    FakeProcessScript s;
    s.spawn_error = InternalError("spawn runc: no such file");
    return s;
  };
  auto r = Runner().Run(Request());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(LambdaDirIsEmpty());
}

TEST_F(LambdaRunnerTest, UnavailableRunnerSaysWhyAfterValidation) {
  Runner(UnavailableError("lambda needs root and runc"));
  EXPECT_EQ(runner_->Run(Request("", "python3")).status().code(), StatusCode::kInvalidArgument);
  auto r = runner_->Run(Request());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "lambda needs root and runc");
  EXPECT_TRUE(runtime_.calls().empty());
}

TEST_F(LambdaRunnerTest, RunsBeyondTheConcurrencyLimitAreRefused) {
  options_.max_concurrent = 1;
  options_.queue_wait_ms = 0;
  std::promise<void> inside;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  runtime_.run_script = [&](const std::string&, const std::string&) {
    FakeProcessScript s;
    s.outcome.control_data = "ready\nexit 0 1\n";
    s.on_communicate = [&inside, released](const CommunicateOptions&) {
      inside.set_value();
      released.wait();
    };
    return s;
  };
  Runner();
  auto first = std::async(std::launch::async, [this] { return runner_->Run(Request()); });
  inside.get_future().wait();

  runtime_.run_script = [](const std::string&, const std::string&) {
    FakeProcessScript s;
    s.outcome.control_data = "ready\nexit 0 1\n";
    return s;
  };
  auto second = runner_->Run(Request());
  EXPECT_EQ(second.status().code(), StatusCode::kRateLimited);
  EXPECT_GT(second.status().retry_after_seconds(), 0);

  release.set_value();
  EXPECT_TRUE(first.get().ok());
  runner_->WaitForTeardown();  // the slot is held until the sandbox is gone
  EXPECT_TRUE(runner_->Run(Request()).ok()) << "the slot is free again";
}

TEST_F(LambdaRunnerTest, TeardownHappensAfterTheResultAndKeepsTheSlot) {
  options_.max_concurrent = 1;
  Runner();
  ASSERT_TRUE(runner_->Run(Request()).ok());
  runner_->WaitForTeardown();
  auto calls = runtime_.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().rfind("delete test-l-", 0), 0u) << calls.back();
  EXPECT_TRUE(runner_->Run(Request()).ok()) << "the slot came back after the teardown";
}

// The runner's files live in a private directory named after the instance,
// away from the data dir, and sandboxes mount a copy of the init from there:
// what a sandbox's mountinfo shows names neither the data dir nor the
// installation. All of it goes with the runner.
TEST_F(LambdaRunnerTest, PrepareRuntimeDirMakesAPrivateDirWithACopyOfTheInitAndRemovesItAfter) {
  const std::string installed = "/opt/nexus/bin/nexus-lambda-init";
  files_.PutFile(installed, "the init's bytes", 0755);
  options_.init_path = installed;
  const std::string run = kRun;
  ASSERT_TRUE(files_.MakeDirs(run, 0777).ok());  // a looser directory is narrowed
  std::string init_source;
  runtime_.run_script = [&](const std::string&, const std::string& bundle) {
    const nlohmann::json config = BundleConfig(bundle);
    for (const auto& m : config["mounts"]) {
      if (m["destination"] == "/sandbox/init") init_source = m["source"];
    }
    FakeProcessScript script;
    script.outcome.control_data = "ready\nexit 0 1\n";
    return script;
  };
  ASSERT_TRUE(Runner().PrepareRuntimeDir().ok());
  EXPECT_EQ(files_.Stat(run)->mode, 0700u);
  EXPECT_EQ(files_.Stat(kLambdaDir)->mode, 0700u);
  const std::string copy = std::string(kLambdaDir) + "/init";
  EXPECT_EQ(*files_.ReadFile(copy, 100), "the init's bytes");
  EXPECT_EQ(files_.Stat(copy)->mode, 0555u);
  EXPECT_FALSE(files_.Exists(copy + ".tmp"));
  EXPECT_EQ(runner_->options().init_path, copy);
  ASSERT_TRUE(runner_->Run(Request()).ok());
  EXPECT_EQ(init_source, copy);
  runner_->WaitForTeardown();
  runner_.reset();
  EXPECT_FALSE(files_.Exists(run)) << "the runtime directory goes with the runner";
  EXPECT_TRUE(files_.Exists(installed));
}

TEST_F(LambdaRunnerTest, PrepareRuntimeDirReplacesTheCopyACrashLeftHalfWritten) {
  options_.init_path = "/opt/nexus/bin/nexus-lambda-init";
  files_.PutFile(options_.init_path, "the init's bytes", 0755);
  files_.PutFile(std::string(kLambdaDir) + "/init.tmp", "half", 0600);
  files_.PutFile(std::string(kLambdaDir) + "/init", "an older init", 0555);
  ASSERT_TRUE(Runner().PrepareRuntimeDir().ok());
  EXPECT_EQ(*files_.ReadFile(std::string(kLambdaDir) + "/init", 100), "the init's bytes");
  EXPECT_FALSE(files_.Exists(std::string(kLambdaDir) + "/init.tmp"));
}

TEST_F(LambdaRunnerTest, PrepareRuntimeDirWithoutTheInstalledInitIsAnInternalError) {
  options_.init_path = "/opt/nexus/bin/nexus-lambda-init";
  Status s = Runner().PrepareRuntimeDir();
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find(options_.init_path), std::string::npos) << s.ToString();
  EXPECT_FALSE(files_.Exists(std::string(kLambdaDir) + "/init.tmp"));
}

TEST_F(LambdaRunnerTest, ARunnerWithoutAnAbsoluteRuntimeDirRunsNothing) {
  for (const char* dir : {"", "relative/run", "/"}) {
    options_.runtime_dir = dir;
    auto r = Runner().Run(Request());
    EXPECT_EQ(r.status().code(), StatusCode::kInternal) << "'" << dir << "'";
    runner_.reset();
  }
  EXPECT_TRUE(runtime_.calls().empty());
}

TEST_F(LambdaRunnerTest, PrepareRuntimeDirRefusesADirectoryThatIsNotItsOwn) {
  options_.init_path = "/opt/nexus/bin/nexus-lambda-init";
  files_.PutFile(options_.init_path, "init", 0755);
  ASSERT_TRUE(files_.MakeDirs("/elsewhere", 0700).ok());
  ASSERT_TRUE(files_.MakeDirs(DirName(kRun), 0755).ok());
  ASSERT_TRUE(files_.Symlink("/elsewhere", kRun).ok());
  Status s = Runner().PrepareRuntimeDir();
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("is not a directory"), std::string::npos) << s.ToString();
  EXPECT_FALSE(files_.Exists("/elsewhere/lambda"));
  runner_.reset();

  ASSERT_TRUE(files_.Remove(kRun).ok());
  ASSERT_TRUE(files_.MakeDir(kRun, 0700).ok());
  ASSERT_TRUE(files_.Chown(kRun, FileOwner{::geteuid() + 1, ::getegid()}).ok());
  s = Runner().PrepareRuntimeDir();
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("belongs to uid"), std::string::npos) << s.ToString();
  EXPECT_FALSE(files_.Exists(std::string(kLambdaDir)));
}

TEST_F(LambdaRunnerTest, CleanUpLeftoversRemovesOnlyThisInstancesLambdas) {
  runtime_.AddContainer("test-l-0123456789abcdef", ContainerStatus::kRunning);
  runtime_.AddContainer("other-l-0123456789abcdef", ContainerStatus::kRunning);
  runtime_.AddContainer("test-n-node1", ContainerStatus::kRunning);
  ASSERT_TRUE(
      files_.MakeDirs(std::string(kLambdaDir) + "/test-l-0123456789abcdef/rootfs", 0700).ok());
  ASSERT_TRUE(files_.MakeDirs(std::string(kLambdaDir) + "/other-l-1", 0700).ok());
  cgroups_.AddExisting("/nexus-test-lambda/test-l-0123456789abcdef");
  cgroups_.AddExisting("/nexus-test-lambda");
  cgroups_.AddExisting("/nexus-other-lambda");

  ASSERT_TRUE(Runner().CleanUpLeftovers().ok());
  auto calls = runtime_.calls();
  EXPECT_EQ(CountStartingWith(calls, "destroy "), 1u);
  EXPECT_EQ(CountStartingWith(calls, "destroy test-l-0123456789abcdef"), 1u);
  EXPECT_EQ(runtime_.container_count(), 2u);
  EXPECT_FALSE(files_.Exists(std::string(kLambdaDir) + "/test-l-0123456789abcdef"));
  EXPECT_TRUE(files_.Exists(std::string(kLambdaDir) + "/other-l-1"));
  // The parent goes with everything below it (RemoveTree), the other
  // instance's stays.
  EXPECT_FALSE(cgroups_.Exists("/nexus-test-lambda"));
  EXPECT_TRUE(cgroups_.Exists("/nexus-other-lambda"));
  auto removed = cgroups_.removed();
  EXPECT_NE(std::find(removed.begin(), removed.end(), "/nexus-test-lambda"), removed.end());
  EXPECT_EQ(std::find(removed.begin(), removed.end(), "/nexus-other-lambda"), removed.end());
}

TEST_F(LambdaRunnerTest, RemovesItsCgroupParentOnShutdown) {
  cgroups_.AddExisting("/nexus-test-lambda");
  Runner();
  runner_.reset();
  auto removed = cgroups_.removed();
  EXPECT_NE(std::find(removed.begin(), removed.end(), "/nexus-test-lambda"), removed.end());
}

TEST_F(LambdaRunnerTest, WarmPoolServesDefaultMemoryRunsWithPreStartedSandboxes) {
  options_.pool_size = 2;
  Runner().StartPool();
  ASSERT_TRUE(runner_->WaitForPool(2, 5000));
  EXPECT_EQ(CountStartingWith(runtime_.calls(), "run "), 2u);

  ASSERT_TRUE(runner_->Run(Request()).ok());
  // The run took a warm sandbox; the pool then starts a replacement.
  ASSERT_TRUE(runner_->WaitForPool(2, 5000));
  EXPECT_EQ(CountStartingWith(runtime_.calls(), "run "), 3u);

  LambdaRequest big = Request();
  big.memory_mb = 256;  // not what the pool's sandboxes have: a cold start
  ASSERT_TRUE(runner_->Run(big).ok());
  EXPECT_EQ(CountStartingWith(runtime_.calls(), "run "), 4u);
  EXPECT_EQ(runner_->idle_sandboxes(), 2u);

  runner_.reset();
  EXPECT_EQ(runtime_.container_count(), 0u) << "idle sandboxes are destroyed on shutdown";
  EXPECT_TRUE(LambdaDirIsEmpty());
}

TEST_F(LambdaRunnerTest, OnlyPoolSandboxesStartTheirInterpreterAhead) {
  std::mutex mu;
  std::vector<std::string> args;  // the init's arguments, one entry per sandbox
  runtime_.run_script = [&](const std::string&, const std::string& bundle) {
    auto config = BundleConfig(bundle);
    std::lock_guard<std::mutex> lock(mu);
    args.push_back(config["process"]["args"].dump());
    FakeProcessScript s;
    s.outcome.control_data = "ready\nexit 0 1\n";
    return s;
  };
  options_.pool_size = 1;
  Runner().StartPool();
  ASSERT_TRUE(runner_->WaitForPool(1, 5000));
  LambdaRequest cold = Request();
  cold.memory_mb = 256;  // not the pool's size: a cold start
  ASSERT_TRUE(runner_->Run(cold).ok());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0], R"(["/sandbox/init","pool"])");
  EXPECT_EQ(args[1], R"(["/sandbox/init"])");
}

}  // namespace
}  // namespace nexus::daemon::runtime
