// The gRPC clients against an in-process AuthService / Daemon (no socket):
// values and Nexus statuses pass through, transport failures and missed
// deadlines become a plain 503-class error, a call resumes on the awaiting
// coroutine's thread, and carries the id of the request it was made for.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_status.h"
#include "common/logging.h"
#include "gateway/backends/auth_client.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/request_executor.h"
#include "nexus/auth/v1/auth.grpc.pb.h"
#include "nexus/daemon/v1/health.grpc.pb.h"
#include "support/gateway_test_util.h"
#include "support/thread_names.h"

namespace nexus::gateway {
namespace {

using testing::RunAwaitable;
using namespace std::chrono_literals;

class ScriptedAuthService final : public authpb::AuthService::Service {
 public:
  grpc::Status ValidateToken(grpc::ServerContext*, const authpb::ValidateTokenRequest* req,
                             authpb::ValidateTokenResponse* resp) override {
    if (req->token() == "good") {
      resp->set_username("alice");
      resp->set_email("alice@example.com");
      resp->set_created_at(1700000000);
      return grpc::Status::OK;
    }
    if (req->token() == "limited") return ToGrpcStatus(RateLimitedError("slow down", 7));
    if (req->token() == "bare") return grpc::Status(grpc::StatusCode::UNAVAILABLE, "socket /x");
    if (req->token() == "no-thread") {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "Server Threadpool Exhausted");
    }
    return ToGrpcStatus(UnauthenticatedError("token rejected"));
  }
  // Waits until the test releases it, so a short client deadline passes first.
  grpc::Status Health(grpc::ServerContext*, const authpb::HealthRequest*,
                      authpb::HealthResponse* resp) override {
    release_.wait_for(5s);
    resp->set_status("ok");
    return grpc::Status::OK;
  }
  void Release() { release_promise_.set_value(); }

 private:
  std::promise<void> release_promise_;
  std::shared_future<void> release_ = release_promise_.get_future().share();
};

// Answers "ok", followed by the request id the call came with, if any.
class ScriptedDaemonService final : public daemonpb::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* ctx, const daemonpb::HealthRequest*,
                     daemonpb::HealthResponse* resp) override {
    std::string status = "ok";
    auto id = ctx->client_metadata().find(kRequestIdMetadataKey);
    if (id != ctx->client_metadata().end())
      status += " " + std::string(id->second.data(), id->second.size());
    resp->set_status(status);
    return grpc::Status::OK;
  }
};

Result<authpb::ValidateTokenResponse> Validate(AuthClient& auth, const std::string& token) {
  authpb::ValidateTokenRequest req;
  req.set_token(token);
  return RunAwaitable(auth.ValidateToken(req));
}

class GrpcClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&auth_service_);
    builder.RegisterService(&daemon_service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel = server_->InProcessChannel(grpc::ChannelArguments());
    auth_ = MakeGrpcAuthClient(channel, 2000ms);
    daemon_ = MakeGrpcDaemonClient(channel, 2000ms);
  }
  void TearDown() override {
    if (!released_) auth_service_.Release();
    server_->Shutdown();
  }

  Result<authpb::ValidateTokenResponse> Validate(const std::string& token) {
    return gateway::Validate(*auth_, token);
  }

  ScriptedAuthService auth_service_;
  ScriptedDaemonService daemon_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AuthClient> auth_;
  std::unique_ptr<DaemonClient> daemon_;
  bool released_ = false;
};

TEST_F(GrpcClientsTest, ReturnsTheServiceAnswer) {
  auto r = Validate("good");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->username(), "alice");
  EXPECT_EQ(r->email(), "alice@example.com");
  EXPECT_EQ(r->created_at(), 1700000000);

  auto d = RunAwaitable(daemon_->Health(daemonpb::HealthRequest()));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->status(), "ok");
}

TEST_F(GrpcClientsTest, NexusStatusesFromTheServicePassThrough) {
  auto rejected = Validate("forged");
  EXPECT_EQ(rejected.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(rejected.status().message(), "token rejected");

  auto limited = Validate("limited");
  EXPECT_EQ(limited.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(limited.status().retry_after_seconds(), 7);
}

TEST_F(GrpcClientsTest, BareTransportStatusesLoseTheirInternalDetail) {
  auto r = Validate("bare");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "auth service unavailable");
  EXPECT_EQ(r.status().reason(), Reason::kBackendDown);
}

// gRPC's own refusal of a call for want of a server thread is the service
// being busy (503, retry shortly), not the caller being rate limited.
TEST_F(GrpcClientsTest, AServerOutOfThreadsIsBusyNotRateLimiting) {
  auto r = Validate("no-thread");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "auth service is busy; retry shortly");
  EXPECT_EQ(r.status().retry_after_seconds(), 1);
}

