// AuthService registration and login: the two-step flows, what they accept
// and refuse, what a failed mail leaves, and a second registration of a
// pending email.
#include <gtest/gtest.h>

#include "unit/auth/auth_service_rig.h"

namespace nexus::auth {
namespace {

TEST_F(AuthServiceTest, RegisterThenLoginIssuesWorkingTokens) {
  auto init = service_->RegisterInit("alice", "hunter2", kAliceEmail, "10.0.0.1");
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  EXPECT_EQ(*init, "OTP sent to email");
  ASSERT_EQ(mailer_.count(), 1u);
  auto mail = mailer_.sent()[0];
  EXPECT_EQ(mail.to, kAliceEmail);
  EXPECT_EQ(mail.subject, "Your Nexus code");
  EXPECT_NE(mail.body.find("valid for 5 minutes"), std::string::npos) << mail.body;

  auto reg = service_->RegisterVerify(kAliceEmail, CodeFor(kAliceEmail), kHere);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->username, "alice");
  EXPECT_EQ(reg->expires_at, clock_.NowSeconds() + 24 * 3600);
  EXPECT_FALSE(store_->FindPending(kAliceEmail)->has_value());

  auto id = service_->ValidateToken(reg->token);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->username, "alice");
  EXPECT_EQ(id->email, kAliceEmail);
  EXPECT_EQ(id->created_at, clock_.NowSeconds());
  EXPECT_EQ(id->expires_at, reg->expires_at);
  EXPECT_FALSE(id->user_id.empty());
  EXPECT_FALSE(id->jti.empty());

  clock_.AdvanceSeconds(60);
  auto login_init = service_->LoginInit("alice", "hunter2", "10.0.0.1");
  ASSERT_TRUE(login_init.ok()) << login_init.status().ToString();
  EXPECT_EQ(login_init->message, "OTP sent to alice@example.com");
  EXPECT_EQ(login_init->email, kAliceEmail);
  auto login = service_->LoginVerify(kAliceEmail, CodeFor(kAliceEmail), kHere);
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(login->username, "alice");
  auto id2 = service_->ValidateToken(login->token);
  ASSERT_TRUE(id2.ok());
  EXPECT_EQ(id2->user_id, id->user_id);
  EXPECT_NE(id2->jti, id->jti);
}

TEST_F(AuthServiceTest, EmailAndUsernameMatchIgnoringCase) {
  auto init = service_->RegisterInit("Alice", "hunter2", "Alice@Example.COM", "");
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  auto reg = service_->RegisterVerify("ALICE@example.com", CodeFor(kAliceEmail), kHere);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->username, "Alice");

  auto login = Login("alice");
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(login->username, "Alice");  // the stored spelling
}

TEST_F(AuthServiceTest, RegisterInitRejectsBadInputNamingTheField) {
  struct Case {
    const char* username;
    const char* password;
    const char* email;
    const char* field;
  } cases[] = {
      {"", "hunter2", "a@example.com", "username"},
      {"ab", "hunter2", "a@example.com", "username"},
      {"bad name", "hunter2", "a@example.com", "username"},
      {"alice", "hunter2", "", "email"},
      {"alice", "hunter2", "not-an-email", "email"},
      {"alice", "", "a@example.com", "password"},
      {"alice", "12345", "a@example.com", "password"},
  };
  for (const auto& c : cases) {
    auto r = service_->RegisterInit(c.username, c.password, c.email, "10.0.0.1");
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(r.status().message().find(c.field), std::string::npos) << r.status().ToString();
  }
  EXPECT_EQ(mailer_.count(), 0u);
}

TEST_F(AuthServiceTest, DuplicateUsernameOrEmailIsAlreadyExists) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  struct Case {
    const char* username;
    const char* email;
  } cases[] = {
      {"alice", "other@example.com"},
      {"ALICE", "other@example.com"},
      {"bob", "alice@example.com"},
      {"bob", "Alice@Example.com"},
  };
  for (const auto& c : cases) {
    auto r = service_->RegisterInit(c.username, "hunter2", c.email, "10.0.0.2");
    ASSERT_FALSE(r.ok()) << c.username << " " << c.email;
    EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists) << r.status().ToString();
  }
}

TEST_F(AuthServiceTest, UsernameTakenBetweenInitAndVerifyIsAlreadyExists) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", "a1@example.com", "").ok());
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", "a2@example.com", "").ok());
  ASSERT_TRUE(service_->RegisterVerify("a1@example.com", CodeFor("a1@example.com"), kHere).ok());
  auto second = service_->RegisterVerify("a2@example.com", CodeFor("a2@example.com"), kHere);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(store_->FindPending("a2@example.com")->has_value());
}

