#include "auth/service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_status.h"
#include "support/auth_fake_mailer.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

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
                                   verify_limiter_, account_limiter_, login_backoff_});
    auto a = AppPasswordStore::Open(dir_ / "auth.db");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_store_ = std::move(a).value();
    app_passwords_ = std::make_unique<AppPasswords>(
        AppPasswords::Policy{},
        AppPasswords::Deps{clock_, *store_, *app_store_, app_hasher_, app_failures_});
  }
  void TearDown() override {
    // Calls waiting for the pool end only when it runs their tasks, and the
    // server's Shutdown waits for every call.
    ReleasePool();
    clients_.clear();
    if (server_) server_->Shutdown();
    pool_.reset();
  }

  void Start(size_t workers = 2, size_t max_queued = 16) {
    pool_ = std::make_unique<WorkerPool>(workers, max_queued);
    service_ = std::make_unique<AuthGrpcService>(*auth_, *pool_, &metrics_, app_passwords_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    ConfigureServer(builder, *pool_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr);
    stub_ = pb::AuthService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                         grpc::InsecureChannelCredentials()));
  }

  // Occupies every pool thread with a task that waits for ReleasePool, so
  // that the calls which follow stay queued.
  void BlockPool(size_t workers) {
    std::vector<std::future<void>> started;
    for (size_t i = 0; i < workers; ++i) {
      auto running = std::make_shared<std::promise<void>>();
      started.push_back(running->get_future());
      ASSERT_TRUE(pool_->TrySubmit([running, gate = gate_] {
        running->set_value();
        gate.wait();
      }));
    }
    for (auto& f : started) f.wait();
  }
  void ReleasePool() {
    if (!released_) release_.set_value();
    released_ = true;
  }
  // Waits until the server has handed `n` calls to the pool's queue. There is
  // no event to wait on; the calls get there within microseconds, and a call
  // that never does (refused, say) fails the test instead of hanging it.
  void WaitUntilQueued(size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pool_->queued() < n) {
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "calls never reached the queue";
      std::this_thread::yield();
    }
  }

  // A call made on a thread of its own; its status is set once clients_ is
  // cleared (which joins the threads).
  struct PendingCall {
    grpc::ClientContext ctx;
    grpc::Status status;
  };
  PendingCall& StartRegisterInit(const std::string& name) {
    PendingCall& call = calls_.emplace_back();
    clients_.emplace_back([this, name, &call] {
      pb::RegisterInitRequest req;
      req.set_username(name);
      req.set_password("hunter2");
      req.set_email(name + "@example.com");
      pb::RegisterInitResponse resp;
      call.status = stub_->RegisterInit(&call.ctx, req, &resp);
    });
    return call;
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
  nexus::testing::TempDir dir_;
  AuthConfig config_;
  nexus::testing::RecordingMailer mailer_;
  PasswordHasher passwords_{PasswordHashLimits::ForTests()};
  OtpHasher otp_{std::string(32, 'o')};
  JwtSigner jwt_{std::string(32, 'j'), clock_, 24 * 3600};
  RateLimiter ip_limiter_{clock_, {20, 30}};
  RateLimiter verify_limiter_{clock_, {20, 30}};
  RateLimiter account_limiter_{clock_, {5, 120}};
  FailureBackoff login_backoff_{clock_, {5, 1, 900}};
  std::unique_ptr<UserStore> store_;
  std::unique_ptr<AuthService> auth_;
  AppPasswordHasher app_hasher_{std::string(32, 'a')};
  RateLimiter app_failures_{clock_, {2, 6}};
  std::unique_ptr<AppPasswordStore> app_store_;
  std::unique_ptr<AppPasswords> app_passwords_;
  metrics::Registry registry_;
  AuthMetrics metrics_{registry_};
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<AuthGrpcService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::AuthService::Stub> stub_;
  std::promise<void> release_;
  std::shared_future<void> gate_ = release_.get_future().share();
  bool released_ = false;
  std::deque<PendingCall> calls_;  // stable addresses, outlive clients_
  std::vector<std::jthread> clients_;
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

TEST_F(AuthGrpcServiceTest, VerifyCountsWrongCodesPerClientAddress) {
  Start();
  grpc::ClientContext c0;
  pb::RegisterInitRequest init;
  init.set_username("alice");
  init.set_password("hunter2");
  init.set_email("alice@example.com");
  pb::RegisterInitResponse init_resp;
  ASSERT_TRUE(stub_->RegisterInit(&c0, init, &init_resp).ok());
  const std::string code = mailer_.LastCodeFor("alice@example.com").value_or("");
  const auto verify = [&](const std::string& try_code, const std::string& client_ip) {
    grpc::ClientContext c;
    pb::VerifyRequest req;
    req.set_email("alice@example.com");
    req.set_code(try_code);
    req.set_client_ip(client_ip);
    pb::TokenResponse resp;
    return stub_->RegisterVerify(&c, req, &resp).error_code();
  };
  const std::string wrong = code == "000000" ? "000001" : "000000";
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(verify(wrong, "10.0.0.9"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(verify(code, "10.0.0.9"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(verify(code, "10.0.0.1"), grpc::StatusCode::OK);
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
  Start(/*workers=*/1, /*max_queued=*/0);  // every pool call finds the queue full
  grpc::ClientContext c;
  pb::RegisterInitRequest init;
  init.set_username("alice");
  init.set_password("hunter2");
  init.set_email("alice@example.com");
  pb::RegisterInitResponse resp;
  Status s = FromGrpcStatus(stub_->RegisterInit(&c, init, &resp));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "nexus-auth is overloaded; retry later");
  EXPECT_EQ(mailer_.count(), 0u);

  // Inline calls do not need the pool.
  grpc::ClientContext c2;
  pb::HealthResponse health;
  ASSERT_TRUE(stub_->Health(&c2, pb::HealthRequest(), &health).ok());
  EXPECT_EQ(health.status(), "ok");
}

TEST_F(AuthGrpcServiceTest, CallerThatGaveUpWhileQueuedGetsCancelledAndNoMail) {
  Start(/*workers=*/1, /*max_queued=*/1);
  BlockPool(1);
  PendingCall& gave_up = StartRegisterInit("alice");
  ASSERT_NO_FATAL_FAILURE(WaitUntilQueued(1));
  gave_up.ctx.TryCancel();
  clients_.clear();
  // The client's own cancellation makes this CANCELLED whatever the server
  // did; what the server did shows in the mail count below.
  EXPECT_EQ(gave_up.status.error_code(), grpc::StatusCode::CANCELLED);

  // The client's RST_STREAM precedes this call on the one connection, so once
  // it is answered the server has seen the cancellation.
  grpc::ClientContext c;
  pb::HealthResponse health;
  ASSERT_TRUE(stub_->Health(&c, pb::HealthRequest(), &health).ok());

  ReleasePool();
  pool_->Shutdown();  // runs the queued task, which must skip the work
  EXPECT_EQ(mailer_.count(), 0u);
}

TEST_F(AuthGrpcServiceTest, CallsWaitingForThePoolLeaveThreadsForTokenValidation) {
  Start(/*workers=*/1, /*max_queued=*/3);
  const std::string token = RegisterAlice();
  BlockPool(1);
  for (int i = 0; i < 3; ++i) StartRegisterInit("user" + std::to_string(i));
  ASSERT_NO_FATAL_FAILURE(WaitUntilQueued(3));  // each of them holds a server thread now

  // Had the thread quota no room beyond the pool's calls, gRPC would refuse
  // this one with RESOURCE_EXHAUSTED.
  grpc::ClientContext c;
  pb::ValidateTokenRequest req;
  req.set_token(token);
  pb::ValidateTokenResponse id;
  grpc::Status s = stub_->ValidateToken(&c, req, &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(id.username(), "alice");

  ReleasePool();
  clients_.clear();
  for (const PendingCall& call : calls_)
    EXPECT_TRUE(call.status.ok()) << call.status.error_message();
}

TEST_F(AuthGrpcServiceTest, AppPasswordsOverGrpcAndFailuresCounted) {
  Start();
  RegisterAlice();
  grpc::ClientContext c1;
  pb::CreateAppPasswordRequest create;
  create.set_username("alice");
  create.set_name("Finder");
  pb::CreatedAppPassword created;
  grpc::Status s = stub_->CreateAppPassword(&c1, create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.app_password().name(), "Finder");
  EXPECT_EQ(created.app_password().created_at(), clock_.NowSeconds());
  EXPECT_FALSE(created.password().empty());

  const auto validate = [&](const std::string& password, pb::ValidateAppPasswordResponse* out) {
    grpc::ClientContext c;
    pb::ValidateAppPasswordRequest req;
    req.set_username("alice");
    req.set_password(password);
    req.set_client_address("10.0.0.5");
    return FromGrpcStatus(stub_->ValidateAppPassword(&c, req, out));
  };
  pb::ValidateAppPasswordResponse id;
  ASSERT_TRUE(validate(created.password(), &id).ok());
  EXPECT_EQ(id.username(), "alice");
  EXPECT_EQ(id.email(), "alice@example.com");
  EXPECT_EQ(id.app_password_id(), created.app_password().id());
  EXPECT_FALSE(id.user_id().empty());

  grpc::ClientContext c2;
  pb::ListAppPasswordsRequest list_req;
  list_req.set_username("alice");
  pb::ListAppPasswordsResponse list;
  ASSERT_TRUE(stub_->ListAppPasswords(&c2, list_req, &list).ok());
  ASSERT_EQ(list.app_passwords_size(), 1);
  EXPECT_EQ(list.app_passwords(0).id(), created.app_password().id());
  EXPECT_EQ(list.app_passwords(0).last_used_at(), clock_.NowSeconds());

  grpc::ClientContext c3;
  pb::DeleteAppPasswordRequest del;
  del.set_username("alice");
  del.set_id(created.app_password().id());
  pb::DeleteAppPasswordResponse deleted;
  ASSERT_TRUE(stub_->DeleteAppPassword(&c3, del, &deleted).ok());
  grpc::ClientContext c4;
  EXPECT_EQ(FromGrpcStatus(stub_->DeleteAppPassword(&c4, del, &deleted)).code(),
            StatusCode::kNotFound);

  EXPECT_EQ(validate(created.password(), &id).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(validate("wrong", &id).code(), StatusCode::kUnauthenticated);
  Status limited = validate("wrong", &id);
  EXPECT_EQ(limited.code(), StatusCode::kRateLimited);
  EXPECT_EQ(limited.retry_after_seconds(), 6);
  const std::string exposition = registry_.Expose();
  EXPECT_NE(exposition.find("nexus_auth_app_password_failures_total 2"), std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("nexus_auth_rate_limited_total 1"), std::string::npos) << exposition;
}

}  // namespace
}  // namespace nexus::auth
