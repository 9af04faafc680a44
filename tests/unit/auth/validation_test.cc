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

TEST(ValidateAppPasswordNameTest, AcceptsOneToSixtyFourCharactersOfTextWithoutControls) {
  const std::string ok[] = {
      "a",
      "Laptop (Finder)",
      "rclone on nas-01",
      "Büro-PC",
      "日本のマック",
      "🙂 phone",
      std::string(64, 'x'),
      // 64 characters of 2 bytes each: the limit counts characters.
      [] {
        std::string s;
        for (int i = 0; i < 64; ++i) s += "\xC3\xA9";
        return s;
      }(),
  };
  for (const std::string& name : ok) EXPECT_TRUE(ValidateAppPasswordName(name).ok()) << name;

  const std::string bad[] = {
      "",
      std::string(65, 'x'),
      "tab\there",
      "new\nline",
      std::string("nul\0byte", 8),
      "del\x7F",
      "c1\xC2\x85",              // U+0085 NEXT LINE
      "invoice\xE2\x80\xAEtxt",  // U+202E RIGHT-TO-LEFT OVERRIDE
      "iso\xE2\x81\xA6late",     // U+2066 LEFT-TO-RIGHT ISOLATE
      "\xFF\xFE",                // not UTF-8
      "\xC0\xAF",                // overlong '/'
      "\xED\xA0\x80",            // a surrogate
      "cut\xE6\x97",             // truncated sequence
  };
  for (const std::string& name : bad) {
    Status s = ValidateAppPasswordName(name);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name;
  }
}

}  // namespace
}  // namespace nexus::auth
