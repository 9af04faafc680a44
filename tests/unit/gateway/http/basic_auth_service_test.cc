// HTTP Basic sign-in end to end within one process: the gateway's Pipeline
// with a route that calls AuthenticateBasic, the real gRPC auth client, and
// nexus-auth's real AuthGrpcService over real stores in a temp dir (an
// in-process gRPC channel stands in for the socket). The e2e suite drives
// the same path through the real binaries once a route signs in with Basic.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "auth/app_passwords.h"
#include "auth/auth_service.h"
#include "auth/service.h"
#include "gateway/backends/error_mapping.h"
#include "gateway/http/basic_auth.h"
#include "gateway/http/pipeline.h"
#include "support/auth_app_password_stores.h"
#include "support/auth_fake_mailer.h"
#include "support/fake_clock.h"
#include "support/gateway_test_util.h"
#include "support/temp_dir.h"

namespace nexus::gateway {
namespace {

using namespace std::chrono_literals;
using testing::RunAwaitable;

asio::awaitable<Result<Response>> WhoAmI(AuthClient& auth, Request& req) {
  NEXUS_CO_RETURN_IF_ERROR(co_await AuthenticateBasic(auth, req));
  co_return JsonResponse(
      200,
      nlohmann::json{{"username", req.principal.username}, {"email", req.principal.email}}.dump());
}

class BasicAuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(stores_.Open(dir_ / "auth.db"));
    account_ = std::make_unique<auth::AuthService>(
        config_, auth::AuthService::Deps{clock_, *stores_.users, mailer_, passwords_, otp_, jwt_,
                                         limiter_, limiter_, limiter_, backoff_});
    app_passwords_ = std::make_unique<auth::AppPasswords>(
        auth::AppPasswords::Policy{},
        auth::AppPasswords::Deps{clock_, *stores_.users, *stores_.app_passwords, hasher_,
                                 failures_});
    service_ =
        std::make_unique<auth::AuthGrpcService>(*account_, pool_, nullptr, app_passwords_.get());
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ = MakeGrpcAuthClient(server_->InProcessChannel(grpc::ChannelArguments()), 2000ms);
    router_.Add("GET", "/whoami", RouteOptions{BodyMode::kNone, false},
                [this](Request& req) { return WhoAmI(*client_, req); });
    pipeline_ = std::make_unique<Pipeline>(router_, *client_, PipelineOptions{});
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    pool_.Shutdown();
  }

  authpb::CreatedAppPassword Create(const std::string& user) {
    authpb::CreateAppPasswordRequest req;
    req.set_username(user);
    req.set_name("mount");
    auto r = RunAwaitable(client_->CreateAppPassword(req));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : authpb::CreatedAppPassword();
  }

  Response WhoAmIAs(const std::string& user, const std::string& password,
                    const std::string& from = "192.0.2.7") {
    Request req = testing::MakeRequest("GET", "", testing::BasicHeaders(user, password));
    req.client_ip = from;
    return RunAwaitable(pipeline_->Handle(req, "/whoami"));
  }

  nexus::testing::FakeClock clock_;
  nexus::testing::TempDir dir_;
  AuthConfig config_;
  nexus::testing::RecordingMailer mailer_;
  auth::PasswordHasher passwords_{auth::PasswordHashLimits::ForTests()};
  auth::OtpHasher otp_{std::string(32, 'o')};
  auth::JwtSigner jwt_{std::string(32, 'j'), clock_, 3600};
  auth::RateLimiter limiter_{clock_, {20, 30}};
  auth::FailureBackoff backoff_{clock_, {5, 1, 900}};
  auth::AppPasswordHasher hasher_{std::string(32, 'a')};
  auth::RateLimiter failures_{clock_, {3, 6}};
  auth::WorkerPool pool_{1, 8};
  nexus::testing::AuthStores stores_;
  std::unique_ptr<auth::AuthService> account_;
  std::unique_ptr<auth::AppPasswords> app_passwords_;
  std::unique_ptr<auth::AuthGrpcService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AuthClient> client_;
  Router router_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(BasicAuthServiceTest, AnAppPasswordSignsInUntilItIsDeleted) {
  authpb::CreatedAppPassword p = Create("alice");
  Response ok = WhoAmIAs("alice", p.password());
  EXPECT_EQ(ok.status, 200);
  // The account's own spelling, whatever case the client signed in with.
  EXPECT_EQ(ok.body, R"({"email":"alice@example.com","username":"Alice"})");

  authpb::DeleteAppPasswordRequest del;
  del.set_username("alice");
  del.set_id(p.app_password().id());
  ASSERT_TRUE(RunAwaitable(client_->DeleteAppPassword(del)).ok());

  Response revoked = WhoAmIAs("alice", p.password());
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.body, R"({"error":"invalid username or app password"})");
  EXPECT_EQ(revoked.headers.Get("WWW-Authenticate"), kBasicAuthChallenge);
}

TEST_F(BasicAuthServiceTest, AnotherUsersNameOrTheAccountPasswordNeverSignsIn) {
  authpb::CreatedAppPassword p = Create("alice");
  EXPECT_EQ(WhoAmIAs("bob", p.password(), "192.0.2.8").status, 401);
  EXPECT_EQ(WhoAmIAs("alice", "h", "192.0.2.9").status, 401);  // the stored account hash
}

TEST_F(BasicAuthServiceTest, RepeatedFailuresFromOneAddressAnswer429) {
  authpb::CreatedAppPassword p = Create("alice");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(WhoAmIAs("alice", "wrong").status, 401) << i;
  Response limited = WhoAmIAs("alice", p.password());
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.Get("Retry-After"), "6");
  EXPECT_FALSE(limited.headers.Has("WWW-Authenticate"));
  EXPECT_EQ(WhoAmIAs("alice", p.password(), "192.0.2.99").status, 200);
  clock_.AdvanceSeconds(6);
  EXPECT_EQ(WhoAmIAs("alice", p.password()).status, 200);
}

}  // namespace
}  // namespace nexus::gateway
