#include "gateway/api/json_response.h"

#include <ctime>

namespace nexus::gateway {

Response JsonValueResponse(int status, const nlohmann::json& json) {
  return JsonResponse(status, json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response MessageResponse(std::string_view message) {
  nlohmann::json j;
  j["message"] = message;
  return JsonValueResponse(200, j);
}

std::string FormatRfc3339Utc(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return "";
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

}  // namespace nexus::gateway
