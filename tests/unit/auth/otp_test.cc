#include "auth/otp.h"

#include <gtest/gtest.h>

#include <set>

namespace nexus::auth {
namespace {

const std::string kSecret(32, 'k');

TEST(GenerateOtpTest, ProducesSixDigits) {
  for (int i = 0; i < 1000; ++i) {
    std::string code = GenerateOtp();
    ASSERT_EQ(code.size(), 6u);
    for (char c : code) ASSERT_TRUE(c >= '0' && c <= '9') << code;
  }
}

TEST(GenerateOtpTest, CodesVary) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(GenerateOtp());
  // 200 draws from 10^6: a repeat is possible but more than a few is not.
  EXPECT_GT(seen.size(), 190u);
}

TEST(OtpHasherTest, HashIsKeyedAndDeterministic) {
  OtpHasher a(kSecret), b(std::string(32, 'x'));
  EXPECT_EQ(a.Hash("123456"), a.Hash("123456"));
  EXPECT_NE(a.Hash("123456"), a.Hash("123457"));
  EXPECT_NE(a.Hash("123456"), b.Hash("123456"));
  EXPECT_EQ(a.Hash("123456").size(), 64u);
  EXPECT_EQ(a.Hash("123456").find("123456"), std::string::npos);
}

TEST(OtpHasherTest, MatchesOnlyTheHashedCode) {
  OtpHasher h(kSecret);
  const std::string stored = h.Hash("042042");
  EXPECT_TRUE(h.Matches(stored, "042042"));
  EXPECT_FALSE(h.Matches(stored, "42042"));
  EXPECT_FALSE(h.Matches(stored, "042043"));
  EXPECT_FALSE(h.Matches(stored, ""));
  EXPECT_FALSE(h.Matches("", "042042"));
  EXPECT_FALSE(h.Matches(stored.substr(0, 10), "042042"));
}

TEST(CheckOtpTest, AppliesExpiryAttemptsAndCode) {
  OtpHasher h(kSecret);
  const OtpPolicy policy{300, 5, 20};
  const int64_t now = 1000;
  const std::string good = h.Hash("111111");
  struct Case {
    const char* name;
    OtpState state;  // hash, expiry, total wrong tries, wrong tries from this address
    const char* code;
    OtpVerdict want;
  } cases[] = {
      {"right code in time", {good, now + 1, 0, 0}, "111111", OtpVerdict::kAccepted},
      {"right code after 4 wrong tries from here",
       {good, now + 1, 4, 4},
       "111111",
       OtpVerdict::kAccepted},
      {"right code after 19 wrong tries elsewhere",
       {good, now + 1, 19, 0},
       "111111",
       OtpVerdict::kAccepted},
      {"wrong code, tries left", {good, now + 1, 0, 0}, "222222", OtpVerdict::kWrong},
      {"wrong code, this address's last try", {good, now + 1, 4, 4}, "222222", OtpVerdict::kWrong},
      {"right code, this address has no tries left",
       {good, now + 1, 5, 5},
       "111111",
       OtpVerdict::kAddressExhausted},
      {"wrong code, this address has no tries left",
       {good, now + 1, 5, 5},
       "222222",
       OtpVerdict::kAddressExhausted},
      {"wrong code uses the last of the total",
       {good, now + 1, 19, 0},
       "222222",
       OtpVerdict::kExhausted},
      {"right code but the total is used up",
       {good, now + 1, 20, 0},
       "111111",
       OtpVerdict::kExhausted},
      {"right code at expiry", {good, now, 0, 0}, "111111", OtpVerdict::kExpired},
      {"right code after expiry", {good, now - 1, 0, 0}, "111111", OtpVerdict::kExpired},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CheckOtp(h, policy, c.state, c.code, now), c.want) << c.name;
  }
}

}  // namespace
}  // namespace nexus::auth
