// Middleware: the checks every request passes before its handler runs.
//
//  - request id: X-Request-Id from the client when it is sane, else a fresh
//    one; echoed in the response and written in the access log;
//  - body limits: a declared Content-Length above the limit is 413 before any
//    byte of the body is read (the session enforces the same limit while
//    reading); a JSON route refuses a Content-Type other than
//    application/json with 415 (a missing Content-Type is accepted);
//  - authentication: "Authorization: Bearer <token>" checked by
//    AuthService.ValidateToken on every call; the answer fills
//    Request::principal. A missing, malformed or rejected token is 401.
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "gateway/backends/auth_client.h"
#include "gateway/http/http_types.h"
#include "gateway/http/router.h"

namespace nexus::gateway {

// Sets req.request_id: the client's X-Request-Id if it is 1-64 characters of
// [A-Za-z0-9._:-], else 16 random hex digits.
void AssignRequestId(Request& req);

// The token of an "Authorization: Bearer <token>" header (scheme
// case-insensitive). Missing or malformed → kUnauthenticated.
Result<std::string> ParseBearerToken(const Headers& headers);

// Whether the Authorization header names the Bearer scheme (any case),
// well-formed or not: routes that take Basic too pick the check by it.
bool HasBearerScheme(const Headers& headers);

// 413 when Content-Length exceeds `max_body_bytes` (not for kStream routes),
// 415 when a kJson route gets a non-JSON Content-Type, 400 when
// Content-Length is not a number.
Status CheckBodyHeaders(const Request& req, BodyMode mode, int64_t max_body_bytes);

// The Status the session answers when a body outgrows the limit mid-read.
Status BodyTooLargeError(int64_t max_body_bytes);

// Whether a failed validation means the credentials are not accepted (a
// 401), rather than a backend failure that keeps its own status.
bool RejectsCredentials(StatusCode code);

// Fills req.principal from a validation answer: ValidateToken's and
// ValidateAppPassword's carry the same identity fields, so a handler reads
// the same principal behind either. An answer without a username is
// kInternal naming `method`.
template <typename Answer>
Status FillPrincipal(const Answer& answer, std::string_view method, Request& req) {
  if (answer.username().empty()) {
    return InternalError(std::string(method) + " answered no username");
  }
  Principal& p = req.principal;
  p.username = answer.username();
  p.user_id = answer.user_id();
  p.email = answer.email();
  p.created_at = answer.created_at();
  return Status::Ok();
}

// Validates the bearer token with `auth` and fills req.principal. A token the
// auth service rejects is 401 "invalid or expired token"; a dead auth service
// is its own error (503).
asio::awaitable<Status> Authenticate(AuthClient& auth, Request& req);

// The username Authenticate put on `req`: the owner of everything a handler
// asks nexusd for. A handler reached without it is a routing bug (kInternal),
// never a reason to act for nobody.
Result<std::string> AuthenticatedOwner(const Request& req);

}  // namespace nexus::gateway
