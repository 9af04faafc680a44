// The WebDAV method handlers, one per method, each a function of a
// DavRequest (dav_request.h). dav_handler.cc routes to them; each file
// serves a group: dav_handler.cc OPTIONS, PROPFIND and PROPPATCH;
// dav_transfer.cc GET, HEAD and PUT; dav_tree_ops.cc MKCOL, DELETE, COPY
// and MOVE; dav_lock_methods.cc LOCK and UNLOCK. Stateless; the DavRequest outlives the call.
#pragma once

#include "common/result.h"
#include "gateway/dav/dav_request.h"

namespace nexus::gateway::dav {

asio::awaitable<Result<Response>> Options(DavRequest& r);
asio::awaitable<Result<Response>> Propfind(DavRequest& r);
asio::awaitable<Result<Response>> Proppatch(DavRequest& r);
asio::awaitable<Result<Response>> Get(DavRequest& r);
asio::awaitable<Result<Response>> Head(DavRequest& r);
asio::awaitable<Result<Response>> Put(DavRequest& r);
asio::awaitable<Result<Response>> Mkcol(DavRequest& r);
asio::awaitable<Result<Response>> Delete(DavRequest& r);
asio::awaitable<Result<Response>> Copy(DavRequest& r);
asio::awaitable<Result<Response>> Move(DavRequest& r);
asio::awaitable<Result<Response>> Lock(DavRequest& r);
asio::awaitable<Result<Response>> Unlock(DavRequest& r);

// True when an If-Match / If-None-Match value ("*" or a list of entity
// tags) names `etag` ("" when the resource does not exist: only "*" would
// need it to).
bool EtagListMatches(std::string_view header, std::string_view etag);

}  // namespace nexus::gateway::dav
