#include "gateway/static/static_routes.h"

#include <string>
#include <vector>

namespace nexus::gateway {
namespace {

// connect-src 'self': the page talks to this gateway only. form-action and
// base-uri close the two ways injected markup could send data elsewhere
// without script.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'";

// First path segments that belong to the API, never to a file.
constexpr std::string_view kReservedTopLevel[] = {"api", "auth", "healthz", "metrics", "dl"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated items of a header value, trimmed, empty ones dropped.
std::vector<std::string_view> ListItems(std::string_view value) {
  std::vector<std::string_view> items;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = Trim(value.substr(0, comma));
    if (!item.empty()) items.push_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return items;
}

std::vector<std::string> Segments(std::string_view url_path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= url_path.size()) {
    std::size_t slash = url_path.find('/', start);
    if (slash == std::string_view::npos) slash = url_path.size();
    out.emplace_back(url_path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool IsReserved(const std::vector<std::string>& segments) {
  if (segments.empty()) return false;
  for (std::string_view r : kReservedTopLevel) {
    if (segments.front() == r) return true;
  }
  return false;
}

// A named coroutine rather than a coroutine lambda (GCC 12, STACK.md).
asio::awaitable<Result<Response>> ServeAsset(const StaticAsset* asset, Request& req) {
  co_return AssetResponse(*asset, req);
}

}  // namespace

void AddUiSecurityHeaders(Headers& headers) {
  headers.Set("Content-Security-Policy", kContentSecurityPolicy);
  headers.Set("X-Content-Type-Options", "nosniff");
  headers.Set("Referrer-Policy", "no-referrer");
  // For browsers that predate frame-ancestors.
  headers.Set("X-Frame-Options", "DENY");
  headers.Set("Cross-Origin-Opener-Policy", "same-origin");
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  for (std::string_view item : ListItems(if_none_match)) {
    if (item == "*") return true;
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  for (std::string_view item : ListItems(accept_encoding)) {
    const std::size_t semi = item.find(';');
    const std::string_view coding = Trim(item.substr(0, semi));
    if (!EqualsIgnoreCase(coding, "gzip") && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view param = Trim(item.substr(semi + 1));
    if (!(param.starts_with("q=") || param.starts_with("Q="))) return true;
    param.remove_prefix(2);
    // q=0, q=0.0, q=0.000 refuse the coding; any other weight accepts it.
    return param.find_first_not_of("0.") != std::string_view::npos;
  }
  return false;
}

Response AssetResponse(const StaticAsset& asset, const Request& req) {
  Response r;
  AddUiSecurityHeaders(r.headers);
  r.headers.Set("ETag", asset.etag);
  r.headers.Set("Cache-Control", "no-cache");
  if (!asset.gzip_body.empty()) r.headers.Set("Vary", "Accept-Encoding");
  if (const std::string* inm = req.headers.Find("If-None-Match");
      inm && EtagMatches(*inm, asset.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.headers.Set("Content-Type", asset.content_type);
  if (!asset.gzip_body.empty() && AcceptsGzip(req.headers.Get("Accept-Encoding"))) {
    r.headers.Set("Content-Encoding", "gzip");
    r.body = asset.gzip_body;
  } else {
    r.body = asset.body;
  }
  return r;
}

int RegisterStaticRoutes(Router& router, const StaticAssets& assets) {
  constexpr RouteOptions kPublicNoBody{BodyMode::kNone, false};
  int added = 0;
  auto add = [&](std::string_view pattern, const StaticAsset& asset) {
    const std::vector<std::string> segments =
        pattern == "/" ? std::vector<std::string>{} : Segments(pattern);
    if (IsReserved(segments)) return;
    if (router.Match("GET", segments).kind == RouteMatch::Kind::kFound) return;
    const StaticAsset* a = &asset;
    router.Add("GET", pattern, kPublicNoBody, [a](Request& req) { return ServeAsset(a, req); });
    ++added;
  };
  if (const StaticAsset* index = assets.Find("/index.html")) add("/", *index);
  for (const StaticAsset& asset : assets.assets()) add(asset.url_path, asset);
  return added;
}

}  // namespace nexus::gateway
