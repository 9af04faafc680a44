// LOCK and UNLOCK (RFC 4918 §9.10–9.11). A LOCK of an unmapped path
// creates an empty file there first (a "locked empty resource", §7.3), so
// the lock always names an entry; a LOCK without a body refreshes the lock
// whose token the If header names.
#include "common/vfs_path.h"
#include "gateway/dav/dav_if_header.h"
#include "gateway/dav/dav_locks.h"
#include "gateway/dav/dav_methods.h"
#include "gateway/dav/dav_path.h"

namespace nexus::gateway::dav {
namespace {

Response LockAnswer(int status, const daemonpb::ActiveLock& lock, std::string_view prefix) {
  XmlWriter w;
  w.Open(Dav("prop"));
  w.Open(Dav("lockdiscovery"));
  WriteActiveLock(w, lock, prefix);
  Response resp;
  resp.status = status;
  resp.headers.Set("Content-Type", "application/xml; charset=utf-8");
  resp.headers.Set("Lock-Token", "<" + lock.token() + ">");
  resp.body = w.Finish();
  return resp;
}

// An empty file at `path`, committed (as an empty PUT would).
asio::awaitable<Status> CreateEmptyFile(DaemonClient& daemon, std::string owner, std::string path) {
  daemonpb::UploadHeader header;
  header.set_owner(std::move(owner));
  header.set_file_name(SplitVfsPath(path).back());
  header.set_vfs_path(std::move(path));
  header.set_declared_size(0);
  NEXUS_CO_ASSIGN_OR_RETURN(std::unique_ptr<UploadCall> call,
                            co_await daemon.StartUpload(std::move(header)));
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::FileInfo file, co_await call->Finish());
  (void)file;
  co_return Status::Ok();
}

asio::awaitable<Result<Response>> Refresh(DavRequest& r) {
  const std::string* header = r.req.headers.Find("If");
  if (!header) co_return DavError(400, "a LOCK without a body refreshes: it needs an If header");
  NEXUS_CO_ASSIGN_OR_RETURN(std::vector<IfList> lists, ParseIfHeader(*header));
  for (const std::string& token : SubmittedTokens(lists)) {
    daemonpb::RefreshLockRequest call;
    call.set_owner(r.owner);
    call.set_path(r.path);
    call.set_token(token);
    call.set_timeout_seconds(LockTimeout(r.req));
    Result<daemonpb::ActiveLock> lock = co_await r.daemon.RefreshLock(std::move(call));
    if (lock.ok()) co_return LockAnswer(200, *lock, r.prefix);
    if (lock.status().code() != StatusCode::kNotFound) co_return lock.status();
  }
  co_return DavError(412, "no lock of the If header covers this resource");
}

}  // namespace

asio::awaitable<Result<Response>> Lock(DavRequest& r) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadSmallBody(r.req, kMaxXmlBodyBytes));
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) co_return co_await Refresh(r);
  NEXUS_CO_ASSIGN_OR_RETURN(LockInfo info, ParseLockInfo(body));
  if (info.owner.size() > kMaxLockOwnerBytes) {
    co_return DavError(400, "the lock's owner element is larger than " +
                                std::to_string(kMaxLockOwnerBytes) + " bytes");
  }
  NEXUS_CO_ASSIGN_OR_RETURN(Depth depth, ParseDepth(r.req, Depth::kInfinity));
  if (depth == Depth::kOne) co_return DavError(400, "LOCK takes Depth: 0 or infinity");
  if (r.path == "/") co_return DavError(403, "the root folder cannot be locked");
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(r.daemon, r.owner, r.path));
  bool created = false;
  if (!entry) {
    NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> parent,
                              co_await StatEntry(r.daemon, r.owner, VfsParent(r.path)));
    if (!parent || !IsFolder(*parent)) co_return DavError(409, "the parent folder does not exist");
    // Creating a file is a write under whatever locks cover the path.
    NEXUS_CO_ASSIGN_OR_RETURN(std::optional<Response> refused,
                              co_await CheckWrite(r, OneScope(r.path, false, true)));
    if (refused) co_return std::move(*refused);
    NEXUS_CO_RETURN_IF_ERROR(co_await CreateEmptyFile(r.daemon, r.owner, r.path));
    created = true;
  }
  daemonpb::LockPathRequest call;
  call.set_owner(r.owner);
  call.set_path(r.path);
  call.set_deep(depth == Depth::kInfinity);
  call.set_shared(info.shared);
  call.set_holder(info.owner);
  call.set_timeout_seconds(LockTimeout(r.req));
  Result<daemonpb::ActiveLock> lock = co_await r.daemon.LockPath(std::move(call));
  if (!lock.ok() && created) {
    // The empty file was made for this lock only: it goes with the failure.
    daemonpb::DeletePathRequest undo;
    undo.set_owner(r.owner);
    undo.set_path(r.path);
    (void)co_await r.daemon.DeletePath(std::move(undo));
  }
  if (!lock.ok() && lock.status().code() == StatusCode::kAlreadyExists) {
    co_return DavError(423, "a conflicting lock is held");
  }
  if (!lock.ok()) co_return lock.status();
  co_return LockAnswer(created ? 201 : 200, *lock, r.prefix);
}

asio::awaitable<Result<Response>> Unlock(DavRequest& r) {
  const std::string* header = r.req.headers.Find("Lock-Token");
  if (!header || header->size() < 3 || header->front() != '<' || header->back() != '>') {
    co_return DavError(400, "UNLOCK needs a Lock-Token header: <token>");
  }
  daemonpb::UnlockPathRequest call;
  call.set_owner(r.owner);
  call.set_path(r.path);
  call.set_token(header->substr(1, header->size() - 2));
  Result<daemonpb::UnlockPathResponse> done = co_await r.daemon.UnlockPath(std::move(call));
  if (!done.ok() && done.status().code() == StatusCode::kNotFound) {
    co_return DavError(409, "no such lock covers this resource");
  }
  if (!done.ok()) co_return done.status();
  Response resp;
  resp.status = 204;
  co_return resp;
}

}  // namespace nexus::gateway::dav
