#include "common/grpc_status.h"

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

constexpr std::string_view kRetryAfter = ";retry_after=";

}  // namespace

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string details(StatusCodeName(status.code()));
  if (status.retry_after_seconds() > 0) {
    details += std::string(kRetryAfter) + std::to_string(status.retry_after_seconds());
  }
  return grpc::Status(GrpcCodeFor(status.code()), status.message(), details);
}

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  const std::string& details = status.error_details();
  if (details.empty()) {
    return Status(CodeForBareGrpc(status.error_code()), status.error_message());
  }
  std::string_view d = details;
  int retry_after = 0;
  if (auto pos = d.find(kRetryAfter); pos != std::string_view::npos) {
    retry_after = ParseRetryAfter(d.substr(pos + kRetryAfter.size()));
    d = d.substr(0, pos);
  }
  Status s(StatusCodeFromName(d), status.error_message());
  s.set_retry_after_seconds(retry_after);
  return s;
}

}  // namespace nexus
