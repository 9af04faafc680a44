// GET /api/me: the authenticated user's profile, straight from the
// ValidateToken answer the auth middleware stored in Request::principal (no
// second backend call). Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/http_types.h"

namespace nexus::gateway {

// {"username", "email", "created": RFC 3339 UTC, "created_at": unix seconds}
asio::awaitable<Result<Response>> MeHandler(Request& req);

}  // namespace nexus::gateway