TEST_F(AuthServiceTest, ExpiredCodeIsRejected) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const std::string code = CodeFor(kAliceEmail);
  clock_.AdvanceSeconds(config_.otp_ttl_seconds);
  auto r = service_->RegisterVerify(kAliceEmail, code, kHere);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "invalid or expired code");
  EXPECT_FALSE(store_->FindPending(kAliceEmail)->has_value());
}

TEST_F(AuthServiceTest, CodeForUnknownEmailIsInvalid) {
  auto r = service_->RegisterVerify("nobody@example.com", "123456", kHere);
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  auto l = service_->LoginVerify("nobody@example.com", "123456", kHere);
  EXPECT_EQ(l.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, FailedMailLeavesNoPendingRowAndAllowsImmediateRetry) {
  mailer_.set_fail(true);
  auto r = service_->RegisterInit("alice", "hunter2", kAliceEmail, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUpstreamFailed);
  EXPECT_FALSE(store_->FindPending(kAliceEmail)->has_value());

  mailer_.set_fail(false);
  EXPECT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
}

TEST_F(AuthServiceTest, FailedLoginMailLeavesNoChallenge) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  mailer_.set_fail(true);
  auto r = service_->LoginInit("alice", "hunter2", "");
  EXPECT_EQ(r.status().code(), StatusCode::kUpstreamFailed);
  EXPECT_FALSE(store_->FindChallenge(kAliceEmail)->has_value());
  mailer_.set_fail(false);
  EXPECT_TRUE(service_->LoginInit("alice", "hunter2", "").ok());
}

TEST_F(AuthServiceTest, UnknownUserAndWrongPasswordGetTheSameAnswer) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  const size_t mails = mailer_.count();
  auto wrong = service_->LoginInit("alice", "wrong-password", "");
  auto unknown = service_->LoginInit("nobody", "hunter2", "");
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().code(), wrong.status().code());
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  EXPECT_EQ(wrong.status().message(), "invalid username or password");
  EXPECT_EQ(mailer_.count(), mails);
}

TEST_F(AuthServiceTest, ASecondInitForAPendingEmailKeepsItsUsernameAndPassword) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  const std::string first = CodeFor(kAliceEmail);
  const auto before = **store_->FindPending(kAliceEmail);
  clock_.AdvanceSeconds(config_.resend_cooldown_seconds);

  auto second = service_->RegisterInit("mallory", "other-pw", kAliceEmail, "198.51.100.1");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, "OTP sent to email");
  ASSERT_EQ(mailer_.count(), 2u);
  EXPECT_EQ(mailer_.sent()[1].to, kAliceEmail);
  EXPECT_NE(mailer_.sent()[1].body.find("\"alice\""), std::string::npos) << mailer_.sent()[1].body;
  const auto after = **store_->FindPending(kAliceEmail);
  EXPECT_EQ(after.username, "alice");
  EXPECT_EQ(after.password_hash, before.password_hash);
  EXPECT_EQ(after.otp_expires_at, clock_.NowSeconds() + config_.otp_ttl_seconds);

  // The new code confirms alice's registration; the old one is replaced.
  const std::string code = CodeFor(kAliceEmail);
  if (code != first) {
    EXPECT_EQ(service_->RegisterVerify(kAliceEmail, first, kHere).status().code(),
              StatusCode::kUnauthenticated);
  }
  auto reg = service_->RegisterVerify(kAliceEmail, code, kHere);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->username, "alice");
  EXPECT_FALSE(store_->FindUserByUsername("mallory")->has_value());
  clock_.AdvanceSeconds(config_.resend_cooldown_seconds);
  EXPECT_TRUE(Login("alice", "hunter2").ok());
}

TEST_F(AuthServiceTest, ASecondInitWithinTheCooldownChangesNothing) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  auto second = service_->RegisterInit("mallory", "other-pw", kAliceEmail, "198.51.100.1");
  ASSERT_EQ(second.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(mailer_.count(), 1u);
  auto reg = service_->RegisterVerify(kAliceEmail, code, kHere);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->username, "alice");
}

TEST_F(AuthServiceTest, AnExpiredPendingRegistrationIsReplaced) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  clock_.AdvanceSeconds(config_.otp_ttl_seconds);
  ASSERT_TRUE(service_->RegisterInit("alice2", "other-pw", kAliceEmail, kHere).ok());
  EXPECT_NE(mailer_.sent().back().body.find("\"alice2\""), std::string::npos);
  auto reg = service_->RegisterVerify(kAliceEmail, CodeFor(kAliceEmail), kHere);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->username, "alice2");
}

}  // namespace
}  // namespace nexus::auth
