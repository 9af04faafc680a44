#include "gateway/handlers/routes.h"

#include "gateway/handlers/auth_handlers.h"
#include "gateway/handlers/health_handler.h"
#include "gateway/handlers/me_handler.h"

namespace nexus::gateway {
namespace {

using AuthHandlerFn = asio::awaitable<Result<Response>> (*)(AuthClient&, Request&);

asio::awaitable<Result<Response>> NotImplementedHandler(Request& req) {
  co_return UnimplementedError("not implemented yet");
}

constexpr RouteOptions kPublicJson{BodyMode::kJson, false};
constexpr RouteOptions kPublicNoBody{BodyMode::kNone, false};
constexpr RouteOptions kUserNoBody{BodyMode::kNone, true};
constexpr RouteOptions kUserJson{BodyMode::kJson, true};
constexpr RouteOptions kUserStream{BodyMode::kStream, true};

struct AuthRoute {
  const char* method;
  const char* pattern;
  RouteOptions options;
  AuthHandlerFn handler;
};

constexpr AuthRoute kAuthRoutes[] = {
    {"POST", "/auth/register/init", kPublicJson, &RegisterInitHandler},
    {"POST", "/auth/register/verify", kPublicJson, &RegisterVerifyHandler},
    {"POST", "/auth/login/init", kPublicJson, &LoginInitHandler},
    {"POST", "/auth/login/verify", kPublicJson, &LoginVerifyHandler},
    // The token travels in the Authorization header; the handler revokes it
    // rather than the middleware validating it first.
    {"POST", "/auth/logout", kPublicNoBody, &LogoutHandler},
};

struct PendingRoute {
  const char* method;
  const char* pattern;
  RouteOptions options;
};

// Contract routes whose nexusd side is not built yet.
constexpr PendingRoute kNotYetBuilt[] = {
    {"POST", "/api/nodes", kUserJson},
    {"GET", "/api/nodes/:id/metrics", kUserNoBody},
    {"POST", "/api/files/upload", kUserStream},
    {"GET", "/api/files", kUserNoBody},
    {"GET", "/api/files/:id/download", kUserNoBody},
    {"POST", "/api/lambda/run", kUserJson},
    {"POST", "/api/fs/mkdir", kUserJson},
    {"GET", "/api/fs/ls", kUserNoBody},
    {"POST", "/api/fs/upload", kUserStream},
    {"DELETE", "/api/fs/delete", kUserNoBody},
    {"POST", "/api/fs/move", kUserJson},
};

}  // namespace

void RegisterRoutes(Router& router, AuthClient& auth, DaemonClient& daemon) {
  for (const auto& r : kAuthRoutes) {
    AuthHandlerFn fn = r.handler;
    router.Add(r.method, r.pattern, r.options, [fn, &auth](Request& req) { return fn(auth, req); });
  }
  router.Add("GET", "/healthz", kPublicNoBody,
             [&auth, &daemon](Request& req) { return HealthHandler(auth, daemon, req); });
  router.Add("GET", "/api/me", kUserNoBody, [](Request& req) { return MeHandler(req); });
  for (const auto& r : kNotYetBuilt) {
    router.Add(r.method, r.pattern, r.options,
               [](Request& req) { return NotImplementedHandler(req); });
  }
}

}  // namespace nexus::gateway
