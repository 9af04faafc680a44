#include "gateway/dav/dav_handler.h"

#include <string_view>

#include "gateway/backends/error_mapping.h"
#include "gateway/dav/dav_locks.h"
#include "gateway/dav/dav_methods.h"
#include "gateway/dav/dav_path.h"
#include "gateway/dav/dav_props.h"
#include "gateway/dav/dav_xml.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway::dav {
namespace {

using MethodFn = asio::awaitable<Result<Response>> (*)(DavRequest&);

struct DavMethod {
  std::string_view name;
  MethodFn fn;
};

constexpr DavMethod kMethods[] = {
    {"OPTIONS", &Options}, {"PROPFIND", &Propfind}, {"PROPPATCH", &Proppatch}, {"GET", &Get},
    {"HEAD", &Head},       {"PUT", &Put},           {"MKCOL", &Mkcol},         {"DELETE", &Delete},
    {"COPY", &Copy},       {"MOVE", &Move},         {"LOCK", &Lock},           {"UNLOCK", &Unlock},
};

// Body of every request: PROPFIND's and PUT's come unbuffered, so the route
// streams them all; no Content-Type is imposed.
constexpr RouteOptions kDavRoute{BodyMode::kStream, true, 0, AuthChallenge::kWebDavBasic};

Response Multistatus(std::string xml) {
  Response r;
  r.status = 207;
  r.headers.Set("Content-Type", "application/xml; charset=utf-8");
  r.body = std::move(xml);
  return r;
}

std::vector<daemonpb::DeadProp> DeadPropsOf(const daemonpb::ListPropsResponse& props,
                                            std::string_view name) {
  for (const auto& e : props.entries()) {
    if (e.name() == name) return {e.props().begin(), e.props().end()};
  }
  return {};
}

}  // namespace

asio::awaitable<Result<Response>> Options(DavRequest&) {
  Response r;
  r.status = 200;
  r.headers.Set("DAV", "1, 2");
  r.headers.Set("Allow", kAllowedMethods);
  r.headers.Set("MS-Author-Via", "DAV");
  co_return r;
}

asio::awaitable<Result<Response>> Propfind(DavRequest& r) {
  NEXUS_CO_ASSIGN_OR_RETURN(Depth depth, ParseDepth(r.req, Depth::kInfinity));
  if (depth == Depth::kInfinity) {
    // RFC 4918 §9.1: a server may refuse infinite depth, with this condition.
    Response refused;
    refused.status = 403;
    refused.headers.Set("Content-Type", "application/xml; charset=utf-8");
    refused.body = ErrorBody("propfind-finite-depth");
    co_return refused;
  }
  NEXUS_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadSmallBody(r.req, kMaxXmlBodyBytes));
  NEXUS_CO_ASSIGN_OR_RETURN(PropfindBody query, ParsePropfind(body));
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(r.daemon, r.owner, r.path));
  if (!entry) co_return DavError(404, "not found");
  const bool children = depth == Depth::kOne && IsFolder(*entry);

  // Dead properties are read only when the query can show them: most
  // clients ask for a handful of live ones.
  daemonpb::ListPropsResponse props;
  if (WantsDeadProps(query)) {
    daemonpb::ListPropsRequest props_call;
    props_call.set_owner(r.owner);
    props_call.set_path(r.path);
    props_call.set_children(children);
    NEXUS_CO_ASSIGN_OR_RETURN(props, co_await r.daemon.ListProps(std::move(props_call)));
  }
  std::vector<daemonpb::ActiveLock> locks;
  if (WantsLocks(query)) {
    daemonpb::ListLocksRequest locks_call;
    locks_call.set_owner(r.owner);
    locks_call.set_path(r.path);
    locks_call.set_below(children);
    NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListLocksResponse listed_locks,
                              co_await r.daemon.ListLocks(std::move(locks_call)));
    locks.assign(listed_locks.locks().begin(), listed_locks.locks().end());
  }
  std::optional<daemonpb::Usage> usage;
  if (WantsQuota(query)) {
    daemonpb::GetUsageRequest usage_call;
    usage_call.set_owner(r.owner);
    NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::Usage u, co_await r.daemon.GetUsage(std::move(usage_call)));
    usage = u;
  }

  XmlWriter w;
  w.Open(Dav("multistatus"));
  DavResource self{HrefOf(r.prefix, r.path, IsFolder(*entry)), *entry, DeadPropsOf(props, ""),
                   LocksCovering(locks, r.path), r.prefix};
  WritePropResponse(w, self, query, usage);
  if (children) {
    daemonpb::ListDirectoryRequest ls;
    ls.set_owner(r.owner);
    ls.set_path(r.path);
    NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListDirectoryResponse listed,
                              co_await r.daemon.ListDirectory(std::move(ls)));
    for (const daemonpb::DirEntry& e : listed.entries()) {
      const std::string path = ChildPath(r.path, e.name());
      DavResource child{HrefOf(r.prefix, path, IsFolder(e)), e, DeadPropsOf(props, e.name()),
                        LocksCovering(locks, path), r.prefix};
      WritePropResponse(w, child, query, usage);
    }
  }
  co_return Multistatus(w.Finish());
}

