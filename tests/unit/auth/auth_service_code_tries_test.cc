// AuthService one-time codes under guessing: wrong tries are counted per
// client address (IPv6 per /64) and in total, in parallel too.
#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

#include "unit/auth/auth_service_rig.h"

namespace nexus::auth {
namespace {

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

}  // namespace
}  // namespace nexus::auth
