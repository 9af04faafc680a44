#include "gateway/api/fs_handlers.h"

#include "gateway/api/daemon_json.h"
#include "gateway/api/download_stream.h"
#include "gateway/api/json_response.h"
#include "gateway/api/upload_stream.h"
#include "gateway/formats/json_fields.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

Result<std::string> PathParam(const Request& req) {
  const std::string* path = req.QueryParam("path");
  if (!path || path->empty()) return InvalidArgumentError("missing query parameter 'path'");
  return *path;
}

// For a 416 answer: the size of the file at `path` (listing a file's path
// gives its one entry). A named coroutine (GCC 12, STACK.md).
asio::awaitable<Result<int64_t>> PathSize(DaemonClient* daemon, std::string owner,
                                          std::string path) {
  daemonpb::ListDirectoryRequest ls;
  ls.set_owner(std::move(owner));
  ls.set_path(std::move(path));
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListDirectoryResponse answer,
                            co_await daemon->ListDirectory(std::move(ls)));
  if (answer.entries_size() != 1 || answer.entries(0).type() != "file") {
    co_return NotFoundError("download: the path is no longer a file");
  }
  co_return answer.entries(0).size();
}

}  // namespace

asio::awaitable<Result<Response>> MkdirHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string path, fields.String("path"));
  daemonpb::MakeDirectoryRequest call;
  call.set_owner(owner);
  call.set_path(path);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::MakeDirectoryResponse answer,
                            co_await daemon.MakeDirectory(std::move(call)));
  nlohmann::json j;
  j["message"] = "Directory created";
  j["path"] = answer.path();
  co_return JsonValueResponse(200, j);
}

asio::awaitable<Result<Response>> ListDirectoryHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  const std::string* path = req.QueryParam("path");
  daemonpb::ListDirectoryRequest call;
  call.set_owner(owner);
  call.set_path(path && !path->empty() ? *path : "/");
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListDirectoryResponse answer,
                            co_await daemon.ListDirectory(std::move(call)));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : answer.entries()) out.push_back(DirEntryJson(e));
  co_return JsonValueResponse(200, out);
}

asio::awaitable<Result<Response>> FsUploadHandler(DaemonClient& daemon, Request& req) {
  UploadOptions options;
  options.needs_path = true;
  if (const std::string* path = req.QueryParam("path")) options.vfs_path = *path;
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::FileInfo file,
                            co_await StreamUpload(daemon, req, std::move(options)));
  co_return JsonValueResponse(200, FileInfoJson(file));
}

asio::awaitable<Result<Response>> FsDeleteHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string path, PathParam(req));
  daemonpb::DeletePathRequest call;
  call.set_owner(owner);
  call.set_path(path);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::DeletePathResponse answer,
                            co_await daemon.DeletePath(std::move(call)));
  nlohmann::json j;
  j["message"] = "Deleted";
  j["path"] = path;
  j["files_deleted"] = answer.files_deleted();
  j["folders_deleted"] = answer.folders_deleted();
  co_return JsonValueResponse(200, j);
}

asio::awaitable<Result<Response>> FsMoveHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string old_path, fields.String("old_path"));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string new_path, fields.String("new_path"));
  daemonpb::MovePathRequest call;
  call.set_owner(owner);
  call.set_old_path(old_path);
  call.set_new_path(new_path);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::MovePathResponse answer,
                            co_await daemon.MovePath(std::move(call)));
  nlohmann::json j;
  j["message"] = "Moved";
  j["old_path"] = answer.old_path();
  j["new_path"] = answer.new_path();
  co_return JsonValueResponse(200, j);
}

asio::awaitable<Result<Response>> FsDownloadHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string path, PathParam(req));
  daemonpb::DownloadPathRequest call;
  call.set_owner(owner);
  call.set_path(path);
  if (auto range = RangeOfRequest(req)) SetByteRange(*range, call.mutable_range());
  DaemonClient* d = &daemon;
  SizeLookup size_of = [d, o = owner, p = path]() { return PathSize(d, o, p); };
  co_return co_await ServeDownload(daemon.DownloadPath(std::move(call)), req, std::move(size_of));
}

asio::awaitable<Result<Response>> FsUsageHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  daemonpb::GetUsageRequest call;
  call.set_owner(owner);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::Usage usage, co_await daemon.GetUsage(std::move(call)));
  co_return JsonValueResponse(200, UsageJson(usage));
}

}  // namespace nexus::gateway
