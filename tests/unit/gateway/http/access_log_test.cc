#include "gateway/http/access_log.h"

#include <gtest/gtest.h>

#include "gateway/http/request_target.h"

namespace nexus::gateway {
namespace {

TEST(AccessLogTest, WritesIdMethodPathStatusBytesDurationAndUser) {
  Request r;
  r.method = "GET";
  r.request_id = "abc123";
  ASSERT_TRUE(ParseRequestTarget("/api/me", r).ok());
  r.principal.username = "alice";
  EXPECT_EQ(FormatAccessLine(r, 200, 57, 1.234), "abc123 GET /api/me 200 57B 1.23ms user=alice");
}

TEST(AccessLogTest, NeverWritesQueryValuesOrTheAuthorizationHeader) {
  Request r;
  r.method = "GET";
  r.request_id = "rid";
  ASSERT_TRUE(ParseRequestTarget("/api/fs/ls?path=%2Fsecret&token=hunter2", r).ok());
  r.headers.Add("Authorization", "Bearer eyJsecret");
  std::string line = FormatAccessLine(r, 401, 10, 0.5);
  EXPECT_EQ(line, "rid GET /api/fs/ls?path&token 401 10B 0.50ms");
  EXPECT_EQ(line.find("hunter2"), std::string::npos);
  EXPECT_EQ(line.find("secret"), std::string::npos);
}

TEST(AccessLogTest, ReplacesControlCharactersSoALineStaysOneLine) {
  Request r;
  r.method = "GE\nT";
  r.request_id = "rid";
  r.path = "/a\r\nb";
  EXPECT_EQ(FormatAccessLine(r, 404, 0, 0), "rid GE?T /a??b 404 0B 0.00ms");
}

TEST(AccessLogTest, UnparsedRequestsStillLog) {
  Request r;
  EXPECT_EQ(FormatAccessLine(r, 400, 5, 0), "- - - 400 5B 0.00ms");
}

}  // namespace
}  // namespace nexus::gateway
