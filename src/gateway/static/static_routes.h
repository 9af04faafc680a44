// The web UI's routes: GET of each file StaticAssets loaded, and "/" for
// index.html. Each file is one literal route, so the router's usual 404/405
// answers every other path and /api, /auth, /healthz and /metrics keep
// their own routes (a file that would shadow one is not registered).
//
// Answers carry the asset's strong ETag (If-None-Match → 304), the gzip copy
// when the client accepts gzip (Vary: Accept-Encoding), and
// `Cache-Control: no-cache`: file names carry no content hash (there is no
// build step), so the browser revalidates each load and gets a body-less 304
// while nothing changed. Every answer also carries the UI's security
// headers: a Content-Security-Policy that allows scripts, styles and
// requests from this origin only (no inline script, no eval) and no framing,
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer.
// Stateless functions; the registered handlers keep a reference to `assets`,
// which must outlive the router.
#pragma once

#include "gateway/http/http_types.h"
#include "gateway/http/router.h"
#include "gateway/static/static_assets.h"

namespace nexus::gateway {

// The answer to `req` (a GET) for `asset`: 200 with the body, or 304.
Response AssetResponse(const StaticAsset& asset, const Request& req);

// Adds the security headers every UI answer carries.
void AddUiSecurityHeaders(Headers& headers);

// Whether an If-None-Match value names `etag` (weak comparison, or "*").
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

// Whether an Accept-Encoding value accepts gzip (q=0 refuses it).
bool AcceptsGzip(std::string_view accept_encoding);

// Registers GET for every asset, and "/" for "/index.html" when present.
// Returns how many routes were added.
int RegisterStaticRoutes(Router& router, const StaticAssets& assets);

}  // namespace nexus::gateway
