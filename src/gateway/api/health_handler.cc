#include "gateway/api/health_handler.h"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "gateway/api/json_response.h"

namespace nexus::gateway {
namespace {

// Reduces a Health answer to a success flag, so both calls have one result
// type and the parallel wait cannot throw.
asio::awaitable<bool> AuthUp(AuthClient& auth) {
  auto r = co_await auth.Health(authpb::HealthRequest());
  co_return r.ok();
}

asio::awaitable<bool> DaemonUp(DaemonClient& daemon) {
  auto r = co_await daemon.Health(daemonpb::HealthRequest());
  co_return r.ok();
}

}  // namespace

asio::awaitable<Result<Response>> HealthHandler(AuthClient& auth, DaemonClient& daemon,
                                                Request& req) {
  using namespace asio::experimental::awaitable_operators;
  auto [auth_up, daemon_up] = co_await (AuthUp(auth) && DaemonUp(daemon));

  nlohmann::json j;
  j["status"] = auth_up && daemon_up ? "ok" : "degraded";
  j["auth"] = auth_up ? "ok" : "unavailable";
  j["daemon"] = daemon_up ? "ok" : "unavailable";
  if (auth_up && daemon_up) co_return JsonValueResponse(200, j);

  std::string down;
  if (!auth_up) down = "auth";
  if (!daemon_up) down += down.empty() ? "daemon" : ", daemon";
  j["error"] = "backend unavailable: " + down;
  co_return JsonValueResponse(503, j);
}

}  // namespace nexus::gateway
