#include "auth/crypto.h"

#include <gtest/gtest.h>

#include <regex>

namespace nexus::auth {
namespace {

TEST(CryptoTest, RandomBytesHaveTheAskedLengthAndDiffer) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(16), RandomBytes(16));
}

TEST(CryptoTest, HexEncodesEveryByte) {
  EXPECT_EQ(ToHex(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(ToHex(""), "");
}

TEST(CryptoTest, UuidsAreVersion4AndUnique) {
  static const std::regex kV4(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::string a = NewUuid(), b = NewUuid();
  EXPECT_TRUE(std::regex_match(a, kV4)) << a;
  EXPECT_NE(a, b);
}

TEST(CryptoTest, SubkeysDependOnKeyAndContext) {
  const std::string k1(32, 'a'), k2(32, 'b');
  EXPECT_EQ(DeriveSubkey(k1, "otp").size(), 32u);
  EXPECT_EQ(DeriveSubkey(k1, "otp"), DeriveSubkey(k1, "otp"));
  EXPECT_NE(DeriveSubkey(k1, "otp"), DeriveSubkey(k1, "jwt"));
  EXPECT_NE(DeriveSubkey(k1, "otp"), DeriveSubkey(k2, "otp"));
  EXPECT_NE(DeriveSubkey(k1, "otp"), k1);
}

}  // namespace
}  // namespace nexus::auth
