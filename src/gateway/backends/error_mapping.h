// Error mapping: the one place where a nexus::Status becomes an HTTP status
// and an {"error": "..."} body.
//
// A 500 never shows its message to the client: it is logged with the request
// id and the client reads "internal error". A status whose Reason has a
// ReasonClientMessage shows that text instead of its own message. 429 carries Retry-After from
// Status::retry_after_seconds(); 401 carries "WWW-Authenticate: Bearer", or
// kBasicAuthChallenge when its Reason is kBasicAuthChallenge (routes signed
// into with HTTP Basic, see basic_auth.h).
// Stateless; thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// The challenge of a 401 on a route signed into with HTTP Basic (RFC 7617):
// clients are to send UTF-8 usernames and passwords.
inline constexpr std::string_view kBasicAuthChallenge = R"(Basic realm="Nexus", charset="UTF-8")";

// The HTTP status for a non-ok code (kOk maps to 200).
int HttpStatusFor(StatusCode code);

// The error response for a non-ok `status`; `request_id` only goes to the log.
Response ErrorResponse(const Status& status, std::string_view request_id);

// {"error": message} with an explicit HTTP status, for errors that have no
// StatusCode (405).
Response ErrorJson(int http_status, std::string_view message);

// {"error": message} as a JSON text.
std::string ErrorBody(std::string_view message);

}  // namespace nexus::gateway
