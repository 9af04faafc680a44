#include "gateway/api/download_link_handlers.h"

#include "gateway/api/fs_handlers.h"
#include "gateway/api/json_response.h"
#include "gateway/formats/json_fields.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> DownloadLinkHandler(const DownloadLinks& links, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string path, fields.String("path"));
  if (path.empty()) co_return InvalidArgumentError("'path' must not be empty");
  DownloadLink link = links.Mint(owner, path);
  nlohmann::json j;
  j["url"] = "/dl/" + link.token;
  j["expires_at"] = link.expires_at;
  Response resp = JsonValueResponse(200, j);
  resp.headers.Set("Cache-Control", "no-store");
  co_return resp;
}

asio::awaitable<Result<Response>> SignedDownloadHandler(DaemonClient& daemon,
                                                        const DownloadLinks& links, Request& req) {
  const std::string* token = req.Param("token");
  if (!token) co_return InternalError("signed download: route without :token");
  NEXUS_CO_ASSIGN_OR_RETURN(DownloadGrant grant, links.Verify(*token));
  // From here on the request is the owner's own download by path.
  req.principal = Principal{};
  req.principal.username = std::move(grant.owner);
  req.query.clear();
  req.query.emplace_back("path", std::move(grant.path));
  NEXUS_CO_ASSIGN_OR_RETURN(Response resp, co_await FsDownloadHandler(daemon, req));
  // The request carries no Authorization header, so nothing else would keep
  // a shared cache from storing a user's file under its URL.
  resp.headers.Set("Cache-Control", "private, no-store");
  co_return resp;
}

void RegisterDownloadLinkRoutes(Router& router, DaemonClient& daemon, const DownloadLinks& links) {
  constexpr RouteOptions kUserJson{BodyMode::kJson, true};
  constexpr RouteOptions kPublicNoBody{BodyMode::kNone, false};
  router.Add("POST", "/api/fs/download-link", kUserJson,
             [&links](Request& req) { return DownloadLinkHandler(links, req); });
  router.Add("GET", "/dl/:token", kPublicNoBody,
             [&daemon, &links](Request& req) { return SignedDownloadHandler(daemon, links, req); });
}

}  // namespace nexus::gateway
