// HTTP Basic sign-in with an app password, for clients that speak no bearer
// tokens (WebDAV mounts).
//
// AuthenticateBasic takes "Authorization: Basic base64(username:password)"
// (RFC 7617), asks nexus-auth's ValidateAppPassword (never the account
// password) and on success fills Request::principal exactly as the bearer
// Authenticate (middleware.h) does, so a handler behind either reads the same
// identity. Parsing is strict: the scheme (case-insensitive) and one token of
// canonical base64 (RFC 4648 alphabet, '=' padding, no stray bits) that
// decodes to UTF-8 text without control characters, split at its first
// colon into a non-empty username and a password, each at most
// kBasicCredentialMaxBytes.
//
// The failure contract, for callers: return the Status as the handler's
// error. A missing, malformed or rejected credential is kUnauthenticated with
// Reason::kBasicAuthChallenge, which the gateway's one error mapping
// (error_mapping.h) answers as 401 {"error": ...} with
// `WWW-Authenticate: Basic realm="Nexus", charset="UTF-8"` (kBasicAuthChallenge)
// instead of the bearer challenge. Too many failures from the client's
// address are kRateLimited (429 with Retry-After, no challenge); a dead auth
// service is its own error (503). A missing header costs no backend call and
// is not counted as a failure: clients send one only after the challenge.
// Stateless functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "gateway/backends/auth_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

inline constexpr size_t kBasicCredentialMaxBytes = 256;

struct BasicCredentials {
  std::string username;
  std::string password;
};

// The credentials of an "Authorization: Basic ..." header. Missing or
// malformed: kUnauthenticated with Reason::kBasicAuthChallenge.
Result<BasicCredentials> ParseBasicCredentials(const Headers& headers);

// Validates the Basic credentials of `req` with `auth` and fills
// req.principal. See the contract above.
asio::awaitable<Status> AuthenticateBasic(AuthClient& auth, Request& req);

}  // namespace nexus::gateway
