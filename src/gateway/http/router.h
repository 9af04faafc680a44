// Router: maps a method and a decoded path to a registered route.
//
// Patterns are literal segments and ":name" parameters
// ("/api/files/:id/download"). A path that matches no pattern is 404; a path
// that matches only under other methods is 405 with an Allow header listing
// them. Routes are added at start-up, then the router is read-only:
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

struct RouteOptions {
  BodyMode body = BodyMode::kNone;
  bool authenticated = false;  // needs "Authorization: Bearer <token>"
  // Buffered body limit of this route; 0: PipelineOptions::max_json_bytes.
  int64_t max_body_bytes = 0;
};

// A handler answers with a Response or with a Status that the pipeline turns
// into an error response (error_mapping.h). It may keep `req` by reference
// until it completes.
using Handler = std::function<asio::awaitable<Result<Response>>(Request& req)>;

struct Route {
  std::string method;
  std::string pattern;
  RouteOptions options;
  Handler handler;
  std::vector<std::string> segments;  // pattern split at '/'
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

  RouteMatch Match(std::string_view method, const std::vector<std::string>& segments) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// The error responses for a failed match (404 / 405 + Allow).
Response NoRouteResponse(const RouteMatch& match);

}  // namespace nexus::gateway
