// The WebDAV endpoint: every request under a DAV prefix ("/dav" and the
// Nextcloud-style alias "/remote.php/webdav"), whatever its method, arrives
// here through one prefix route (router.h), authenticated, with its body
// unread. ServeDav finds the tree path and the method's handler
// (dav_methods.h); an unknown method is 405 with the Allow list.
// RegisterDavRoutes adds the two prefix routes. `daemon` must outlive the
// router. Thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/router.h"

namespace nexus::gateway::dav {

// The methods the endpoint serves, as OPTIONS and a 405 list them.
inline constexpr char kAllowedMethods[] =
    "OPTIONS, PROPFIND, PROPPATCH, GET, HEAD, PUT, MKCOL, DELETE, COPY, MOVE, LOCK, UNLOCK";

asio::awaitable<Result<Response>> ServeDav(DaemonClient& daemon, std::string prefix,
                                           size_t prefix_segments, Request& req);

void RegisterDavRoutes(Router& router, DaemonClient& daemon);

}  // namespace nexus::gateway::dav
