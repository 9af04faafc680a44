// GET /api/me: the authenticated user's profile, from the ValidateToken
// answer the auth middleware stored in Request::principal, plus the user's
// storage usage from one nexusd GetUsage call. When nexusd cannot answer,
// the profile still is: "usage" is left out. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// {"username", "email", "created": RFC 3339 UTC, "created_at": unix seconds,
//  "usage"?: {"used_bytes", "quota_bytes", "files", "folders"}}
asio::awaitable<Result<Response>> MeHandler(DaemonClient& daemon, Request& req);

}  // namespace nexus::gateway
