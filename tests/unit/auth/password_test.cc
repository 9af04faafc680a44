#include "auth/password.h"

#include <gtest/gtest.h>

namespace nexus::auth {
namespace {

class PasswordHasherTest : public ::testing::Test {
 protected:
  PasswordHasher hasher_{PasswordHashLimits::ForTests()};
};

TEST_F(PasswordHasherTest, HashIsArgon2idPhcString) {
  auto h = hasher_.Hash("hunter2");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u) << *h;
}

TEST_F(PasswordHasherTest, VerifiesTheRightPasswordOnly) {
  auto h = hasher_.Hash("hunter2");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(hasher_.Verify(*h, "hunter2"));
  EXPECT_FALSE(hasher_.Verify(*h, "hunter3"));
  EXPECT_FALSE(hasher_.Verify(*h, ""));
  EXPECT_FALSE(hasher_.Verify(*h, "hunter2 "));
}

TEST_F(PasswordHasherTest, SamePasswordHashesDifferentlyEachTime) {
  auto a = hasher_.Hash("hunter2");
  auto b = hasher_.Hash("hunter2");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);  // random salt
}

TEST_F(PasswordHasherTest, MalformedHashIsAMismatchNotACrash) {
  const char* cases[] = {"", "plain", "$argon2id$v=19$m=8,t=1,p=1$AAAA$BBBB", "$2b$10$abcdefg"};
  for (const char* hash : cases) EXPECT_FALSE(hasher_.Verify(hash, "hunter2")) << hash;
}

TEST_F(PasswordHasherTest, DummyVerifyAlwaysFails) {
  EXPECT_FALSE(hasher_.VerifyAgainstDummy("hunter2"));
  EXPECT_FALSE(hasher_.VerifyAgainstDummy(""));
}

TEST_F(PasswordHasherTest, HashMadeWithOtherLimitsStillVerifies) {
  PasswordHasher stronger(PasswordHashLimits{2, 1u << 20});
  auto h = stronger.Hash("hunter2");
  ASSERT_TRUE(h.ok());
  EXPECT_NE(h->find("m=1024,t=2"), std::string::npos) << *h;
  EXPECT_TRUE(hasher_.Verify(*h, "hunter2"));
}

TEST_F(PasswordHasherTest, ProductionLimitsAreAtLeastOwaspMinimum) {
  auto p = PasswordHashLimits::Production();
  EXPECT_GE(p.opslimit, 2u);
  EXPECT_GE(p.memlimit, 19u << 20);
}

}  // namespace
}  // namespace nexus::auth
