#include "gateway/metrics/http_metrics.h"

#include <cassert>

namespace nexus::gateway {
namespace {

constexpr const char* kRequests = "nexus_http_requests_total";
constexpr const char* kRequestsHelp = "HTTP requests answered, by route pattern and status class.";
constexpr const char* kLatency = "nexus_http_request_duration_seconds";
constexpr const char* kLatencyHelp =
    "Time from a request's head to its response's last byte, by route pattern.";
constexpr const char* kStatusClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

}  // namespace

HttpMetrics::HttpMetrics(metrics::Registry& registry)
    : registry_(registry),
      in_flight_(
          registry.AddGauge("nexus_http_requests_in_flight", "HTTP requests being served now.")),
      received_bytes_(registry.AddCounter("nexus_http_request_body_bytes_total",
                                          "Request body bytes received (uploads included).")),
      sent_bytes_(registry.AddCounter("nexus_http_response_body_bytes_total",
                                      "Response body bytes sent (downloads included).")),
      unmatched_(MakeSeries("other", "unmatched")),
      invalid_(MakeSeries("other", "invalid")) {}

HttpMetrics::RouteSeries HttpMetrics::MakeSeries(const std::string& method,
                                                 const std::string& pattern) {
  RouteSeries s;
  for (size_t i = 0; i < s.by_class.size(); ++i) {
    s.by_class[i] = &registry_.AddCounter(
        kRequests, kRequestsHelp,
        {{"method", method}, {"route", pattern}, {"code", kStatusClasses[i]}});
  }
  s.latency = &registry_.AddHistogram(kLatency, kLatencyHelp, metrics::LatencyBuckets(),
                                      {{"method", method}, {"route", pattern}});
  return s;
}

void HttpMetrics::AddRoutes(const Router& router) {
  assert(routes_.empty() && "AddRoutes runs once");
  const std::vector<Route>& routes = router.routes();
  if (routes.empty()) return;
  first_route_ = routes.data();
  routes_.reserve(routes.size());
  for (const Route& r : routes) routes_.push_back(MakeSeries(r.method, r.pattern));
}

void HttpMetrics::RequestFinished(const Route* route, int status, uint64_t bytes_sent,
                                  double seconds) {
  // The router's routes sit in one vector that no longer changes, so a
  // route's position in it is its series' index.
  const RouteSeries* s = &unmatched_;
  if (route && first_route_ && route >= first_route_ &&
      static_cast<size_t>(route - first_route_) < routes_.size()) {
    s = &routes_[static_cast<size_t>(route - first_route_)];
  }
  Count(*s, status, bytes_sent, seconds);
}

void HttpMetrics::RequestRefused(int status, uint64_t bytes_sent, double seconds) {
  Count(invalid_, status, bytes_sent, seconds);
}

void HttpMetrics::Count(const RouteSeries& s, int status, uint64_t bytes_sent, double seconds) {
  int cls = status / 100 - 1;
  if (cls < 0 || cls > 4) cls = 4;
  s.by_class[static_cast<size_t>(cls)]->Inc();
  s.latency->Observe(seconds);
  sent_bytes_.Inc(bytes_sent);
}

BackendMetrics::BackendMetrics(metrics::Registry& registry, std::string_view backend,
                               std::initializer_list<std::string_view> methods) {
  auto make = [&](std::string_view method) {
    metrics::Labels labels{{"backend", std::string(backend)}, {"method", std::string(method)}};
    BackendCallSeries s;
    s.latency = &registry.AddHistogram(
        "nexus_backend_call_duration_seconds",
        "gRPC calls from the gateway to a backend service (a stream: from its start to its "
        "final status).",
        metrics::FastLatencyBuckets(), labels);
    s.errors = &registry.AddCounter("nexus_backend_call_errors_total",
                                    "gRPC calls to a backend service that failed.", labels);
    return s;
  };
  for (std::string_view m : methods) methods_.emplace_back(m, make(m));
  other_ = make("other");
}

BackendCallSeries& BackendMetrics::For(std::string_view method) {
  for (auto& [name, series] : methods_) {
    if (name == method) return series;
  }
  return other_;
}

}  // namespace nexus::gateway
