// Handlers of /api/s3-keys: a signed-in user creates, lists and deletes the
// access keys S3 clients sign their requests with (SigV4, gateway/s3/). Each
// calls nexus-auth once for the authenticated owner; the secret key is in
// the create answer only. `auth` and `req` must outlive the returned
// coroutine. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/auth_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// POST /api/s3-keys → 201 {"id","access_key","secret_key","created","created_at"}
asio::awaitable<Result<Response>> CreateS3KeyHandler(AuthClient& auth, Request& req);
// GET /api/s3-keys → [{"id","access_key","created","created_at"}], oldest first.
asio::awaitable<Result<Response>> ListS3KeysHandler(AuthClient& auth, Request& req);
// DELETE /api/s3-keys/:id → 204; 404 for an id that is not the user's.
asio::awaitable<Result<Response>> DeleteS3KeyHandler(AuthClient& auth, Request& req);

}  // namespace nexus::gateway
