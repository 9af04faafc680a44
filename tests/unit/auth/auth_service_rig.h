// The AuthService test rig: a service over a real UserStore in a temp dir,
// a recording mailer, a FakeClock and test-strength password hashing, plus
// helpers to register, log in and send wrong codes. Shared by the
// auth_service_*_test.cc files of this folder.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/auth_service.h"
#include "support/auth_fake_mailer.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace nexus::auth {

using nexus::testing::RecordingMailer;

const std::string kJwtKey(32, 'j');
const std::string kAliceEmail = "alice@example.com";
// The client address of most calls; attacks come from others.
const std::string kHere = "10.0.0.1";

// A code that differs from `code` (same length, digits only).
inline std::string OtherCode(const std::string& code) {
  std::string out = code;
  out[0] = code[0] == '9' ? '0' : static_cast<char>(code[0] + 1);
  return out;
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = UserStore::Open(db_path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    Build();
  }

  // (Re)creates the service from config_ (tests that change config call it).
  void Build() {
    jwt_ = std::make_unique<JwtSigner>(kJwtKey, clock_, config_.jwt_ttl_hours * 3600);
    ip_limiter_ = std::make_unique<RateLimiter>(
        clock_, BucketPolicy{config_.ip_rate_burst, config_.ip_rate_refill_seconds});
    verify_limiter_ = std::make_unique<RateLimiter>(
        clock_, BucketPolicy{config_.verify_ip_rate_burst, config_.verify_ip_rate_refill_seconds});
    account_limiter_ = std::make_unique<RateLimiter>(
        clock_, BucketPolicy{config_.account_rate_burst, config_.account_rate_refill_seconds});
    login_backoff_ = std::make_unique<FailureBackoff>(
        clock_, BackoffPolicy{config_.login_failure_burst, config_.login_backoff_seconds,
                              config_.login_backoff_max_seconds});
    service_ = std::make_unique<AuthService>(
        config_, AuthService::Deps{clock_, *store_, mailer_, passwords_, otp_, *jwt_, *ip_limiter_,
                                   *verify_limiter_, *account_limiter_, *login_backoff_});
  }

  // Sends `n` wrong codes for `email` from `client`, each answered as one.
  void SendWrongCodes(CodePurpose purpose, const std::string& email, const std::string& code,
                      const std::string& client, int n) {
    for (int i = 0; i < n; ++i) {
      auto r = purpose == CodePurpose::kRegistration
                   ? service_->RegisterVerify(email, OtherCode(code), client)
                   : service_->LoginVerify(email, OtherCode(code), client);
      ASSERT_EQ(r.status().code(), StatusCode::kUnauthenticated) << client << " try " << i;
    }
  }

  std::string CodeFor(const std::string& email) {
    auto code = mailer_.LastCodeFor(email);
    EXPECT_TRUE(code.has_value()) << "no code mailed to " << email;
    return code.value_or("");
  }

  Result<TokenResult> Register(const std::string& username, const std::string& email,
                               const std::string& password = "hunter2") {
    auto init = service_->RegisterInit(username, password, email, "10.0.0.1");
    if (!init.ok()) return init.status();
    return service_->RegisterVerify(email, CodeFor(email), kHere);
  }

  Result<TokenResult> Login(const std::string& username, const std::string& password = "hunter2") {
    auto init = service_->LoginInit(username, password, "10.0.0.1");
    if (!init.ok()) return init.status();
    return service_->LoginVerify(init->email, CodeFor(init->email), kHere);
  }

  void ExpectUnauthenticated(const Result<Identity>& r, const char* why) {
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << why;
  }

  nexus::testing::FakeClock clock_;
  nexus::testing::TempDir dir_;
  const std::string db_path_ = dir_ / "auth.db";
  AuthConfig config_;
  RecordingMailer mailer_;
  PasswordHasher passwords_{PasswordHashLimits::ForTests()};
  OtpHasher otp_{std::string(32, 'o')};
  std::unique_ptr<UserStore> store_;
  std::unique_ptr<JwtSigner> jwt_;
  std::unique_ptr<RateLimiter> ip_limiter_;
  std::unique_ptr<RateLimiter> verify_limiter_;
  std::unique_ptr<RateLimiter> account_limiter_;
  std::unique_ptr<FailureBackoff> login_backoff_;
  std::unique_ptr<AuthService> service_;
};

}  // namespace nexus::auth
