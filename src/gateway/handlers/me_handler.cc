#include "gateway/handlers/me_handler.h"

#include "gateway/handlers/json_response.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> MeHandler(Request& req) {
  const Principal& p = req.principal;
  if (p.username.empty()) co_return InternalError("/api/me reached without authentication");
  nlohmann::json j;
  j["username"] = p.username;
  j["email"] = p.email;
  j["created"] = FormatRfc3339Utc(p.created_at);
  j["created_at"] = p.created_at;
  co_return JsonValueResponse(200, j);
}

}  // namespace nexus::gateway
