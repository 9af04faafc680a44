#include "cli/http_client.h"

#include <gtest/gtest.h>

namespace nexus::cli {
namespace {

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
