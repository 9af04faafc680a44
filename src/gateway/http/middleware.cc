#include "gateway/http/middleware.h"

#include <charconv>
#include <random>

namespace nexus::gateway {
namespace {

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsJsonContentType(std::string_view value) {
  std::string_view media = Trim(value.substr(0, value.find(';')));
  return EqualsIgnoreCase(media, "application/json");
}

}  // namespace

void AssignRequestId(Request& req) {
  std::string_view from_client = req.headers.Get("X-Request-Id");
  if (SaneRequestId(from_client)) {
    req.request_id.assign(from_client);
    return;
  }
  // Request ids only correlate log lines; they need to be unique, not secret.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  req.request_id.resize(16);
  for (int i = 0; i < 16; ++i) req.request_id[i] = kHex[(v >> (i * 4)) & 0xf];
}

Result<std::string> ParseBearerToken(const Headers& headers) {
  const std::string* value = headers.Find("Authorization");
  if (!value) return UnauthenticatedError("missing Authorization header");
  std::string_view v = Trim(*value);
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size() || !EqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme)) {
    return UnauthenticatedError("malformed Authorization header (expected: Bearer <token>)");
  }
  std::string_view token = Trim(v.substr(kScheme.size()));
  if (token.empty() || token.find_first_of(" \t,") != std::string_view::npos) {
    return UnauthenticatedError("malformed Authorization header (expected: Bearer <token>)");
  }
  return std::string(token);
}

bool HasBearerScheme(const Headers& headers) {
  const std::string* value = headers.Find("Authorization");
  if (!value) return false;
  std::string_view v = Trim(*value);
  constexpr std::string_view kScheme = "bearer";
  return v.size() >= kScheme.size() && EqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme) &&
         (v.size() == kScheme.size() || v[kScheme.size()] == ' ');
}

Status BodyTooLargeError(int64_t max_body_bytes) {
  return Status(StatusCode::kPayloadTooLarge,
                "request body too large (limit " + std::to_string(max_body_bytes) + " bytes)");
}

Status CheckBodyHeaders(const Request& req, BodyMode mode, int64_t max_body_bytes) {
  if (mode != BodyMode::kStream) {
    if (const std::string* cl = req.headers.Find("Content-Length")) {
      std::string_view text = Trim(*cl);
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        if (ec == std::errc::result_out_of_range) return BodyTooLargeError(max_body_bytes);
        return InvalidArgumentError("malformed Content-Length header");
      }
      if (n > static_cast<uint64_t>(max_body_bytes)) return BodyTooLargeError(max_body_bytes);
    }
  }
  if (mode == BodyMode::kJson) {
    std::string_view type = Trim(req.headers.Get("Content-Type"));
    if (!type.empty() && !IsJsonContentType(type)) {
      return Status(StatusCode::kUnsupportedMediaType, "Content-Type must be application/json");
    }
  }
  return Status::Ok();
}

asio::awaitable<Status> Authenticate(AuthClient& auth, Request& req) {
  Result<std::string> token = ParseBearerToken(req.headers);
  if (!token.ok()) co_return token.status();
  authpb::ValidateTokenRequest call;
  call.set_token(std::move(token).value());
  Result<authpb::ValidateTokenResponse> answer = co_await auth.ValidateToken(std::move(call));
  if (!answer.ok()) {
    if (RejectsCredentials(answer.status().code())) {
      co_return UnauthenticatedError("invalid or expired token");
    }
    co_return answer.status();
  }
  co_return FillPrincipal(*answer, "ValidateToken", req);
}

bool RejectsCredentials(StatusCode code) {
  switch (code) {
    case StatusCode::kUnauthenticated:
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

Result<std::string> AuthenticatedOwner(const Request& req) {
  if (req.principal.username.empty()) {
    return InternalError(req.method + " " + req.path + " reached without authentication");
  }
  return req.principal.username;
}

}  // namespace nexus::gateway
