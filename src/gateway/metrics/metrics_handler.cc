#include "gateway/metrics/metrics_handler.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <vector>

#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

bool IsLoopback(std::string_view ip) { return ip == "127.0.0.1" || ip == "::1"; }

// Compares in time that depends only on the lengths, so the token cannot be
// guessed a byte at a time from response times.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// A backend's exposition, or "" when it did not answer; both calls then
// have one result type and the parallel wait cannot throw.
asio::awaitable<std::string> AuthExposition(AuthClient& auth) {
  auto r = co_await auth.Metrics(authpb::MetricsRequest());
  co_return r.ok() ? std::move(*r->mutable_exposition()) : std::string();
}

asio::awaitable<std::string> DaemonExposition(DaemonClient& daemon) {
  auto r = co_await daemon.CollectMetrics(daemonpb::CollectMetricsRequest());
  co_return r.ok() ? std::move(*r->mutable_exposition()) : std::string();
}

std::string BackendsUp(bool auth_up, bool daemon_up) {
  metrics::TextWriter w;
  w.Family("nexus_backend_up", "Whether the backend service answered this scrape.",
           metrics::Type::kGauge);
  w.Sample("nexus_backend_up", {{"backend", "auth"}}, auth_up ? 1 : 0);
  w.Sample("nexus_backend_up", {{"backend", "daemon"}}, daemon_up ? 1 : 0);
  return w.Take();
}

}  // namespace

Status CheckScrapeAccess(const Request& req, std::string_view scrape_token) {
  if (IsLoopback(req.client_ip)) return Status::Ok();
  if (scrape_token.empty()) {
    return Status(StatusCode::kPermissionDenied,
                  "metrics are served to 127.0.0.1 only (no scrape token is configured)");
  }
  Result<std::string> token = ParseBearerToken(req.headers);
  if (!token.ok()) return token.status();
  if (!SameSecret(*token, scrape_token)) return UnauthenticatedError("invalid scrape token");
  return Status::Ok();
}

asio::awaitable<Result<Response>> MetricsHandler(const metrics::Registry& own, AuthClient& auth,
                                                 DaemonClient& daemon,
                                                 const std::string& scrape_token, Request& req) {
  if (Status s = CheckScrapeAccess(req, scrape_token); !s.ok()) co_return s;
  using namespace asio::experimental::awaitable_operators;
  auto [auth_text, daemon_text] = co_await (AuthExposition(auth) && DaemonExposition(daemon));
  const bool auth_up = !auth_text.empty();
  const bool daemon_up = !daemon_text.empty();
  std::vector<std::string> texts;
  texts.reserve(4);
  texts.push_back(own.Expose());
  texts.push_back(BackendsUp(auth_up, daemon_up));
  texts.push_back(std::move(auth_text));
  texts.push_back(std::move(daemon_text));
  Response resp;
  resp.headers.Set("Content-Type", std::string(kMetricsContentType));
  resp.body = metrics::MergeExpositions(texts);
  co_return resp;
}

void RegisterMetricsRoute(Router& router, const metrics::Registry& own, AuthClient& auth,
                          DaemonClient& daemon, std::string scrape_token) {
  router.Add("GET", "/metrics", RouteOptions{BodyMode::kNone, false},
             [&own, &auth, &daemon, token = std::move(scrape_token)](Request& req) {
               return MetricsHandler(own, auth, daemon, token, req);
             });
}

}  // namespace nexus::gateway
