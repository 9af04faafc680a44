// Router: maps a method and a decoded path to a registered route.
//
// Patterns are literal segments and ":name" parameters
// ("/api/files/:id/download"). A path that matches no pattern is 404; a path
// that matches only under other methods is 405 with an Allow header listing
// them. A prefix route (AddPrefix) takes every method and every path at or
// below its prefix ("/dav" matches "/dav", "/dav/" and "/dav/a/b"): the
// handler sees the whole path in Request::segments and answers unknown
// methods itself (WebDAV has more than HTTP's). Exact routes are matched
// first. Routes are added at start-up, then the router is read-only:
// concurrent Match calls are safe once registration is over.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// How the session treats a route's request body.
enum class BodyMode {
  kNone,    // buffered up to gateway.max_json_bytes and ignored
  kJson,    // buffered up to gateway.max_json_bytes; Content-Type must be JSON
  kStream,  // left unread; the handler reads it via Request::body_reader
};

// How an authenticated route tells its caller to authenticate.
enum class AuthChallenge {
  kNone,         // the JSON API: a 401 says nothing more
  kWebDavBasic,  // WebDAV: a 401 carries WWW-Authenticate, so clients ask for credentials
};

struct RouteOptions {
  BodyMode body = BodyMode::kNone;
  bool authenticated = false;  // needs "Authorization: Bearer <token>"
  // Buffered body limit of this route; 0: PipelineOptions::max_json_bytes.
  int64_t max_body_bytes = 0;
  AuthChallenge challenge = AuthChallenge::kNone;
};

// A handler answers with a Response or with a Status that the pipeline turns
// into an error response (error_mapping.h). It may keep `req` by reference
// until it completes.
using Handler = std::function<asio::awaitable<Result<Response>>(Request& req)>;

// The method of a prefix route: it takes them all.
inline constexpr char kAnyMethod[] = "*";

struct Route {
  std::string method;  // kAnyMethod for a prefix route
  std::string pattern;
  RouteOptions options;
  Handler handler;
  std::vector<std::string> segments;  // pattern split at '/'
  bool prefix = false;                // AddPrefix: matches paths below the pattern too
};

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;  // kFound only
  KeyValues params;              // kFound only
  std::string allow;             // kMethodNotAllowed only: "GET, POST"
};

class Router {
 public:
  // `pattern` starts with "/". Registering the same method and pattern twice
  // is a programming error (asserted).
  void Add(std::string method, std::string_view pattern, RouteOptions options, Handler handler);

  // A route for every method on `prefix` and every path below it; `prefix`
  // is literal segments only (no ":name").
  void AddPrefix(std::string_view prefix, RouteOptions options, Handler handler);

  RouteMatch Match(std::string_view method, const std::vector<std::string>& segments) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// The error responses for a failed match (404 / 405 + Allow).
Response NoRouteResponse(const RouteMatch& match);

}  // namespace nexus::gateway
