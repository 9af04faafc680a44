#include "gateway/formats/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace nexus::gateway {
namespace {

TEST(EncodeBase64Test, PadsToWholeQuads) {
  EXPECT_EQ(EncodeBase64(""), "");
  EXPECT_EQ(EncodeBase64("a"), "YQ==");
  EXPECT_EQ(EncodeBase64("ab"), "YWI=");
  EXPECT_EQ(EncodeBase64("abc"), "YWJj");
  EXPECT_EQ(EncodeBase64("\xFB\xFF\xBF"), "+/+/");
  EXPECT_EQ(DecodeBase64Strict(EncodeBase64("alice:pw")), "alice:pw");
}

TEST(DecodeBase64StrictTest, DecodesCanonicalBase64) {
  struct Case {
    const char* text;
    std::string bytes;
  } cases[] = {
      {"YQ==", "a"},
      {"YWI=", "ab"},
      {"YWJj", "abc"},
      {"YWxpY2U6cHc=", "alice:pw"},
      {"AP8=", std::string("\0\xFF", 2)},
      {"+/+/", "\xFB\xFF\xBF"},
  };
  for (const auto& c : cases) {
    auto d = DecodeBase64Strict(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(*d, c.bytes) << c.text;
  }
}

TEST(DecodeBase64StrictTest, RefusesEverythingThatIsNotCanonical) {
  const char* bad[] = {
      "",          // nothing
      "YQ",        // padding missing
      "YQ=",       // length not a multiple of 4
      "YR==",      // bits set past the last byte
      "YWJ=",      // ... likewise with one pad
      "Y===",      // too much padding
      "====",      //
      "YQ==YQ==",  // padding in the middle
      "Y=Q=",      //
      "YW Jj",     // a space inside
      "YW-j",      // base64url is another alphabet
      "YW_j",      //
      "YWJj\n",    // a line break
      "\xC3\xA9==",
  };
  for (const char* text : bad) EXPECT_FALSE(DecodeBase64Strict(text)) << text;
}

}  // namespace
}  // namespace nexus::gateway
