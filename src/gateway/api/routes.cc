#include "gateway/api/routes.h"

#include "gateway/api/app_password_handlers.h"
#include "gateway/api/auth_handlers.h"
#include "gateway/api/files_handlers.h"
#include "gateway/api/fs_handlers.h"
#include "gateway/api/health_handler.h"
#include "gateway/api/lambda_handler.h"
#include "gateway/api/me_handler.h"
#include "gateway/api/nodes_handlers.h"
#include "gateway/api/s3_key_handlers.h"

namespace nexus::gateway {
namespace {

using AuthHandlerFn = asio::awaitable<Result<Response>> (*)(AuthClient&, Request&);
using DaemonHandlerFn = asio::awaitable<Result<Response>> (*)(DaemonClient&, Request&);

constexpr RouteOptions kPublicJson{BodyMode::kJson, false};
constexpr RouteOptions kPublicNoBody{BodyMode::kNone, false};
constexpr RouteOptions kUserNoBody{BodyMode::kNone, true};
constexpr RouteOptions kUserJson{BodyMode::kJson, true};
constexpr RouteOptions kUserStream{BodyMode::kStream, true};
// Lambda code and stdin may be 1 MiB each: more than other JSON bodies.
constexpr RouteOptions kLambdaJson{BodyMode::kJson, true, kLambdaMaxBodyBytes};

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
    {"POST", "/api/app-passwords", kUserJson, &CreateAppPasswordHandler},
    {"GET", "/api/app-passwords", kUserNoBody, &ListAppPasswordsHandler},
    {"DELETE", "/api/app-passwords/:id", kUserNoBody, &DeleteAppPasswordHandler},
    {"POST", "/api/s3-keys", kUserNoBody, &CreateS3KeyHandler},
    {"GET", "/api/s3-keys", kUserNoBody, &ListS3KeysHandler},
    {"DELETE", "/api/s3-keys/:id", kUserNoBody, &DeleteS3KeyHandler},
};

struct DaemonRoute {
  const char* method;
  const char* pattern;
  RouteOptions options;
  DaemonHandlerFn handler;
};

// Files, VFS, lambda and nodes: proxies to nexusd.
constexpr DaemonRoute kDaemonRoutes[] = {
    {"POST", "/api/files/upload", kUserStream, &UploadFileHandler},
    {"GET", "/api/files", kUserNoBody, &ListFilesHandler},
    {"GET", "/api/files/:id", kUserNoBody, &GetFileHandler},
    {"DELETE", "/api/files/:id", kUserNoBody, &DeleteFileHandler},
    {"GET", "/api/files/:id/download", kUserNoBody, &DownloadFileHandler},
    {"POST", "/api/fs/mkdir", kUserJson, &MkdirHandler},
    {"GET", "/api/fs/ls", kUserNoBody, &ListDirectoryHandler},
    {"POST", "/api/fs/upload", kUserStream, &FsUploadHandler},
    {"DELETE", "/api/fs/delete", kUserNoBody, &FsDeleteHandler},
    {"POST", "/api/fs/move", kUserJson, &FsMoveHandler},
    {"GET", "/api/fs/download", kUserNoBody, &FsDownloadHandler},
    {"GET", "/api/fs/usage", kUserNoBody, &FsUsageHandler},
    {"POST", "/api/lambda/run", kLambdaJson, &LambdaRunHandler},
    {"POST", "/api/nodes", kUserJson, &CreateNodeHandler},
    {"GET", "/api/nodes", kUserNoBody, &ListNodesHandler},
    {"GET", "/api/nodes/:id", kUserNoBody, &GetNodeHandler},
    {"DELETE", "/api/nodes/:id", kUserNoBody, &DeleteNodeHandler},
    {"POST", "/api/nodes/:id/start", kUserNoBody, &StartNodeHandler},
    {"POST", "/api/nodes/:id/stop", kUserNoBody, &StopNodeHandler},
    {"POST", "/api/nodes/:id/exec", kUserJson, &ExecNodeHandler},
    {"GET", "/api/nodes/:id/metrics", kUserNoBody, &NodeMetricsHandler},
};

}  // namespace

void RegisterRoutes(Router& router, AuthClient& auth, DaemonClient& daemon) {
  for (const auto& r : kAuthRoutes) {
    AuthHandlerFn fn = r.handler;
    router.Add(r.method, r.pattern, r.options, [fn, &auth](Request& req) { return fn(auth, req); });
  }
  router.Add("GET", "/healthz", kPublicNoBody,
             [&auth, &daemon](Request& req) { return HealthHandler(auth, daemon, req); });
  router.Add("GET", "/api/me", kUserNoBody,
             [&daemon](Request& req) { return MeHandler(daemon, req); });
  for (const auto& r : kDaemonRoutes) {
    DaemonHandlerFn fn = r.handler;
    router.Add(r.method, r.pattern, r.options,
               [fn, &daemon](Request& req) { return fn(daemon, req); });
  }
}

}  // namespace nexus::gateway
