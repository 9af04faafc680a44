// The /metrics route: the gateway's registry, nexus-auth's and nexusd's
// (through their Metrics RPCs, asked in parallel) merged into one Prometheus
// text exposition. A backend that does not answer is left out and shown as
// nexus_backend_up{backend="..."} 0, so a scrape still succeeds while one
// service is down.
//
// Access: a request from the loopback address (127.0.0.1, ::1) is served;
// from elsewhere, only with "Authorization: Bearer <[metrics] scrape_token>"
// (401 without a token or with a wrong one; 403 when no token is configured).
// A reverse proxy on the same host makes every client look local: such a
// proxy must not forward /metrics.
// Stateless; thread-safe; the registry and clients must outlive the route.
#pragma once

#include <string>
#include <string_view>

#include "common/metrics/metrics.h"
#include "common/result.h"
#include "gateway/backends/auth_client.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/router.h"

namespace nexus::gateway {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Ok when `req` may read the metrics (see above), else the 401/403 Status.
Status CheckScrapeAccess(const Request& req, std::string_view scrape_token);

asio::awaitable<Result<Response>> MetricsHandler(const metrics::Registry& own, AuthClient& auth,
                                                 DaemonClient& daemon,
                                                 const std::string& scrape_token, Request& req);

// Adds GET /metrics to `router`.
void RegisterMetricsRoute(Router& router, const metrics::Registry& own, AuthClient& auth,
                          DaemonClient& daemon, std::string scrape_token);

}  // namespace nexus::gateway
