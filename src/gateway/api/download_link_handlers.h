// The two routes of browser downloads (download_link.h says why they exist):
//   POST /api/fs/download-link {"path"}   (bearer token, as every /api route)
//        -> {"url":"/dl/<token>","expires_at":<unix seconds>}
//   GET  /dl/:token                       (no Authorization: the link is the grant)
//        -> exactly GET /api/fs/download?path= for the link's owner and path:
//           streamed, ETag, Range, Content-Disposition; 401 when the link is
//           invalid or expired.
// The existing Authorization-header download routes are unchanged.
// `daemon` and `links` must outlive the router. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/api/download_link.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"
#include "gateway/http/router.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> DownloadLinkHandler(const DownloadLinks& links, Request& req);
asio::awaitable<Result<Response>> SignedDownloadHandler(DaemonClient& daemon,
                                                        const DownloadLinks& links, Request& req);

void RegisterDownloadLinkRoutes(Router& router, DaemonClient& daemon, const DownloadLinks& links);

}  // namespace nexus::gateway
