#include "auth/app_password_secret.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace nexus::auth {
namespace {

TEST(AppPasswordSecretTest, GeneratedSecretsAreEightGroupsOfBase32AndNeverRepeat) {
  const std::regex shape("([a-z2-7]{4}-){7}[a-z2-7]{4}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string s = GenerateAppPassword();
    EXPECT_TRUE(std::regex_match(s, shape)) << s;
    EXPECT_TRUE(seen.insert(s).second) << s;
  }
}

TEST(AppPasswordSecretTest, EveryBase32CharacterTurnsUpInEveryPosition) {
  // 32 positions x 32 symbols: a wrong bit split in the encoder (a symbol that
  // can never appear, or a position stuck) shows here; 4000 draws make a miss
  // by chance about 1e-50 likely.
  std::vector<std::set<char>> at(kAppPasswordCanonicalLength);
  for (int i = 0; i < 4000; ++i) {
    std::string c = *CanonicalAppPassword(GenerateAppPassword());
    for (size_t p = 0; p < c.size(); ++p) at[p].insert(c[p]);
  }
  for (size_t p = 0; p < at.size(); ++p) EXPECT_EQ(at[p].size(), 32u) << "position " << p;
}

TEST(AppPasswordSecretTest, CanonicalFormDropsDashesAndSpacesAndFoldsCase) {
  const std::string display = "abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567";
  const std::string canonical = "abcdefghijklmnopqrstuvwxyz234567";
  const std::string same[] = {display, canonical, "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567",
                              "abcd efgh ijkl mnop qrst uvwx yz23 4567", "-" + canonical + "-"};
  for (const std::string& typed : same) {
    auto c = CanonicalAppPassword(typed);
    ASSERT_TRUE(c.has_value()) << typed;
    EXPECT_EQ(*c, canonical) << typed;
  }
}

TEST(AppPasswordSecretTest, AnythingElseHasNoCanonicalForm) {
  const std::string bad[] = {
      "",
      "hunter2",
      "abcdefghijklmnopqrstuvwxyz23456",    // 31
      "abcdefghijklmnopqrstuvwxyz2345677",  // 33
      "abcdefghijklmnopqrstuvwxyz234561",   // '1' is not base32
      "abcdefghijklmnopqrstuvwxyz23456=",
      std::string("abcdefghijklmnopqrstuvwxyz23456\0", 32),
      "abcdefghijklmnopqrstuvwxyz23456\xC3\xA9",
  };
  for (const std::string& typed : bad) EXPECT_FALSE(CanonicalAppPassword(typed)) << typed;
}

TEST(AppPasswordSecretTest, HashIsKeyedHexAndDependsOnTheKey) {
  AppPasswordHasher a(std::string(32, 'a'));
  AppPasswordHasher b(std::string(32, 'b'));
  const std::string secret = "abcdefghijklmnopqrstuvwxyz234567";
  const std::string h = a.Hash(secret);
  EXPECT_TRUE(std::regex_match(h, std::regex("[0-9a-f]{64}"))) << h;
  EXPECT_EQ(a.Hash(secret), h);
  EXPECT_NE(b.Hash(secret), h);
  EXPECT_NE(a.Hash("bbcdefghijklmnopqrstuvwxyz234567"), h);
}

}  // namespace
}  // namespace nexus::auth
