// MKCOL, DELETE, COPY and MOVE: the tree changes of WebDAV, with RFC 4918's
// answers — 409 when a parent is missing, 405 for MKCOL on something that
// exists, 412 when Overwrite: F meets an existing target, 201 for a new
// target and 204 for a replaced one. COPY is nexusd's CopyPath: a metadata
// operation on shared chunks, never a byte copy. A replaced target goes in
// the same nexusd transaction as the copy or move.
#include "common/vfs_path.h"
#include "gateway/dav/dav_locks.h"
#include "gateway/dav/dav_methods.h"
#include "gateway/dav/dav_path.h"

namespace nexus::gateway::dav {
namespace {

// What COPY and MOVE need from their headers and the tree, checked.
struct Transfer {
  std::string to;
  bool overwrite = true;
  bool recursive = true;
  bool target_exists = false;
};

// Checks COPY/MOVE: Destination, Depth, Overwrite, source, target's parent.
// Returns the Transfer, or the answer to send instead.
asio::awaitable<Result<std::variant<Transfer, Response>>> PrepareTransfer(DavRequest& r,
                                                                          bool move) {
  using Out = std::variant<Transfer, Response>;
  const std::string* destination = r.req.headers.Find("Destination");
  if (!destination) co_return Out(DavError(400, "missing Destination header"));
  Transfer t;
  const std::string* host = r.req.headers.Find("Host");
  NEXUS_CO_ASSIGN_OR_RETURN(t.to, DestinationTreePath(*destination, host ? *host : ""));
  NEXUS_CO_ASSIGN_OR_RETURN(t.overwrite, ParseOverwrite(r.req));
  NEXUS_CO_ASSIGN_OR_RETURN(Depth depth, ParseDepth(r.req, Depth::kInfinity));
  if (depth == Depth::kOne || (move && depth != Depth::kInfinity)) {
    co_return Out(DavError(
        400, move ? "MOVE takes Depth: infinity only" : "COPY takes Depth: 0 or infinity"));
  }
  t.recursive = depth == Depth::kInfinity;
  Result<std::string> from = NormalizeVfsPath(r.path);
  Result<std::string> to = NormalizeVfsPath(t.to);
  if (!from.ok()) co_return from.status();
  if (!to.ok()) co_return to.status();
  if (*from == "/") co_return Out(DavError(403, "the root cannot be copied or moved"));
  if (*from == *to) co_return Out(DavError(403, "the source and the destination are the same"));
  if (VfsIsSelfOrDescendant(*to, *from)) {
    co_return Out(DavError(403, "the destination lies inside the source"));
  }
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> source,
                            co_await StatEntry(r.daemon, r.owner, *from));
  if (!source) co_return Out(DavError(404, "not found"));
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> parent,
                            co_await StatEntry(r.daemon, r.owner, VfsParent(*to)));
  if (!parent || !IsFolder(*parent)) {
    co_return Out(DavError(409, "the destination's parent folder does not exist"));
  }
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> target,
                            co_await StatEntry(r.daemon, r.owner, *to));
  t.target_exists = target.has_value();
  if (t.target_exists && !t.overwrite) {
    co_return Out(DavError(412, "the destination exists and Overwrite is F"));
  }
  if (t.target_exists && VfsIsSelfOrDescendant(*from, *to)) {
    co_return Out(DavError(403, "the destination holds the source"));
  }
  // A move changes its source; both change their destination. A new
  // destination, and a moved-away source, change their folders' members.
  std::vector<WriteScope> scopes = {{*to, true, !t.target_exists}};
  if (move) scopes.push_back({*from, true, true});
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<Response> locked, co_await CheckWrite(r, scopes));
  if (locked) co_return Out(std::move(*locked));
  t.to = *to;
  co_return Out(std::move(t));
}

// A target that appeared after the checks: what Overwrite: F promises.
Result<Response> Finished(const Status& s, bool target_existed) {
  if (s.code() == StatusCode::kAlreadyExists) return DavError(412, "the destination exists");
  if (!s.ok()) return s;
  Response resp;
  resp.status = target_existed ? 204 : 201;
  return resp;
}

}  // namespace