TEST_F(GrpcClientsTest, AMissedDeadlineIsUnavailable) {
  auto channel = server_->InProcessChannel(grpc::ChannelArguments());
  auto impatient = MakeGrpcAuthClient(channel, 100ms);
  auto r = RunAwaitable(impatient->Health(authpb::HealthRequest()));
  auth_service_.Release();
  released_ = true;
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "auth service unavailable (timed out)");
}

asio::awaitable<std::thread::id> ThreadAfterCall(AuthClient& auth) {
  authpb::ValidateTokenRequest req;
  req.set_token("good");
  auto r = co_await auth.ValidateToken(std::move(req));
  EXPECT_TRUE(r.ok());
  co_return std::this_thread::get_id();
}

TEST_F(GrpcClientsTest, ResumesOnTheAwaitingCoroutinesThread) {
  EXPECT_EQ(RunAwaitable(ThreadAfterCall(*auth_)), std::this_thread::get_id());
}

// Two calls, each after a wait that is not a backend call; notes what the
// service answered.
asio::awaitable<void> CallAfterWaits(DaemonClient& daemon, std::vector<std::string>* answers) {
  for (int i = 0; i < 2; ++i) {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    auto r = co_await daemon.Health(daemonpb::HealthRequest());
    answers->push_back(r.ok() ? r->status() : r.status().ToString());
  }
}

TEST_F(GrpcClientsTest, TwoRequestsTakingTurnsOnOneThreadEachSendTheirOwnId) {
  asio::io_context io(1);
  RequestIdCell a;
  a.Set("request-a");
  RequestIdCell b;
  b.Set("request-b");
  std::vector<std::string> answers_a;
  std::vector<std::string> answers_b;
  using Executor = RequestIdExecutor<asio::io_context::executor_type>;
  asio::co_spawn(Executor(io.get_executor(), &a), CallAfterWaits(*daemon_, &answers_a),
                 asio::detached);
  asio::co_spawn(Executor(io.get_executor(), &b), CallAfterWaits(*daemon_, &answers_b),
                 asio::detached);
  io.run();
  EXPECT_EQ(answers_a, (std::vector<std::string>{"ok request-a", "ok request-a"}));
  EXPECT_EQ(answers_b, (std::vector<std::string>{"ok request-b", "ok request-b"}));
}

TEST_F(GrpcClientsTest, ACallOutsideAnyRequestSendsNoId) {
  auto d = RunAwaitable(daemon_->Health(daemonpb::HealthRequest()));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->status(), "ok");
}

// gRPC's callback API runs on "nexting_thread"s that sleep 100 ms after each
// idle second (completion_queue_threads.h); the clients must not bring them
// up. The services here are sync ones, so any such thread is the clients'.
TEST_F(GrpcClientsTest, CallsNeedNoGrpcCallbackThreads) {
  ASSERT_TRUE(Validate("good").ok());
  ASSERT_TRUE(RunAwaitable(daemon_->Health(daemonpb::HealthRequest())).ok());
  std::vector<std::string> names = nexus::testing::ThreadNames();
  EXPECT_GT(names.size(), 1u);
  EXPECT_EQ(std::count(names.begin(), names.end(), "nexting_thread"), 0);
}

// The production channel (MakeBackendChannel's arguments, a Unix socket in
// a temp dir) still enforces the deadline on the client side.
TEST(GrpcClientsUnixSocketTest, ProductionChannelEnforcesTheDeadline) {
  char dir_template[] = "/tmp/nexus-gw-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string target = std::string("unix:") + dir_template + "/auth.sock";
  ScriptedAuthService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  auto auth = MakeGrpcAuthClient(target, 200ms);
  auto ok = Validate(*auth, "good");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  auto started = std::chrono::steady_clock::now();
  auto hung = RunAwaitable(auth->Health(authpb::HealthRequest()));
  auto took = std::chrono::steady_clock::now() - started;
  service.Release();
  EXPECT_EQ(hung.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(hung.status().message(), "auth service unavailable (timed out)");
  EXPECT_LT(took, 2s);
  server->Shutdown();
  std::filesystem::remove_all(dir_template);
}

TEST(GrpcClientsDeadBackendTest, FailsFastWhenNothingListens) {
  auto auth = MakeGrpcAuthClient("unix:/nonexistent-nexus-test-dir/auth.sock", 2000ms);
  auto started = std::chrono::steady_clock::now();
  auto r = RunAwaitable(auth->Health(authpb::HealthRequest()));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "auth service unavailable");
  EXPECT_LT(took, 1000ms);
}

}  // namespace
}  // namespace nexus::gateway
