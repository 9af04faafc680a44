// AuthService rate limits: per-address limits on the init and verify
// routes, resend cooldowns, the per-account cap, and the slow-down after
// wrong passwords.
#include <gtest/gtest.h>

#include "unit/auth/auth_service_rig.h"

namespace nexus::auth {
namespace {

TEST_F(AuthServiceTest, VerifyRoutesAreRateLimitedPerAddress) {
  config_.verify_ip_rate_burst = 3;
  config_.verify_ip_rate_refill_seconds = 60;
  Build();
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(
        service_->LoginVerify("x" + std::to_string(i) + "@example.com", "123456", "198.51.100.1")
            .status()
            .code(),
        StatusCode::kUnauthenticated);
  }
  // Both verify routes draw on one bucket per address; the right code is no
  // exception, and the init routes have their own.
  auto limited = service_->RegisterVerify(kAliceEmail, code, "198.51.100.1");
  ASSERT_EQ(limited.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(limited.status().retry_after_seconds(), 60);
  EXPECT_TRUE(service_->RegisterInit("bob", "hunter2", "bob@example.com", "198.51.100.1").ok());
  EXPECT_TRUE(service_->RegisterVerify(kAliceEmail, code, kHere).ok());
}

TEST_F(AuthServiceTest, ResendWithinCooldownIsRateLimitedWithRetryAfter) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const std::string first = CodeFor(kAliceEmail);
  clock_.AdvanceSeconds(10);
  auto again = service_->RegisterInit("alice", "hunter2", kAliceEmail, "");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(again.status().retry_after_seconds(), 20);
  EXPECT_EQ(mailer_.count(), 1u);

  clock_.AdvanceSeconds(20);
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const std::string second = CodeFor(kAliceEmail);
  if (first != second) {  // the new code replaces the old one
    EXPECT_EQ(service_->RegisterVerify(kAliceEmail, first, kHere).status().code(),
              StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(service_->RegisterVerify(kAliceEmail, second, kHere).ok());
}

TEST_F(AuthServiceTest, LoginResendWithinCooldownIsRateLimited) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", "").ok());
  clock_.AdvanceSeconds(5);
  auto again = service_->LoginInit("alice", "hunter2", "");
  EXPECT_EQ(again.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(again.status().retry_after_seconds(), 25);
}

TEST_F(AuthServiceTest, InitRoutesAreRateLimitedPerIp) {
  config_.ip_rate_burst = 2;
  config_.ip_rate_refill_seconds = 30;
  Build();
  ASSERT_TRUE(service_->RegisterInit("user1", "hunter2", "u1@example.com", "10.9.9.9").ok());
  ASSERT_TRUE(service_->RegisterInit("user2", "hunter2", "u2@example.com", "10.9.9.9").ok());
  auto third = service_->RegisterInit("user3", "hunter2", "u3@example.com", "10.9.9.9");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(third.status().retry_after_seconds(), 30);
  // Another address is not affected; the same one is after the refill.
  EXPECT_TRUE(service_->RegisterInit("user3", "hunter2", "u3@example.com", "10.8.8.8").ok());
  clock_.AdvanceSeconds(30);
  EXPECT_TRUE(service_->RegisterInit("user4", "hunter2", "u4@example.com", "10.9.9.9").ok());
}

TEST_F(AuthServiceTest, WrongPasswordsFromOtherAddressesDoNotLockTheOwnerOut) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  for (int a = 0; a < 3; ++a) {
    for (int i = 0; i < 8; ++i) {
      auto r = service_->LoginInit("alice", "guess" + std::to_string(i),
                                   "198.51.100." + std::to_string(a));
      ASSERT_FALSE(r.ok());
    }
  }
  auto r = service_->LoginInit("alice", "hunter2", kHere);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(AuthServiceTest, WrongPasswordsAreSlowedDownPerAccountAndAddress) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  ASSERT_TRUE(Register("bob", "bob@example.com").ok());
  const std::string attacker = "198.51.100.9";
  for (int i = 0; i < config_.login_failure_burst; ++i) {
    EXPECT_EQ(service_->LoginInit("alice", "guess", attacker).status().code(),
              StatusCode::kUnauthenticated)
        << i;
  }
  // The sixth try waits 1 s, even with the right password...
  auto r = service_->LoginInit("Alice", "hunter2", attacker);
  ASSERT_EQ(r.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(r.status().retry_after_seconds(), 1);
  // ...while other accounts from that address, and the account from other
  // addresses, are not slowed.
  EXPECT_TRUE(service_->LoginInit("bob", "hunter2", attacker).ok());
  EXPECT_TRUE(service_->LoginInit("alice", "hunter2", kHere).ok());

  // Each further failure doubles the wait.
  clock_.AdvanceSeconds(1);
  EXPECT_EQ(service_->LoginInit("alice", "guess", attacker).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->LoginInit("alice", "guess", attacker).status().retry_after_seconds(), 2);
  clock_.AdvanceSeconds(2);
  EXPECT_EQ(service_->LoginInit("alice", "guess", attacker).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->LoginInit("alice", "guess", attacker).status().retry_after_seconds(), 4);
}

TEST_F(AuthServiceTest, UnknownUsersAreSlowedDownLikeKnownOnes) {
  for (int i = 0; i < config_.login_failure_burst; ++i) {
    EXPECT_EQ(service_->LoginInit("nobody", "guess", kHere).status().code(),
              StatusCode::kUnauthenticated);
  }
  auto r = service_->LoginInit("nobody", "guess", kHere);
  EXPECT_EQ(r.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(r.status().message(),
            "too many failed logins for this account from this address; retry later");
}

TEST_F(AuthServiceTest, TheAccountCapCountsOnlyCodesMailed) {
  config_.account_rate_burst = 2;
  config_.account_rate_refill_seconds = 600;
  Build();
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());  // a code mailed to the email
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(
        service_->LoginInit("alice", "guess", "198.51.100." + std::to_string(i)).status().code(),
        StatusCode::kUnauthenticated);
  }
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", kHere).ok());
  clock_.AdvanceSeconds(config_.resend_cooldown_seconds);
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", kHere).ok());
  clock_.AdvanceSeconds(config_.resend_cooldown_seconds);
  auto third = service_->LoginInit("alice", "hunter2", "10.0.0.2");
  ASSERT_EQ(third.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(third.status().message(), "too many codes sent for this account; retry later");
  EXPECT_EQ(mailer_.count(), 3u);
}

}  // namespace
}  // namespace nexus::auth
