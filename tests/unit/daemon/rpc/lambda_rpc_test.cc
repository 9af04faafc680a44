// LambdaRpc end to end through its stub: against a fake runc, plus one run
// through LambdaRunner::ForHost (real runc as root; UNAVAILABLE otherwise).
#include "daemon/rpc/lambda_rpc.h"

#include "unit/daemon/rpc/rpc_test_bench.h"

namespace nexus::daemon {
namespace {

using namespace rpc_bench;  // NOLINT: the bench of this folder

// ---- lambda -----------------------------------------------------------------------

class RunLambdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    health_ = std::make_unique<testing::TestHealth>(dir_);
    ASSERT_TRUE(health_->get());
    options_.runtime_dir = dir_.path() + "/run";
    options_.instance = "svc";
    options_.init_path = NEXUS_LAMBDA_INIT_PATH;
    options_.output_limit_bytes = 100;
    options_.queue_wait_ms = 10000;
    options_.host.entries = {{"usr", ""}};
  }
  void TearDown() override {
    server_.reset();
    runner_.reset();
  }

  void Serve(runtime::LambdaRunner* runner, const CallLimits& limits = CallLimits{}) {
    server_ = std::make_unique<TestServer>(
        dir_.File("d.sock"), DomainObjects{.health = health_->get(), .lambda = runner}, limits);
    ASSERT_TRUE(server_->started());
  }
  void ServeFake(Status availability = Status::Ok(), const CallLimits& limits = CallLimits{}) {
    runner_ = std::make_unique<runtime::LambdaRunner>(options_, runtime_, cgroups_, availability);
    Serve(runner_.get(), limits);
  }

  grpc::Status Run(const std::string& code, const std::string& rt, v1::RunLambdaResponse* resp,
                   const std::string& owner = "alice") {
    grpc::ClientContext ctx;
    v1::RunLambdaRequest req;
    req.set_owner(owner);
    req.set_code(code);
    req.set_runtime(rt);
    req.set_stdin("input");
    return server_->stub().lambda->RunLambda(&ctx, req, resp);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestHealth> health_;
  runtime::LambdaOptions options_;
  testing::FakeOciRuntime runtime_;
  testing::FakeCgroupFs cgroups_;
  std::unique_ptr<runtime::LambdaRunner> runner_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(RunLambdaTest, ReturnsEveryFieldOfTheResult) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    testing::FakeProcessScript s;
    s.outcome.control_data = "ready\nsignal 6 21\n";
    s.outcome.stdout_data = std::string(150, 'o');
    s.outcome.stderr_data = "Aborted\n";
    return s;
  };
  ServeFake();
  v1::RunLambdaResponse resp;
  grpc::Status s = Run("import os; os.abort()", "python3", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), std::string(100, 'o'));
  EXPECT_TRUE(resp.stdout_truncated());
  EXPECT_EQ(resp.stderr(), "Aborted\n");
  EXPECT_FALSE(resp.stderr_truncated());
  EXPECT_EQ(resp.exit_code(), 134);
  EXPECT_EQ(resp.signal(), "SIGABRT");
  EXPECT_EQ(resp.execution_time_ms(), 21);
  EXPECT_FALSE(resp.timed_out());
  EXPECT_FALSE(resp.oom_killed());
}

TEST_F(RunLambdaTest, RunsBeyondAUsersShareAreRateLimitedWhileOtherUsersRun) {
  CallLimits limits;
  limits.lambda_runs = {3, 2};
  // Alice's two runs stay in their sandbox's start until the gate opens.
  Gate gate(2);
  runtime_.run_script = [&gate](const std::string&, const std::string&) {
    gate.Pass();
    testing::FakeProcessScript s;
    s.outcome.control_data = "ready\nexit 0 1\n";
    return s;
  };
  ServeFake(Status::Ok(), limits);
  grpc::Status held[2];
  std::vector<std::thread> alice;
  for (grpc::Status& status : held) {
    alice.emplace_back([&] {
      v1::RunLambdaResponse resp;
      status = Run("import time; time.sleep(60)", "python3", &resp, "alice");
    });
  }
  ASSERT_TRUE(gate.WaitForEntered(2));
  v1::RunLambdaResponse resp;
  ExpectRateLimited(Run("print(3)", "python3", &resp, "alice"), "lambda runs");
  grpc::Status bob = Run("print('bob')", "python3", &resp, "bob");
  EXPECT_TRUE(bob.ok()) << bob.error_message();
  gate.Open();
  for (auto& t : alice) t.join();
  for (const grpc::Status& s : held) EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::Status again = Run("print(4)", "python3", &resp, "alice");
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(RunLambdaTest, InvalidRequestsAndEmptyOwnerAreInvalidArgument) {
  ServeFake();
  v1::RunLambdaResponse resp;
  const grpc::Status cases[] = {
      Run("print(1)", "ruby", &resp),
      Run("", "python3", &resp),
      Run("print(1)", "python3", &resp, ""),
  };
  for (const grpc::Status& s : cases) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  }
  EXPECT_TRUE(runtime_.calls().empty());
}

TEST_F(RunLambdaTest, UnavailableRunnerAnswersUnavailable) {
  ServeFake(UnavailableError("lambda is not available (nexusd is not root)"));
  v1::RunLambdaResponse resp;
  grpc::Status s = Run("print(1)", "python3", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnavailable);
}

TEST_F(RunLambdaTest, InternalErrorsReachTheClientWithoutTheirDetails) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    testing::FakeProcessScript s;
    s.spawn_error = InternalError("spawn '/srv/secret/runc': Permission denied");
    return s;
  };
  ServeFake();
  v1::RunLambdaResponse resp;
  grpc::Status s = Run("print(1)", "python3", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kInternal);
  EXPECT_EQ(s.error_message(), "internal error");
}

// The real wiring: without root ForHost gives a runner that answers
// UNAVAILABLE; with root and runc a snippet really runs.
TEST_F(RunLambdaTest, HostRunnerRunsHelloWorldAsRootAndIsUnavailableOtherwise) {
  const bool root = ::geteuid() == 0;
  if (root && runtime::FindExecutable("runc").empty()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "lambda as root needs runc";
    GTEST_SKIP() << "running as root but runc is not installed";
  }
  Config config;
  config.data_dir = dir_.path();
  config.runtime_dir = dir_.path() + "/run";
  config.instance = "svc" + std::to_string(::getpid());
  config.lambda.pool_size = 0;
  config.lambda.init_path = NEXUS_LAMBDA_INIT_PATH;
  auto runner = runtime::LambdaRunner::ForHost(config);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  runner_ = std::move(runner).value();
  Serve(runner_.get());

  v1::RunLambdaResponse resp;
  grpc::Status s = Run("print('hello from nexus')", "python3", &resp);
  if (!root) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    return;
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), "hello from nexus\n");
  EXPECT_EQ(resp.exit_code(), 0);
  EXPECT_FALSE(resp.timed_out());
  server_.reset();
  runner_->WaitForTeardown();
}

}  // namespace
}  // namespace nexus::daemon
