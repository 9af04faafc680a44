#include "auth/auth_service.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "support/auth_fake_mailer.h"
#include "support/auth_temp_dir.h"
#include "support/fake_clock.h"

namespace nexus::auth {
namespace {

using nexus::testing::RecordingMailer;

const std::string kJwtKey(32, 'j');
const std::string kAliceEmail = "alice@example.com";

std::string B64Url(const std::string& s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// A code that differs from `code` (same length, digits only).
std::string OtherCode(const std::string& code) {
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
    account_limiter_ = std::make_unique<RateLimiter>(
        clock_, BucketPolicy{config_.account_rate_burst, config_.account_rate_refill_seconds});
    service_ = std::make_unique<AuthService>(
        config_, AuthService::Deps{clock_, *store_, mailer_, passwords_, otp_, *jwt_, *ip_limiter_,
                                   *account_limiter_});
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
    return service_->RegisterVerify(email, CodeFor(email));
  }

  Result<TokenResult> Login(const std::string& username, const std::string& password = "hunter2") {
    auto init = service_->LoginInit(username, password, "10.0.0.1");
    if (!init.ok()) return init.status();
    return service_->LoginVerify(init->email, CodeFor(init->email));
  }

  void ExpectUnauthenticated(const Result<Identity>& r, const char* why) {
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << why;
  }

  nexus::testing::FakeClock clock_;
  nexus::testing::AuthTempDir dir_;
  const std::string db_path_ = dir_ / "auth.db";
  AuthConfig config_;
  RecordingMailer mailer_;
  PasswordHasher passwords_{PasswordHashLimits::ForTests()};
  OtpHasher otp_{std::string(32, 'o')};
  std::unique_ptr<UserStore> store_;
  std::unique_ptr<JwtSigner> jwt_;
  std::unique_ptr<RateLimiter> ip_limiter_;
  std::unique_ptr<RateLimiter> account_limiter_;
  std::unique_ptr<AuthService> service_;
};

TEST_F(AuthServiceTest, RegisterThenLoginIssuesWorkingTokens) {
  auto init = service_->RegisterInit("alice", "hunter2", kAliceEmail, "10.0.0.1");
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  EXPECT_EQ(*init, "OTP sent to email");
  ASSERT_EQ(mailer_.count(), 1u);
  auto mail = mailer_.sent()[0];
  EXPECT_EQ(mail.to, kAliceEmail);
  EXPECT_EQ(mail.subject, "Your Nexus code");
  EXPECT_NE(mail.body.find("valid for 5 minutes"), std::string::npos) << mail.body;

  auto reg = service_->RegisterVerify(kAliceEmail, CodeFor(kAliceEmail));
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
  auto login = service_->LoginVerify(kAliceEmail, CodeFor(kAliceEmail));
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
  auto reg = service_->RegisterVerify("ALICE@example.com", CodeFor(kAliceEmail));
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
  ASSERT_TRUE(service_->RegisterVerify("a1@example.com", CodeFor("a1@example.com")).ok());
  auto second = service_->RegisterVerify("a2@example.com", CodeFor("a2@example.com"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(store_->FindPending("a2@example.com")->has_value());
}

TEST_F(AuthServiceTest, FiveWrongCodesVoidTheRegistrationCode) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const std::string code = CodeFor(kAliceEmail);
  for (int i = 0; i < 5; ++i) {
    auto r = service_->RegisterVerify(kAliceEmail, OtherCode(code));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(r.status().message(), "invalid or expired code");
  }
  EXPECT_FALSE(store_->FindPending(kAliceEmail)->has_value());
  auto late = service_->RegisterVerify(kAliceEmail, code);
  EXPECT_EQ(late.status().code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(store_->FindUserByUsername("alice")->has_value());
}

TEST_F(AuthServiceTest, RightCodeAfterFourWrongOnesStillWorks) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const std::string code = CodeFor(kAliceEmail);
  for (int i = 0; i < 4; ++i)
    ASSERT_FALSE(service_->RegisterVerify(kAliceEmail, OtherCode(code)).ok());
  EXPECT_EQ((*store_->FindPending(kAliceEmail))->attempts, 4);
  EXPECT_TRUE(service_->RegisterVerify(kAliceEmail, code).ok());
}

TEST_F(AuthServiceTest, MalformedCodesCountAsWrong) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const char* cases[] = {"abcdef", "12345", "1234567", " 123456"};
  for (const char* c : cases) {
    EXPECT_EQ(service_->RegisterVerify(kAliceEmail, c).status().code(),
              StatusCode::kUnauthenticated)
        << c;
  }
  EXPECT_EQ((*store_->FindPending(kAliceEmail))->attempts, 4);
  EXPECT_EQ(service_->RegisterVerify(kAliceEmail, "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(AuthServiceTest, ExpiredCodeIsRejected) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const std::string code = CodeFor(kAliceEmail);
  clock_.AdvanceSeconds(config_.otp_ttl_seconds);
  auto r = service_->RegisterVerify(kAliceEmail, code);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "invalid or expired code");
  EXPECT_FALSE(store_->FindPending(kAliceEmail)->has_value());
}

TEST_F(AuthServiceTest, CodeForUnknownEmailIsInvalid) {
  auto r = service_->RegisterVerify("nobody@example.com", "123456");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  auto l = service_->LoginVerify("nobody@example.com", "123456");
  EXPECT_EQ(l.status().code(), StatusCode::kUnauthenticated);
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
    EXPECT_EQ(service_->RegisterVerify(kAliceEmail, first).status().code(),
              StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(service_->RegisterVerify(kAliceEmail, second).ok());
}

TEST_F(AuthServiceTest, LoginResendWithinCooldownIsRateLimited) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", "").ok());
  clock_.AdvanceSeconds(5);
  auto again = service_->LoginInit("alice", "hunter2", "");
  EXPECT_EQ(again.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(again.status().retry_after_seconds(), 25);
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

TEST_F(AuthServiceTest, FiveWrongLoginCodesVoidTheChallenge) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", "").ok());
  const std::string code = CodeFor(kAliceEmail);
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(service_->LoginVerify(kAliceEmail, OtherCode(code)).ok());
  EXPECT_EQ(service_->LoginVerify(kAliceEmail, code).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, ParallelWrongGuessesAreAllCounted) {
  // A lost update (two guesses reading the same count) would let an attacker
  // try more than otp_max_attempts codes by sending them at once.
  constexpr int kThreads = 4;
  for (int round = 0; round < 50; ++round) {
    const std::string email = "user" + std::to_string(round) + "@example.com";
    ASSERT_TRUE(service_->RegisterInit("user" + std::to_string(round), "hunter2", email, "").ok());
    const std::string wrong = OtherCode(CodeFor(email));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        (void)service_->RegisterVerify(email, wrong);
      });
    }
    for (auto& t : threads) t.join();
    auto pending = store_->FindPending(email);
    ASSERT_TRUE(pending.ok() && pending->has_value());
    ASSERT_EQ((*pending)->attempts, kThreads) << "round " << round;
  }
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

TEST_F(AuthServiceTest, PasswordGuessingIsRateLimitedPerAccountAcrossAddresses) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  for (int i = 0; i < config_.account_rate_burst; ++i) {
    auto r =
        service_->LoginInit("alice", "guess" + std::to_string(i), "10.1.0." + std::to_string(i));
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << i;
  }
  auto r = service_->LoginInit("alice", "hunter2", "10.2.0.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(r.status().retry_after_seconds(), config_.account_rate_refill_seconds);
}

TEST_F(AuthServiceTest, ExpiredTokenIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  clock_.AdvanceSeconds(24 * 3600);
  ExpectUnauthenticated(service_->ValidateToken(t->token), "expired");
}

TEST_F(AuthServiceTest, TamperedTokenIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  std::string token = t->token;
  const auto dot = token.find('.');
  token[dot + 3] = token[dot + 3] == 'a' ? 'b' : 'a';  // inside the payload
  ExpectUnauthenticated(service_->ValidateToken(token), "tampered payload");
}

TEST_F(AuthServiceTest, AlgNoneTokenIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  auto id = service_->ValidateToken(t->token);
  ASSERT_TRUE(id.ok());
  const int64_t now = clock_.NowSeconds();
  const std::string header = B64Url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload =
      B64Url(R"({"sub":")" + id->user_id + R"(","username":"alice","jti":"forged","iat":)" +
             std::to_string(now) + R"(,"exp":)" + std::to_string(now + 3600) + "}");
  ExpectUnauthenticated(service_->ValidateToken(header + "." + payload + "."), "alg none");
}

TEST_F(AuthServiceTest, TokenSignedWithAnotherKeyIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  auto id = service_->ValidateToken(t->token);
  ASSERT_TRUE(id.ok());
  JwtSigner other(std::string(32, 'x'), clock_, 3600);
  auto forged = other.Sign(id->user_id, "alice");
  ASSERT_TRUE(forged.ok());
  ExpectUnauthenticated(service_->ValidateToken(forged->token), "other key");
}

TEST_F(AuthServiceTest, LogoutRevokesTheTokenEvenAfterRestart) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  auto other = Login("alice");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(service_->Logout(t->token).ok());
  ExpectUnauthenticated(service_->ValidateToken(t->token), "revoked");
  EXPECT_TRUE(service_->ValidateToken(other->token).ok());  // only that token

  service_.reset();
  store_.reset();
  auto reopened = UserStore::Open(db_path_);
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(reopened).value();
  Build();
  ExpectUnauthenticated(service_->ValidateToken(t->token), "revoked after restart");
  EXPECT_TRUE(service_->ValidateToken(other->token).ok());
}

TEST_F(AuthServiceTest, TokenOfDeletedUserIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  {
    SQLite::Database db(db_path_, SQLite::OPEN_READWRITE);
    db.exec("DELETE FROM users WHERE username = 'alice'");
  }
  ExpectUnauthenticated(service_->ValidateToken(t->token), "deleted user");
}

TEST_F(AuthServiceTest, LogoutOfInvalidTokenIsUnauthenticated) {
  EXPECT_EQ(service_->Logout("garbage").code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, GetUserReturnsProfileOrNotFound) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  auto u = service_->GetUser("alice");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->username, "alice");
  EXPECT_EQ(u->email, kAliceEmail);
  EXPECT_EQ(u->created_at, clock_.NowSeconds());
  EXPECT_FALSE(u->id.empty());
  EXPECT_EQ(service_->GetUser("nobody").status().code(), StatusCode::kNotFound);
}

TEST_F(AuthServiceTest, HealthIsOk) { EXPECT_TRUE(service_->Health().ok()); }

}  // namespace
}  // namespace nexus::auth
