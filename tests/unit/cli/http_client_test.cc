#include "cli/http_client.h"

#include <gtest/gtest.h>

namespace nexus::cli {
namespace {

TEST(HttpClientTest, PercentEncodesAllButUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(PercentEncode("/docs/a b&c=d"), "%2Fdocs%2Fa%20b%26c%3Dd");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");
}

TEST(HttpClientTest, BuildsQueryStrings) {
  EXPECT_EQ(WithQuery("/api/fs/ls", {{"path", "/a b"}}), "/api/fs/ls?path=%2Fa%20b");
  EXPECT_EQ(WithQuery("/x", {{"a", "1"}, {"b", "2"}}), "/x?a=1&b=2");
  EXPECT_EQ(WithQuery("/x", {}), "/x");
}

TEST(HttpClientTest, NormalizesServerUrls) {
  EXPECT_EQ(NormalizeServerUrl("127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(NormalizeServerUrl("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
  EXPECT_EQ(NormalizeServerUrl("https://nexus.example"), "https://nexus.example");
}

}  // namespace
}  // namespace nexus::cli
