#include "gateway/api/me_handler.h"

#include <spdlog/spdlog.h>

#include "gateway/api/daemon_json.h"
#include "gateway/api/json_response.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> MeHandler(DaemonClient& daemon, Request& req) {
  const Principal& p = req.principal;
  if (p.username.empty()) co_return InternalError("/api/me reached without authentication");
  nlohmann::json j;
  j["username"] = p.username;
  j["email"] = p.email;
  j["created"] = FormatRfc3339Utc(p.created_at);
  j["created_at"] = p.created_at;
  daemonpb::GetUsageRequest call;
  call.set_owner(p.username);
  Result<daemonpb::Usage> usage = co_await daemon.GetUsage(std::move(call));
  if (usage.ok()) {
    j["usage"] = UsageJson(*usage);
  } else {
    spdlog::debug("request {}: /api/me without usage: {}", req.request_id,
                  usage.status().ToString());
  }
  co_return JsonValueResponse(200, j);
}

}  // namespace nexus::gateway
