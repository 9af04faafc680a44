#include "auth/validation.h"

#include <gtest/gtest.h>

namespace nexus::auth {
namespace {

TEST(ValidateUsernameTest, AcceptsAndRejectsByTheRules) {
  struct Case {
    std::string username;
    bool ok;
  } cases[] = {
      {"alice", true},
      {"a_b.c-9", true},
      {"abc", true},
      {std::string(32, 'a'), true},
      {"", false},
      {"ab", false},
      {std::string(33, 'a'), false},
      {"al ice", false},
      {"alice@x", false},
      {"al/ice", false},
      {"ålice", false},
      {std::string("ali\0ce", 6), false},
  };
  for (const auto& c : cases) {
    Status s = ValidateUsername(c.username);
    EXPECT_EQ(s.ok(), c.ok) << "'" << c.username << "' " << s.ToString();
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
      EXPECT_NE(s.message().find("username"), std::string::npos);
    }
  }
}

TEST(NormalizeEmailTest, LowerCasesValidAddressesAndRejectsOthers) {
  struct Case {
    std::string email;
    const char* want;  // nullptr: invalid
  } cases[] = {
      {"alice@example.com", "alice@example.com"},
      {"Alice@Example.COM", "alice@example.com"},
      {"a.b+tag@sub.example.org", "a.b+tag@sub.example.org"},
      {"bob@localhost", "bob@localhost"},
      {"", nullptr},
      {"alice", nullptr},
      {"@example.com", nullptr},
      {"alice@", nullptr},
      {"al ice@example.com", nullptr},
      {".alice@example.com", nullptr},
      {"alice.@example.com", nullptr},
      {"al..ice@example.com", nullptr},
      {"alice@exa_mple.com", nullptr},
      {"alice@-example.com", nullptr},
      {"alice@example..com", nullptr},
      {"alice@example.com.", nullptr},
      {"alice@example.com\r\nBcc: x@y.z", nullptr},
      {"a@b@example.com", nullptr},
      {std::string(65, 'a') + "@example.com", nullptr},
      {"a@" + std::string(250, 'b'), nullptr},
  };
  for (const auto& c : cases) {
    auto r = NormalizeEmail(c.email);
    if (c.want) {
      ASSERT_TRUE(r.ok()) << c.email << ": " << r.status().ToString();
      EXPECT_EQ(*r, c.want);
    } else {
      ASSERT_FALSE(r.ok()) << c.email;
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("email"), std::string::npos);
    }
  }
}

TEST(ValidatePasswordTest, EnforcesLengthBounds) {
  struct Case {
    std::string password;
    bool ok;
  } cases[] = {
      {"", false},
      {"12345", false},
      {"123456", true},
      {std::string(1024, 'x'), true},
      {std::string(1025, 'x'), false},
  };
  for (const auto& c : cases) {
    Status s = ValidatePassword(c.password, 6);
    EXPECT_EQ(s.ok(), c.ok) << c.password.size();
    if (!s.ok()) {
      EXPECT_NE(s.message().find("password"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace nexus::auth
