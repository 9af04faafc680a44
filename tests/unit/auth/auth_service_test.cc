#include "auth/auth_service.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <cstring>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "support/auth_fake_mailer.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace nexus::auth {
namespace {

using nexus::testing::RecordingMailer;

const std::string kJwtKey(32, 'j');
const std::string kAliceEmail = "alice@example.com";
// The client address of most calls; attacks come from others.
const std::string kHere = "10.0.0.1";

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

TEST_F(AuthServiceTest, FiveWrongCodesFromOneAddressEndThatAddresssTries) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  for (int i = 0; i < 5; ++i) {
    auto r = service_->RegisterVerify(kAliceEmail, OtherCode(code), kHere);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(r.status().message(), "invalid or expired code");
  }
  // Even the right code is refused from there, with the same answer...
  auto late = service_->RegisterVerify(kAliceEmail, code, kHere);
  EXPECT_EQ(late.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(late.status().message(), "invalid or expired code");
  EXPECT_FALSE(store_->FindUserByUsername("alice")->has_value());
  EXPECT_EQ((*store_->FindPending(kAliceEmail))->attempts, 5);  // ...and not counted
  // ...but the code is not void for the other addresses.
  auto elsewhere = service_->RegisterVerify(kAliceEmail, code, "10.0.0.2");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  EXPECT_EQ(elsewhere->username, "alice");
}

TEST_F(AuthServiceTest, WrongCodesFromOtherAddressesDoNotVoidTheRegistrationCode) {
  ASSERT_TRUE(service_->RegisterInit("bob", "hunter2", "bob@example.com", kHere).ok());
  const std::string code = CodeFor("bob@example.com");
  for (int a = 0; a < 4; ++a) {
    SendWrongCodes(CodePurpose::kRegistration, "bob@example.com", code,
                   "198.51.100." + std::to_string(a), 8);
  }
  EXPECT_EQ((*store_->FindPending("bob@example.com"))->attempts, 20);  // 5 counted per address
  auto r = service_->RegisterVerify("bob@example.com", code, kHere);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(AuthServiceTest, WrongCodesFromOtherAddressesDoNotVoidTheLoginCode) {
  ASSERT_TRUE(Register("bob", "bob@example.com").ok());
  ASSERT_TRUE(service_->LoginInit("bob", "hunter2", kHere).ok());
  const std::string code = CodeFor("bob@example.com");
  SendWrongCodes(CodePurpose::kLogin, "bob@example.com", code, "198.51.100.7", 8);
  auto r = service_->LoginVerify("bob@example.com", code, kHere);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->username, "bob");
}

TEST_F(AuthServiceTest, TheTotalOfWrongTriesVoidsTheCodeForEveryAddress) {
  config_.otp_max_attempts_total = 12;
  Build();
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  SendWrongCodes(CodePurpose::kRegistration, kAliceEmail, code, "198.51.100.1", 5);
  SendWrongCodes(CodePurpose::kRegistration, kAliceEmail, code, "198.51.100.2", 5);
  SendWrongCodes(CodePurpose::kRegistration, kAliceEmail, code, "198.51.100.3", 1);
  // Eleven wrong tries: the right code still works from anywhere...
  EXPECT_EQ((*store_->FindPending(kAliceEmail))->attempts, 11);
  SendWrongCodes(CodePurpose::kRegistration, kAliceEmail, code, "198.51.100.3", 1);
  // ...the twelfth makes it void.
  EXPECT_FALSE(store_->FindPending(kAliceEmail)->has_value());
  EXPECT_EQ(service_->RegisterVerify(kAliceEmail, code, kHere).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, RightCodeBelowTheTotalWorksFromAFreshAddress) {
  config_.otp_max_attempts_total = 12;
  Build();
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  SendWrongCodes(CodePurpose::kLogin, kAliceEmail, code, "198.51.100.1", 5);
  SendWrongCodes(CodePurpose::kLogin, kAliceEmail, code, "198.51.100.2", 5);
  SendWrongCodes(CodePurpose::kLogin, kAliceEmail, code, "198.51.100.3", 1);
  EXPECT_TRUE(service_->LoginVerify(kAliceEmail, code, "198.51.100.4").ok());
}

TEST_F(AuthServiceTest, IPv6ClientsShareTheTriesOfTheirSlash64) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  for (int i = 0; i < 5; ++i) {
    SendWrongCodes(CodePurpose::kRegistration, kAliceEmail, code,
                   "2001:db8:1:2::" + std::to_string(i + 1), 1);
  }
  // The same /64 is out of tries, whatever the interface identifier...
  EXPECT_EQ(service_->RegisterVerify(kAliceEmail, code, "2001:db8:1:2:ffff::9").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_TRUE(store_->FindPending(kAliceEmail)->has_value());
  // ...the next /64 is another client.
  EXPECT_TRUE(service_->RegisterVerify(kAliceEmail, code, "2001:db8:1:3::1").ok());
}

TEST_F(AuthServiceTest, AnIPv4MappedAddressIsItsIPv4Address) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  SendWrongCodes(CodePurpose::kRegistration, kAliceEmail, code, "::ffff:198.51.100.1", 5);
  EXPECT_EQ(service_->RegisterVerify(kAliceEmail, code, "198.51.100.1").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_TRUE(service_->RegisterVerify(kAliceEmail, code, kHere).ok());
}

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

TEST_F(AuthServiceTest, RightCodeAfterFourWrongOnesStillWorks) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const std::string code = CodeFor(kAliceEmail);
  for (int i = 0; i < 4; ++i)
    ASSERT_FALSE(service_->RegisterVerify(kAliceEmail, OtherCode(code), kHere).ok());
  EXPECT_EQ((*store_->FindPending(kAliceEmail))->attempts, 4);
  EXPECT_TRUE(service_->RegisterVerify(kAliceEmail, code, kHere).ok());
}

TEST_F(AuthServiceTest, MalformedCodesCountAsWrong) {
  ASSERT_TRUE(service_->RegisterInit("alice", "hunter2", kAliceEmail, "").ok());
  const char* cases[] = {"abcdef", "12345", "1234567", " 123456"};
  for (const char* c : cases) {
    EXPECT_EQ(service_->RegisterVerify(kAliceEmail, c, kHere).status().code(),
              StatusCode::kUnauthenticated)
        << c;
  }
  EXPECT_EQ((*store_->FindPending(kAliceEmail))->attempts, 4);
  EXPECT_EQ(service_->RegisterVerify(kAliceEmail, "", kHere).status().code(),
            StatusCode::kInvalidArgument);
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

TEST_F(AuthServiceTest, FiveWrongLoginCodesEndThatAddresssTries) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", kHere).ok());
  const std::string code = CodeFor(kAliceEmail);
  SendWrongCodes(CodePurpose::kLogin, kAliceEmail, code, kHere, 5);
  EXPECT_EQ(service_->LoginVerify(kAliceEmail, code, kHere).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_TRUE(service_->LoginVerify(kAliceEmail, code, "10.0.0.2").ok());
}

TEST_F(AuthServiceTest, ANewCodeStartsTheCountsAgain) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", kHere).ok());
  SendWrongCodes(CodePurpose::kLogin, kAliceEmail, CodeFor(kAliceEmail), kHere, 5);
  clock_.AdvanceSeconds(config_.resend_cooldown_seconds);
  ASSERT_TRUE(service_->LoginInit("alice", "hunter2", kHere).ok());
  EXPECT_EQ((*store_->FindChallenge(kAliceEmail))->attempts, 0);
  EXPECT_TRUE(service_->LoginVerify(kAliceEmail, CodeFor(kAliceEmail), kHere).ok());
}

TEST_F(AuthServiceTest, ParallelWrongGuessesAreAllCounted) {
  // A lost update (two guesses reading the same count) would let an attacker
  // try more than otp_max_attempts codes by sending them at once.
  constexpr int kThreads = 4;
  config_.verify_ip_rate_burst = 1000;  // 200 tries from one address
  Build();
  for (int round = 0; round < 50; ++round) {
    const std::string email = "user" + std::to_string(round) + "@example.com";
    ASSERT_TRUE(service_->RegisterInit("user" + std::to_string(round), "hunter2", email, "").ok());
    const std::string wrong = OtherCode(CodeFor(email));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        (void)service_->RegisterVerify(email, wrong, kHere);
      });
    }
    for (auto& t : threads) t.join();
    auto pending = store_->FindPending(email);
    ASSERT_TRUE(pending.ok() && pending->has_value());
    ASSERT_EQ((*pending)->attempts, kThreads) << "round " << round;
    ASSERT_EQ(*store_->WrongTriesFrom(CodePurpose::kRegistration, email, kHere), kThreads);
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

TEST_F(AuthServiceTest, ValidateTokenNeverWritesTheDatabase) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(service_->Logout(Login("alice")->token).ok());  // a revocation to look up
  const auto size_of = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
  };
  const int64_t wal = size_of(db_path_ + "-wal");
  ASSERT_GT(wal, 0);
  SQLite::Database watcher(db_path_, SQLite::OPEN_READONLY);
  const int64_t version = watcher.execAndGet("PRAGMA data_version").getInt64();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(service_->ValidateToken(t->token).ok());
  // data_version changes on the watcher's connection when any other
  // connection commits; the WAL grows with any write.
  EXPECT_EQ(watcher.execAndGet("PRAGMA data_version").getInt64(), version);
  EXPECT_EQ(size_of(db_path_ + "-wal"), wal);
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