asio::awaitable<Result<Response>> Mkcol(DavRequest& r) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadSmallBody(r.req, kMaxXmlBodyBytes));
  if (!body.empty()) co_return DavError(415, "MKCOL with a body is not supported");
  if (r.path == "/") co_return DavError(405, "the root folder exists");
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(r.daemon, r.owner, r.path));
  if (entry) co_return DavError(405, "something exists at that path");
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> parent,
                            co_await StatEntry(r.daemon, r.owner, VfsParent(r.path)));
  if (!parent || !IsFolder(*parent)) co_return DavError(409, "the parent folder does not exist");
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<Response> locked,
                            co_await CheckWrite(r, OneScope(r.path, false, true)));
  if (locked) co_return std::move(*locked);
  daemonpb::MakeDirectoryRequest call;
  call.set_owner(r.owner);
  call.set_path(r.path);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::MakeDirectoryResponse made,
                            co_await r.daemon.MakeDirectory(std::move(call)));
  (void)made;
  Response resp;
  resp.status = 201;
  co_return resp;
}

asio::awaitable<Result<Response>> Delete(DavRequest& r) {
  if (r.path == "/") co_return DavError(403, "the root folder cannot be deleted");
  NEXUS_CO_ASSIGN_OR_RETURN(Depth depth, ParseDepth(r.req, Depth::kInfinity));
  if (depth != Depth::kInfinity) co_return DavError(400, "DELETE takes Depth: infinity only");
  if (const std::string* im = r.req.headers.Find("If-Match")) {
    NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                              co_await StatEntry(r.daemon, r.owner, r.path));
    if (!entry) co_return DavError(404, "not found");
    if (IsFolder(*entry) || !EtagListMatches(*im, EtagOf(*entry))) {
      co_return DavError(412, "precondition failed: If-Match");
    }
  }
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<Response> locked,
                            co_await CheckWrite(r, OneScope(r.path, true, true)));
  if (locked) co_return std::move(*locked);
  daemonpb::DeletePathRequest call;
  call.set_owner(r.owner);
  call.set_path(r.path);
  Result<daemonpb::DeletePathResponse> deleted = co_await r.daemon.DeletePath(std::move(call));
  if (!deleted.ok() && deleted.status().code() == StatusCode::kNotFound) {
    co_return DavError(404, "not found");
  }
  if (!deleted.ok()) co_return deleted.status();
  Response resp;
  resp.status = 204;
  co_return resp;
}

namespace {

// COPY or MOVE, once the checks passed: one nexusd call, which replaces an
// existing target in its own transaction.
asio::awaitable<Result<Response>> CopyOrMove(DavRequest& r, bool move) {
  NEXUS_CO_ASSIGN_OR_RETURN(auto prepared, co_await PrepareTransfer(r, move));
  if (Response* answer = std::get_if<Response>(&prepared)) co_return std::move(*answer);
  const Transfer& t = std::get<Transfer>(prepared);
  const bool overwrite = t.target_exists && t.overwrite;
  Status done;
  if (move) {
    daemonpb::MovePathRequest call;
    call.set_owner(r.owner);
    call.set_old_path(r.path);
    call.set_new_path(t.to);
    call.set_overwrite(overwrite);
    done = (co_await r.daemon.MovePath(std::move(call))).status();
  } else {
    daemonpb::CopyPathRequest call;
    call.set_owner(r.owner);
    call.set_from_path(r.path);
    call.set_to_path(t.to);
    call.set_recursive(t.recursive);
    call.set_overwrite(overwrite);
    done = (co_await r.daemon.CopyPath(std::move(call))).status();
  }
  co_return Finished(done, t.target_exists);
}

}  // namespace

asio::awaitable<Result<Response>> Copy(DavRequest& r) { co_return co_await CopyOrMove(r, false); }

asio::awaitable<Result<Response>> Move(DavRequest& r) { co_return co_await CopyOrMove(r, true); }

}  // namespace nexus::gateway::dav