asio::awaitable<Result<Response>> Proppatch(DavRequest& r) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadSmallBody(r.req, kMaxXmlBodyBytes));
  NEXUS_CO_ASSIGN_OR_RETURN(std::vector<PropUpdate> updates, ParsePropertyUpdate(body));
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(r.daemon, r.owner, r.path));
  if (!entry) co_return DavError(404, "not found");
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<Response> locked,
                            co_await CheckWrite(r, OneScope(r.path, false, false)));
  if (locked) co_return std::move(*locked);
  // Live properties are computed, never stored: setting one fails, and the
  // whole PROPPATCH with it (RFC 4918 §9.2: all or nothing).
  bool refused = false;
  for (const PropUpdate& u : updates) refused = refused || u.name.ns == kDavNs;
  if (!refused) {
    daemonpb::PatchPropsRequest call;
    call.set_owner(r.owner);
    call.set_path(r.path);
    for (const PropUpdate& u : updates) {
      daemonpb::PropChange* c = call.add_changes();
      c->set_remove(u.remove);
      c->mutable_prop()->set_ns(u.name.ns);
      c->mutable_prop()->set_name(u.name.name);
      c->mutable_prop()->set_value(u.value);
    }
    NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::PatchPropsResponse patched,
                              co_await r.daemon.PatchProps(std::move(call)));
    (void)patched;
  }
  XmlWriter w;
  w.Open(Dav("multistatus"));
  w.Open(Dav("response"));
  w.Leaf(Dav("href"), HrefOf(r.prefix, r.path, IsFolder(*entry)));
  for (const PropUpdate& u : updates) {
    w.Open(Dav("propstat"));
    w.Open(Dav("prop"));
    w.Empty(u.name);
    w.Close();
    const bool live = u.name.ns == kDavNs;
    w.Leaf(Dav("status"), !refused ? "HTTP/1.1 200 OK"
                          : live   ? "HTTP/1.1 403 Forbidden"
                                   : "HTTP/1.1 424 Failed Dependency");
    w.Close();
  }
  co_return Multistatus(w.Finish());
}

asio::awaitable<Result<Response>> ServeDav(DaemonClient& daemon, std::string prefix,
                                           size_t prefix_segments, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string path, TreePathOf(req.segments, prefix_segments));
  for (const DavMethod& m : kMethods) {
    if (m.name != req.method) continue;
    DavRequest r{daemon, req, std::move(owner), std::move(prefix), std::move(path)};
    co_return co_await m.fn(r);
  }
  Response refused = DavError(405, "method not allowed");
  refused.headers.Set("Allow", kAllowedMethods);
  co_return refused;
}

void RegisterDavRoutes(Router& router, DaemonClient& daemon) {
  router.AddPrefix(kDavPrefix, kDavRoute, [&daemon](Request& req) {
    return ServeDav(daemon, std::string(kDavPrefix), 1, req);
  });
  router.AddPrefix(kNextcloudPrefix, kDavRoute, [&daemon](Request& req) {
    return ServeDav(daemon, std::string(kNextcloudPrefix), 2, req);
  });
}

}  // namespace nexus::gateway::dav
