// Handlers of the /auth routes: register and login (two steps each, a code
// mailed in between) and logout. Each decodes the contract's JSON (field
// names case-insensitive), calls AuthService once, passing the client IP for
// its rate limits, and answers the contract's JSON. `auth` and `req` must
// outlive the returned coroutine. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/auth_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// POST /auth/register/init {Username, Password, Email} → {"message":"OTP sent to email"}
asio::awaitable<Result<Response>> RegisterInitHandler(AuthClient& auth, Request& req);
// POST /auth/register/verify {Email, Code} → {"token", "username"}
asio::awaitable<Result<Response>> RegisterVerifyHandler(AuthClient& auth, Request& req);
// POST /auth/login/init {Username, Password} → {"message":"OTP sent to <email>"}
asio::awaitable<Result<Response>> LoginInitHandler(AuthClient& auth, Request& req);
// POST /auth/login/verify {Email, Code} → {"token", "username"}
asio::awaitable<Result<Response>> LoginVerifyHandler(AuthClient& auth, Request& req);
// POST /auth/logout with a bearer token → {"message":"Logged out"}; revokes it.
asio::awaitable<Result<Response>> LogoutHandler(AuthClient& auth, Request& req);

}  // namespace nexus::gateway
