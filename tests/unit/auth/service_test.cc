#include "auth/service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>

#include "common/grpc_status.h"
#include "support/auth_fake_mailer.h"
#include "support/auth_temp_dir.h"
#include "support/fake_clock.h"

namespace nexus::auth {
namespace {

namespace pb = nexus::auth::v1;

// The adapter over a real in-process gRPC server on 127.0.0.1:<any port>.
class AuthGrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = UserStore::Open(dir_ / "auth.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auth_ = std::make_unique<AuthService>(
        config_, AuthService::Deps{clock_, *store_, mailer_, passwords_, otp_, jwt_, ip_limiter_,
                                   account_limiter_});
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    pool_.reset();
  }

  void Start(size_t max_queued = 16) {
    pool_ = std::make_unique<WorkerPool>(2, max_queued);
    service_ = std::make_unique<AuthGrpcService>(*auth_, *pool_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr);
    stub_ = pb::AuthService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                         grpc::InsecureChannelCredentials()));
  }

  // Registers alice through gRPC and returns her token.
  std::string RegisterAlice() {
    grpc::ClientContext c1;
    pb::RegisterInitRequest init;
    init.set_username("alice");
    init.set_password("hunter2");
    init.set_email("alice@example.com");
    init.set_client_ip("10.0.0.1");
    pb::RegisterInitResponse init_resp;
    EXPECT_TRUE(stub_->RegisterInit(&c1, init, &init_resp).ok());
    EXPECT_EQ(init_resp.message(), "OTP sent to email");

    grpc::ClientContext c2;
    pb::VerifyRequest verify;
    verify.set_email("alice@example.com");
    verify.set_code(mailer_.LastCodeFor("alice@example.com").value_or(""));
    pb::TokenResponse token;
    grpc::Status s = stub_->RegisterVerify(&c2, verify, &token);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(token.username(), "alice");
    EXPECT_EQ(token.expires_at(), clock_.NowSeconds() + 24 * 3600);
    return token.token();
  }

  nexus::testing::FakeClock clock_;
  nexus::testing::AuthTempDir dir_;
  AuthConfig config_;
  nexus::testing::RecordingMailer mailer_;
  PasswordHasher passwords_{PasswordHashLimits::ForTests()};
  OtpHasher otp_{std::string(32, 'o')};
  JwtSigner jwt_{std::string(32, 'j'), clock_, 24 * 3600};
  RateLimiter ip_limiter_{clock_, {20, 30}};
  RateLimiter account_limiter_{clock_, {5, 120}};
  std::unique_ptr<UserStore> store_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<AuthGrpcService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::AuthService::Stub> stub_;
};

TEST_F(AuthGrpcServiceTest, RegisterLoginAndValidateOverGrpc) {
  Start();
  const std::string token = RegisterAlice();

  grpc::ClientContext c1;
  pb::ValidateTokenRequest req;
  req.set_token(token);
  pb::ValidateTokenResponse id;
  ASSERT_TRUE(stub_->ValidateToken(&c1, req, &id).ok());
  EXPECT_EQ(id.username(), "alice");
  EXPECT_EQ(id.email(), "alice@example.com");
  EXPECT_EQ(id.created_at(), clock_.NowSeconds());
  EXPECT_FALSE(id.user_id().empty());
  EXPECT_FALSE(id.jti().empty());

  grpc::ClientContext c2;
  pb::LoginInitRequest login;
  login.set_username("alice");
  login.set_password("hunter2");
  pb::LoginInitResponse login_resp;
  ASSERT_TRUE(stub_->LoginInit(&c2, login, &login_resp).ok());
  EXPECT_EQ(login_resp.message(), "OTP sent to alice@example.com");
  EXPECT_EQ(login_resp.email(), "alice@example.com");

  grpc::ClientContext c3;
  pb::GetUserRequest get;
  get.set_username("alice");
  pb::User user;
  ASSERT_TRUE(stub_->GetUser(&c3, get, &user).ok());
  EXPECT_EQ(user.id(), id.user_id());
  EXPECT_EQ(user.email(), "alice@example.com");
}

TEST_F(AuthGrpcServiceTest, ErrorsCarryTheNexusCode) {
  Start();
  RegisterAlice();
  grpc::ClientContext c;
  pb::RegisterInitRequest again;
  again.set_username("alice");
  again.set_password("hunter2");
  again.set_email("other@example.com");
  pb::RegisterInitResponse resp;
  grpc::Status s = stub_->RegisterInit(&c, again, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kAlreadyExists);

  grpc::ClientContext c2;
  pb::ValidateTokenRequest bad;
  bad.set_token("garbage");
  pb::ValidateTokenResponse id;
  EXPECT_EQ(FromGrpcStatus(stub_->ValidateToken(&c2, bad, &id)).code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AuthGrpcServiceTest, RateLimitCarriesRetryAfter) {
  Start();
  pb::RegisterInitRequest init;
  init.set_username("alice");
  init.set_password("hunter2");
  init.set_email("alice@example.com");
  pb::RegisterInitResponse resp;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->RegisterInit(&c1, init, &resp).ok());
  grpc::ClientContext c2;
  Status s = FromGrpcStatus(stub_->RegisterInit(&c2, init, &resp));
  EXPECT_EQ(s.code(), StatusCode::kRateLimited);
  EXPECT_EQ(s.retry_after_seconds(), 30);
}

TEST_F(AuthGrpcServiceTest, LogoutRevokes) {
  Start();
  const std::string token = RegisterAlice();
  grpc::ClientContext c1;
  pb::LogoutRequest logout;
  logout.set_token(token);
  pb::LogoutResponse logout_resp;
  ASSERT_TRUE(stub_->Logout(&c1, logout, &logout_resp).ok());
  grpc::ClientContext c2;
  pb::ValidateTokenRequest req;
  req.set_token(token);
  pb::ValidateTokenResponse id;
  EXPECT_EQ(stub_->ValidateToken(&c2, req, &id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthGrpcServiceTest, FullQueueFailsFastWithUnavailable) {
  Start(/*max_queued=*/0);
  grpc::ClientContext c;
  pb::RegisterInitRequest init;
  init.set_username("alice");
  init.set_password("hunter2");
  init.set_email("alice@example.com");
  pb::RegisterInitResponse resp;
  Status s = FromGrpcStatus(stub_->RegisterInit(&c, init, &resp));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(mailer_.count(), 0u);

  // Inline calls do not need the pool.
  grpc::ClientContext c2;
  pb::HealthResponse health;
  ASSERT_TRUE(stub_->Health(&c2, pb::HealthRequest(), &health).ok());
  EXPECT_EQ(health.status(), "ok");
}

}  // namespace
}  // namespace nexus::auth
