#include "gateway/backends/error_mapping.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

namespace nexus::gateway {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPayloadTooLarge:
      return 413;
    case StatusCode::kUnsupportedMediaType:
      return 415;
    case StatusCode::kRangeNotSatisfiable:
      return 416;
    case StatusCode::kRateLimited:
      return 429;
    case StatusCode::kInternal:
      return 500;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUpstreamFailed:
      return 502;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kQuotaExceeded:
      return 507;
  }
  return 500;
}

std::string ErrorBody(std::string_view message) {
  nlohmann::json j;
  j["error"] = message;
  // A message from a backend might carry invalid UTF-8; never throw over it.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response ErrorJson(int http_status, std::string_view message) {
  return JsonResponse(http_status, ErrorBody(message));
}

Response ErrorResponse(const Status& status, std::string_view request_id) {
  int http = HttpStatusFor(status.code());
  if (status.ok() || http == 500) {
    spdlog::error("request {}: internal error: {}", request_id,
                  status.ok() ? "error response for an ok status" : status.message());
    return ErrorJson(500, "internal error");
  }
  // A reason whose messages may name host details has a fixed client text.
  std::string_view client_message = ReasonClientMessage(status.reason());
  Response r = ErrorJson(http, client_message.empty() ? status.message() : client_message);
  if (status.code() == StatusCode::kUnauthenticated) {
    // RFC 9110: a 401 names the scheme that would be accepted.
    r.headers.Add("WWW-Authenticate", status.reason() == Reason::kBasicAuthChallenge
                                          ? std::string(kBasicAuthChallenge)
                                          : std::string("Bearer"));
  }
  if (status.code() == StatusCode::kRateLimited) {
    r.headers.Add("Retry-After", std::to_string(std::max(1, status.retry_after_seconds())));
  } else if (status.code() == StatusCode::kUnavailable && status.retry_after_seconds() > 0) {
    r.headers.Add("Retry-After", std::to_string(status.retry_after_seconds()));
  }
  return r;
}

}  // namespace nexus::gateway
