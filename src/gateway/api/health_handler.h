// GET /healthz: asks both backends' Health RPCs (at the same time, each with
// the backend deadline) and answers 200 {"status":"ok","auth":"ok",
// "daemon":"ok"}, or 503 {"error":"backend unavailable: auth", "status":
// "degraded", "auth":"unavailable", "daemon":"ok"} naming every backend that
// did not answer. Needs no token. `auth` and `daemon` must outlive the
// coroutine. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/auth_client.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> HealthHandler(AuthClient& auth, DaemonClient& daemon,
                                                Request& req);

}  // namespace nexus::gateway
