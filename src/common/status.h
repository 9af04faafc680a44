// Status: the outcome of an operation that can fail in an expected way.
//
// Nexus passes expected failures (bad input, missing rows, a dead backend) as
// values rather than exceptions. A Status is a code plus a human-readable
// message; the message names the operation and the object and is safe to show
// a client only after the edge (service adapter, gateway) has decided so.
// Codes are the HTTP-visible categories of ARCHITECTURE.md "Errors"; each edge
// converts them in exactly one place. A Reason refines a code where an edge
// must tell cases apart (a dead backend vs. a capability this host lacks), so
// no edge ever matches message text. Value type, thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace nexus {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,       // 400
  kUnauthenticated,       // 401
  kPermissionDenied,      // 403
  kNotFound,              // 404
  kAlreadyExists,         // 409
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kRangeNotSatisfiable,   // 416
  kRateLimited,           // 429 (retry_after_seconds says when)
  kInternal,              // 500: a bug or a broken invariant; message never shown
  kUnimplemented,         // 501
  kUpstreamFailed,        // 502: a dependency we called answered badly (SMTP, S3)
  kUnavailable,           // 503: a backend service is down or not usable here
  kDeadlineExceeded,      // 504
  kQuotaExceeded,         // 507
};

// Stable lowercase name of a code ("invalid_argument"); used on the wire
// between services and in logs.
std::string_view StatusCodeName(StatusCode code);
// Inverse of StatusCodeName; unknown names map to kInternal.
StatusCode StatusCodeFromName(std::string_view name);

// Why a status happened, where the code alone does not say enough for an edge
// to decide what a client reads. Travels between services with the code.
enum class Reason {
  kNone = 0,
  kBackendDown,            // the call to another service failed in transport
  kNodesUnsupportedHere,   // this host cannot run nodes (no root, runc or CNI)
  kLambdaUnsupportedHere,  // this host cannot run lambda (no root, runc, ...)
  kInsufficientStorage,    // the disk under nexusd is full (common/insufficient_storage.h)
  kBasicAuthChallenge,     // a 401 whose client must answer with HTTP Basic credentials
  kNodeOnOtherHost,        // the node lives on another daemon's host (Status::node_host)
};

// Stable lowercase name of a reason ("backend_down"); "" for kNone. Used on
// the wire between services and in logs.
std::string_view ReasonName(Reason reason);
// Inverse of ReasonName; unknown names (a newer peer's) map to kNone.
Reason ReasonFromName(std::string_view name);
// The fixed text a client reads for a status with this reason, for reasons
// whose messages name host details (paths, uids, missing programs); empty
// when the message itself is meant for the client.
std::string_view ReasonClientMessage(Reason reason);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Only meaningful for kRateLimited: seconds until a retry may succeed.
  int retry_after_seconds() const { return retry_after_seconds_; }
  Status& set_retry_after_seconds(int s) {
    retry_after_seconds_ = s;
    return *this;
  }

  Reason reason() const { return reason_; }
  Status& set_reason(Reason r) {
    reason_ = r;
    return *this;
  }

  // With Reason::kNodeOnOtherHost: the host name the node is recorded on,
  // whose daemon must serve the call.
  const std::string& node_host() const { return node_host_; }
  Status& set_node_host(std::string host) {
    node_host_ = std::move(host);
    return *this;
  }

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int retry_after_seconds_ = 0;
  Reason reason_ = Reason::kNone;
  std::string node_host_;
};

inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status UnauthenticatedError(std::string m) {
  return Status(StatusCode::kUnauthenticated, std::move(m));
}
inline Status PermissionDeniedError(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status NotFoundError(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status RateLimitedError(std::string m, int retry_after_seconds) {
  return Status(StatusCode::kRateLimited, std::move(m))
      .set_retry_after_seconds(retry_after_seconds);
}
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
inline Status UnimplementedError(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status UpstreamFailedError(std::string m) {
  return Status(StatusCode::kUpstreamFailed, std::move(m));
}
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status QuotaExceededError(std::string m) {
  return Status(StatusCode::kQuotaExceeded, std::move(m));
}

// "<what>: <strerror(errno_value)>", for messages that must keep errno.
Status ErrnoError(StatusCode code, std::string_view what, int errno_value);

}  // namespace nexus

#define NEXUS_STATUS_CONCAT_INNER_(a, b) a##b
#define NEXUS_STATUS_CONCAT_(a, b) NEXUS_STATUS_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not ok.
#define NEXUS_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::nexus::Status _nexus_status = (expr);        \
    if (!_nexus_status.ok()) return _nexus_status; \
  } while (0)
