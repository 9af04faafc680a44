#include "common/grpc_status.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>

namespace nexus {
namespace {

// The seconds after ";retry_after=": digits only, at most a day (a longer
// wait would be a bug on the sending side); 0 when there are none.
int ParseRetryAfter(std::string_view text) {
  constexpr int kMaxSeconds = 24 * 60 * 60;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc::result_out_of_range) return kMaxSeconds;
  if (ec != std::errc() || end == text.data() || seconds < 0) return 0;
  return static_cast<int>(std::min<int64_t>(seconds, kMaxSeconds));
}

grpc::StatusCode GrpcCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kUnauthenticated:
      return grpc::StatusCode::UNAUTHENTICATED;
    case StatusCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case StatusCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case StatusCode::kPayloadTooLarge:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kUnsupportedMediaType:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kRangeNotSatisfiable:
      return grpc::StatusCode::OUT_OF_RANGE;
    case StatusCode::kRateLimited:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kInternal:
      return grpc::StatusCode::INTERNAL;
    case StatusCode::kUnimplemented:
      return grpc::StatusCode::UNIMPLEMENTED;
    case StatusCode::kUpstreamFailed:
      return grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kDeadlineExceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case StatusCode::kQuotaExceeded:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  return grpc::StatusCode::INTERNAL;
}

StatusCode CodeForBareGrpc(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return StatusCode::kOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return StatusCode::kInvalidArgument;
    case grpc::StatusCode::UNAUTHENTICATED:
      return StatusCode::kUnauthenticated;
    case grpc::StatusCode::PERMISSION_DENIED:
      return StatusCode::kPermissionDenied;
    case grpc::StatusCode::NOT_FOUND:
      return StatusCode::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return StatusCode::kAlreadyExists;
    case grpc::StatusCode::OUT_OF_RANGE:
      return StatusCode::kRangeNotSatisfiable;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return StatusCode::kRateLimited;
    case grpc::StatusCode::UNIMPLEMENTED:
      return StatusCode::kUnimplemented;
    case grpc::StatusCode::UNAVAILABLE:
      return StatusCode::kUnavailable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return StatusCode::kUnavailable;
    // The server ended the call (a stream it found stalled, a shutdown): the
    // backend gave up, not a bug.
    case grpc::StatusCode::CANCELLED:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

constexpr std::string_view kRetryAfterKey = "retry_after";
constexpr std::string_view kReasonKey = "reason";
constexpr std::string_view kNodeHostKey = "node_host";

// A value that cannot be mistaken for the field syntax around it.
bool IsPlainValue(std::string_view v) {
  return !v.empty() && v.find_first_of(";=") == std::string_view::npos;
}

// Splits "<head>;<rest>" at the first ';' into head (returned) and rest.
std::string_view NextField(std::string_view& rest) {
  size_t semi = rest.find(';');
  std::string_view head = rest.substr(0, semi);
  rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
  return head;
}

}  // namespace

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string details(StatusCodeName(status.code()));
  if (status.retry_after_seconds() > 0) {
    details += ';';
    details += kRetryAfterKey;
    details += '=';
    details += std::to_string(status.retry_after_seconds());
  }
  if (status.reason() != Reason::kNone) {
    details += ';';
    details += kReasonKey;
    details += '=';
    details += ReasonName(status.reason());
  }
  if (IsPlainValue(status.node_host())) {
    details += ';';
    details += kNodeHostKey;
    details += '=';
    details += status.node_host();
  }
  std::string_view safe = ReasonClientMessage(status.reason());
  return grpc::Status(GrpcCodeFor(status.code()),
                      safe.empty() ? status.message() : std::string(safe), details);
}

grpc::Status ToGrpcStatusForClient(std::string_view what, const Status& status) {
  if (status.code() == StatusCode::kInternal) {
    spdlog::error("{}: {}", what, status.message());
    return ToGrpcStatus(InternalError("internal error"));
  }
  if (!status.ok() && !ReasonClientMessage(status.reason()).empty()) {
    spdlog::warn("{}: {}", what, status.message());
  }
  return ToGrpcStatus(status);
}

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  const std::string& details = status.error_details();
  if (details.empty()) {
    return Status(CodeForBareGrpc(status.error_code()), status.error_message());
  }
  std::string_view rest = details;
  Status s(StatusCodeFromName(NextField(rest)), status.error_message());
  while (!rest.empty()) {
    std::string_view field = NextField(rest);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (key == kRetryAfterKey) {
      s.set_retry_after_seconds(ParseRetryAfter(value));
    } else if (key == kReasonKey) {
      s.set_reason(ReasonFromName(value));
    } else if (key == kNodeHostKey) {
      s.set_node_host(std::string(value));
    }
  }
  return s;
}

}  // namespace nexus
