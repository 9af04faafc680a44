#include "gateway/metrics/http_metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::Answer;
using testing::FakeAuthClient;
using testing::MakeRequest;
using testing::RunAwaitable;

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

class HttpMetricsTest : public ::testing::Test {
 protected:
  HttpMetricsTest() {
    router_.Add("GET", "/api/files/:id", RouteOptions{BodyMode::kNone, false}, Answer(200, "{}"));
    router_.Add("POST", "/echo", RouteOptions{BodyMode::kJson, false}, Answer(503, "{}"));
    http_.AddRoutes(router_);
  }

  Response Send(std::string method, std::string target, std::string body = "") {
    Request req = MakeRequest(std::move(method), std::move(body));
    return RunAwaitable(pipeline_.Handle(req, target));
  }

  metrics::Registry registry_;
  HttpMetrics http_{registry_};
  Router router_;
  FakeAuthClient auth_;
  Pipeline pipeline_{router_, auth_, PipelineOptions{64 * 1024, &http_}};
};

TEST_F(HttpMetricsTest, CountsRequestsUnderTheirRoutePatternAndStatusClass) {
  Send("GET", "/api/files/abc");
  Send("GET", "/api/files/def");
  Send("POST", "/echo", "{}");
  std::string text = registry_.Expose();
  EXPECT_TRUE(
      Has(text, R"(nexus_http_requests_total{method="GET",route="/api/files/:id",code="2xx"} 2)"))
      << text;
  EXPECT_TRUE(Has(text, R"(nexus_http_requests_total{method="POST",route="/echo",code="5xx"} 1)"));
  EXPECT_TRUE(Has(
      text, R"(nexus_http_request_duration_seconds_count{method="GET",route="/api/files/:id"} 2)"));
  // Paths and ids never become labels.
  EXPECT_EQ(text.find("abc"), std::string::npos);
}

TEST_F(HttpMetricsTest, RequestsNoRouteTookAreCountedAsUnmatched) {
  Send("GET", "/nowhere/12345");
  Send("DELETE", "/echo");  // 405
  std::string text = registry_.Expose();
  EXPECT_TRUE(
      Has(text, R"(nexus_http_requests_total{method="other",route="unmatched",code="4xx"} 2)"))
      << text;
  EXPECT_EQ(text.find("12345"), std::string::npos);
}

TEST_F(HttpMetricsTest, CountsBodyBytesBothWays) {
  Send("POST", "/echo", R"({"a":1})");
  std::string text = registry_.Expose();
  EXPECT_TRUE(Has(text, "nexus_http_request_body_bytes_total 7")) << text;
  EXPECT_TRUE(Has(text, "nexus_http_response_body_bytes_total 2")) << text;
}

TEST_F(HttpMetricsTest, InFlightGaugeFollowsTheTrackersLifetime) {
  {
    Pipeline::InFlight a = pipeline_.TrackInFlight();
    Pipeline::InFlight b = pipeline_.TrackInFlight();
    EXPECT_TRUE(Has(registry_.Expose(), "nexus_http_requests_in_flight 2"));
  }
  EXPECT_TRUE(Has(registry_.Expose(), "nexus_http_requests_in_flight 0"));
}

TEST(BackendMetricsTest, ListedMethodsHaveTheirOwnSeriesAndOthersShareOne) {
  metrics::Registry registry;
  BackendMetrics backend(registry, "auth", {"ValidateToken"});
  backend.For("ValidateToken").errors->Inc();
  backend.For("Unlisted").latency->Observe(0.01);
  std::string text = registry.Expose();
  EXPECT_TRUE(
      Has(text, R"(nexus_backend_call_errors_total{backend="auth",method="ValidateToken"} 1)"))
      << text;
  EXPECT_TRUE(
      Has(text, R"(nexus_backend_call_duration_seconds_count{backend="auth",method="other"} 1)"));
}

}  // namespace
}  // namespace nexus::gateway
