#include "gateway/metrics/metrics_handler.h"

#include <gtest/gtest.h>

#include "support/gateway_fake_auth_client.h"
#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::FakeAuthClient;
using testing::RecordingDaemonClient;
using testing::RunAwaitable;

Request From(const char* ip, const char* authorization) {
  Request r = testing::MakeRequest("GET");
  r.client_ip = ip;
  if (authorization) r.headers.Add("Authorization", authorization);
  return r;
}

TEST(CheckScrapeAccessTest, LoopbackAlwaysOtherwiseOnlyTheScrapeToken) {
  struct Case {
    const char* ip;
    const char* authorization;
    const char* token;
    StatusCode want;
  } cases[] = {
      {"127.0.0.1", nullptr, "", StatusCode::kOk},
      {"::1", nullptr, "s3cret", StatusCode::kOk},
      {"192.0.2.7", nullptr, "", StatusCode::kPermissionDenied},
      {"192.0.2.7", "Bearer s3cret", "", StatusCode::kPermissionDenied},
      {"192.0.2.7", nullptr, "s3cret", StatusCode::kUnauthenticated},
      {"192.0.2.7", "Bearer wrong!", "s3cret", StatusCode::kUnauthenticated},
      {"192.0.2.7", "Bearer s3cre", "s3cret", StatusCode::kUnauthenticated},
      {"192.0.2.7", "Bearer s3cret", "s3cret", StatusCode::kOk},
  };
  for (const Case& c : cases) {
    Status s = CheckScrapeAccess(From(c.ip, c.authorization), c.token);
    EXPECT_EQ(s.code(), c.want) << c.ip << " " << (c.authorization ? c.authorization : "-");
  }
}

TEST(MetricsHandlerTest, ServesItsOwnFiguresAndMarksSilentBackendsDown) {
  metrics::Registry own;
  own.AddCounter("nexus_test_total", "T.").Inc(4);
  FakeAuthClient auth;
  RecordingDaemonClient daemon;  // neither serves Metrics: both answer kUnimplemented
  Request req = From("127.0.0.1", nullptr);
  Result<Response> r = RunAwaitable(MetricsHandler(own, auth, daemon, "", req));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->headers.Get("Content-Type"), kMetricsContentType);
  EXPECT_NE(r->body.find("nexus_test_total 4\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("nexus_backend_up{backend=\"auth\"} 0\n"), std::string::npos);
  EXPECT_NE(r->body.find("nexus_backend_up{backend=\"daemon\"} 0\n"), std::string::npos);
}

TEST(MetricsHandlerTest, RefusesARemoteScraperWithoutTheToken) {
  metrics::Registry own;
  FakeAuthClient auth;
  RecordingDaemonClient daemon;
  Request req = From("192.0.2.7", nullptr);
  Result<Response> r = RunAwaitable(MetricsHandler(own, auth, daemon, "s3cret", req));
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace nexus::gateway
