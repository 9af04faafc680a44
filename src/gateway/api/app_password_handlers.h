// Handlers of /api/app-passwords: a signed-in user creates, lists and
// deletes the app passwords that clients without bearer tokens (WebDAV
// mounts) sign in with over HTTP Basic (basic_auth.h). Each calls nexus-auth
// once for the authenticated owner; the secret is in the create answer only.
// `auth` and `req` must outlive the returned coroutine. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/auth_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// POST /api/app-passwords {name} → 201 {"id","name","password","created","created_at"}
asio::awaitable<Result<Response>> CreateAppPasswordHandler(AuthClient& auth, Request& req);
// GET /api/app-passwords → [{"id","name","created","created_at","last_used","last_used_at"}],
// oldest first; last_used* are null until the first use.
asio::awaitable<Result<Response>> ListAppPasswordsHandler(AuthClient& auth, Request& req);
// DELETE /api/app-passwords/:id → 204; 404 for an id that is not the user's.
asio::awaitable<Result<Response>> DeleteAppPasswordHandler(AuthClient& auth, Request& req);

}  // namespace nexus::gateway
