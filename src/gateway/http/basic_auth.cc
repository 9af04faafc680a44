#include "gateway/http/basic_auth.h"

#include <cstdint>
#include <utility>

#include "gateway/formats/base64.h"
#include "gateway/formats/utf8.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

Status Challenge(std::string message) {
  return UnauthenticatedError(std::move(message)).set_reason(Reason::kBasicAuthChallenge);
}

Status Malformed() {
  return Challenge("malformed Authorization header (expected: Basic base64(username:password))");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool HasControlCharacter(std::string_view s) {
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) return true;
  }
  return false;
}

}  // namespace

Result<BasicCredentials> ParseBasicCredentials(const Headers& headers) {
  const std::string* value = headers.Find("Authorization");
  if (!value) return Challenge("missing Authorization header");
  std::string_view v = Trim(*value);
  constexpr std::string_view kScheme = "basic ";
  if (v.size() <= kScheme.size() || !EqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme)) {
    return Malformed();
  }
  std::optional<std::string> decoded = DecodeBase64Strict(Trim(v.substr(kScheme.size())));
  if (!decoded || ToValidUtf8(*decoded) != *decoded || HasControlCharacter(*decoded)) {
    return Malformed();
  }
  // RFC 7617: a username cannot hold a colon; the password may.
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return Malformed();
  BasicCredentials c{decoded->substr(0, colon), decoded->substr(colon + 1)};
  if (c.username.size() > kBasicCredentialMaxBytes ||
      c.password.size() > kBasicCredentialMaxBytes) {
    return Malformed();
  }
  return c;
}

asio::awaitable<Status> AuthenticateBasic(AuthClient& auth, Request& req) {
  Result<BasicCredentials> credentials = ParseBasicCredentials(req.headers);
  if (!credentials.ok()) co_return credentials.status();
  authpb::ValidateAppPasswordRequest call;
  call.set_username(std::move(credentials->username));
  call.set_password(std::move(credentials->password));
  call.set_client_address(req.client_ip);
  Result<authpb::ValidateAppPasswordResponse> answer =
      co_await auth.ValidateAppPassword(std::move(call));
  if (!answer.ok()) {
    if (RejectsCredentials(answer.status().code())) {
      co_return Challenge("invalid username or app password");
    }
    co_return answer.status();
  }
  co_return FillPrincipal(*answer, "ValidateAppPassword", req);
}

}  // namespace nexus::gateway
