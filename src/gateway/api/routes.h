// The route table of the HTTP contract (HTTP_API.md): every route with its
// method, body mode, whether it needs a token, and its handler. Routes whose
// backend is not built yet answer 501 {"error":"not implemented yet"} after
// authentication. `auth` and `daemon` must outlive `router`.
#pragma once

#include "gateway/backends/auth_client.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/router.h"

namespace nexus::gateway {

void RegisterRoutes(Router& router, AuthClient& auth, DaemonClient& daemon);

}  // namespace nexus::gateway
