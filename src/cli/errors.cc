#include "cli/errors.h"

#include <nlohmann/json.hpp>

namespace nexus::cli {
namespace {

// Ctrl-C is not an HTTP-visible category, so it travels as kDeadlineExceeded
// with this exact message prefix; ExitCodeFor and IsInterrupted look for it.
constexpr std::string_view kInterrupted = "interrupted";
// Usage errors are kInvalidArgument, told apart from a server's 400 by this
// message prefix (the server's messages never start with it).
constexpr std::string_view kUsage = "usage: ";

}  // namespace

StatusCode StatusCodeFromHttp(long http_status) {
  switch (http_status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kAlreadyExists;
    case 413:
      return StatusCode::kPayloadTooLarge;
    case 415:
      return StatusCode::kUnsupportedMediaType;
    case 416:
      return StatusCode::kRangeNotSatisfiable;
    case 429:
      return StatusCode::kRateLimited;
    case 501:
      return StatusCode::kUnimplemented;
    case 502:
      return StatusCode::kUpstreamFailed;
    case 503:
      return StatusCode::kUnavailable;
    case 504:
      return StatusCode::kDeadlineExceeded;
    case 507:
      return StatusCode::kQuotaExceeded;
    default:
      return http_status >= 500 ? StatusCode::kInternal : StatusCode::kInvalidArgument;
  }
}

Status StatusFromHttpError(long http_status, std::string_view body) {
  std::string message;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    message = j["error"].get<std::string>();
  }
  if (message.empty()) {
    message = "the server answered HTTP " + std::to_string(http_status);
  }
  return Status(StatusCodeFromHttp(http_status), std::move(message));
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return 0;
  if (IsInterrupted(status)) return 130;
  if (IsUsageError(status)) return 2;
  return 1;
}

Status UsageError(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::string(kUsage) + message);
}

bool IsUsageError(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument && status.message().starts_with(kUsage);
}

Status InterruptedError(std::string what) {
  return Status(StatusCode::kDeadlineExceeded, std::string(kInterrupted) + ": " + what);
}

bool IsInterrupted(const Status& status) {
  return status.code() == StatusCode::kDeadlineExceeded &&
         status.message().starts_with(kInterrupted);
}

}  // namespace nexus::cli
