#include "gateway/http/access_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

namespace nexus::gateway {
namespace {

TEST(AccessLogJsonTest, IsOneObjectWithTheRouteNotThePath) {
  Request r;
  r.method = "GET";
  r.request_id = "abc\"123";
  ASSERT_TRUE(ParseRequestTarget("/api/files/secret-id/download?x=1", r).ok());
  r.route = "/api/files/:id/download";
  r.principal.username = "alice";
  const std::string line = FormatAccessJson(r, 206, 57, 1.234);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find("secret-id"), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["request_id"], "abc\"123");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["route"], "/api/files/:id/download");
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["status"], 206);
  EXPECT_EQ(j["bytes"], 57);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 1.23);
  EXPECT_EQ(j["level"], "info");
  EXPECT_TRUE(j.contains("time") && j.contains("service"));
}

TEST(AccessLogJsonTest, AnUnauthenticatedRequestHasNoUser) {
  Request r;
  r.method = "G\nET";
  r.request_id = "rid";
  const auto j = nlohmann::json::parse(FormatAccessJson(r, 400, 0, 0));
  EXPECT_FALSE(j.contains("user"));
  EXPECT_EQ(j["method"], "G\nET");
  EXPECT_EQ(j["route"], "");
}

}  // namespace
}  // namespace nexus::gateway
