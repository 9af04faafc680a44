#include "common/status.h"

#include <cstring>

namespace nexus {
namespace {

struct CodeName {
  StatusCode code;
  std::string_view name;
};

constexpr CodeName kCodeNames[] = {
    {StatusCode::kOk, "ok"},
    {StatusCode::kInvalidArgument, "invalid_argument"},
    {StatusCode::kUnauthenticated, "unauthenticated"},
    {StatusCode::kPermissionDenied, "permission_denied"},
    {StatusCode::kNotFound, "not_found"},
    {StatusCode::kAlreadyExists, "already_exists"},
    {StatusCode::kPayloadTooLarge, "payload_too_large"},
    {StatusCode::kUnsupportedMediaType, "unsupported_media_type"},
    {StatusCode::kRangeNotSatisfiable, "range_not_satisfiable"},
    {StatusCode::kRateLimited, "rate_limited"},
    {StatusCode::kInternal, "internal"},
    {StatusCode::kUnimplemented, "unimplemented"},
    {StatusCode::kUpstreamFailed, "upstream_failed"},
    {StatusCode::kUnavailable, "unavailable"},
    {StatusCode::kDeadlineExceeded, "deadline_exceeded"},
    {StatusCode::kQuotaExceeded, "quota_exceeded"},
};

struct ReasonInfo {
  Reason reason;
  std::string_view name;
  std::string_view client_message;
};

constexpr ReasonInfo kReasons[] = {
    {Reason::kNone, "", ""},
    {Reason::kBackendDown, "backend_down", ""},
    {Reason::kNodesUnsupportedHere, "nodes_unsupported_here",
     "nodes need root and runc with the CNI plugins; they are unavailable on this host"},
    {Reason::kLambdaUnsupportedHere, "lambda_unsupported_here",
     "lambda is unavailable on this host (needs root and runc)"},
    {Reason::kInsufficientStorage, "insufficient_storage", "insufficient storage"},
    {Reason::kBasicAuthChallenge, "basic_auth_challenge", ""},
    {Reason::kNodeOnOtherHost, "node_on_other_host", ""},
};

}  // namespace

std::string_view ReasonName(Reason reason) {
  for (const auto& r : kReasons) {
    if (r.reason == reason) return r.name;
  }
  return "";
}

Reason ReasonFromName(std::string_view name) {
  for (const auto& r : kReasons) {
    if (r.name == name) return r.reason;
  }
  return Reason::kNone;
}

std::string_view ReasonClientMessage(Reason reason) {
  for (const auto& r : kReasons) {
    if (r.reason == reason) return r.client_message;
  }
  return "";
}

std::string_view StatusCodeName(StatusCode code) {
  for (const auto& c : kCodeNames) {
    if (c.code == code) return c.name;
  }
  return "internal";
}

StatusCode StatusCodeFromName(std::string_view name) {
  for (const auto& c : kCodeNames) {
    if (c.name == name) return c.code;
  }
  return StatusCode::kInternal;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  Status s(code_, std::string(context) + ": " + message_);
  s.retry_after_seconds_ = retry_after_seconds_;
  s.reason_ = reason_;
  s.node_host_ = node_host_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status ErrnoError(StatusCode code, std::string_view what, int errno_value) {
  return Status(code, std::string(what) + ": " + std::strerror(errno_value));
}

}  // namespace nexus
