// HttpMetrics: the gateway's own figures — requests by route pattern,
// method and status class, their latency, requests in flight, request and
// response body bytes — and BackendMetrics: the latency and failures of its
// calls to nexus-auth and nexusd, by method.
//
// Every series is registered when the routes (or the backend's methods) are
// known, at start-up; recording a request is then an index into a vector and
// relaxed atomic adds: no lock, no allocation, no string built. Paths and
// ids never become labels: a request is counted under its route's pattern
// ("/api/files/:id"), under route="unmatched" when no route took it, or
// under route="invalid" when it was refused before routing, its head
// malformed or too large.
// Thread-safe once AddRoutes has run (before serving).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics/metrics.h"
#include "gateway/http/router.h"

namespace nexus::gateway {

class HttpMetrics {
 public:
  explicit HttpMetrics(metrics::Registry& registry);

  // Registers the series of every route of `router`, which must not change
  // afterwards. Call once, after the routes are added.
  void AddRoutes(const Router& router);

  void RequestStarted() { in_flight_.Add(1); }
  void RequestEnded() { in_flight_.Add(-1); }
  void BodyReceived(uint64_t bytes) { received_bytes_.Inc(bytes); }
  // `route`: the admitted route, or nullptr when none was (404, 405, 400).
  void RequestFinished(const Route* route, int status, uint64_t bytes_sent, double seconds);
  // A request refused before routing (400, 431): no method or route to tell.
  void RequestRefused(int status, uint64_t bytes_sent, double seconds);

 private:
  struct RouteSeries {
    std::array<metrics::Counter*, 5> by_class{};  // 1xx .. 5xx
    metrics::Histogram* latency = nullptr;
  };
  RouteSeries MakeSeries(const std::string& method, const std::string& pattern);
  void Count(const RouteSeries& s, int status, uint64_t bytes_sent, double seconds);

  metrics::Registry& registry_;
  metrics::Gauge& in_flight_;
  metrics::Counter& received_bytes_;
  metrics::Counter& sent_bytes_;
  const Route* first_route_ = nullptr;
  std::vector<RouteSeries> routes_;  // parallel to the router's routes
  RouteSeries unmatched_;
  RouteSeries invalid_;
};

// One backend call's series.
struct BackendCallSeries {
  metrics::Histogram* latency = nullptr;
  metrics::Counter* errors = nullptr;
};

class BackendMetrics {
 public:
  // `methods`: every method name the client passes to For; the series are
  // made here, once.
  BackendMetrics(metrics::Registry& registry, std::string_view backend,
                 std::initializer_list<std::string_view> methods);

  // The series of `method`, or of method="other" for a name not listed.
  // A scan of a short list of names: no lock, no allocation.
  BackendCallSeries& For(std::string_view method);

 private:
  std::vector<std::pair<std::string_view, BackendCallSeries>> methods_;
  BackendCallSeries other_;
};

}  // namespace nexus::gateway
