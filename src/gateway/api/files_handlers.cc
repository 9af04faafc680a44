#include "gateway/api/files_handlers.h"

#include <algorithm>

#include "gateway/api/daemon_json.h"
#include "gateway/api/download_stream.h"
#include "gateway/api/json_response.h"
#include "gateway/api/upload_stream.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

Result<std::string> FileId(const Request& req) {
  const std::string* id = req.Param("id");
  if (!id || id->empty()) return InvalidArgumentError("missing file id");
  return *id;
}

// For a 416 answer: the size of the file the range missed. A named
// coroutine taking its arguments by value (GCC 12, STACK.md).
asio::awaitable<Result<int64_t>> FileSize(DaemonClient* daemon, std::string owner, std::string id) {
  daemonpb::GetFileRequest get;
  get.set_owner(std::move(owner));
  get.set_id(std::move(id));
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::FileInfo file, co_await daemon->GetFile(std::move(get)));
  co_return file.size();
}

}  // namespace

asio::awaitable<Result<Response>> UploadFileHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::FileInfo file,
                            co_await StreamUpload(daemon, req, UploadOptions{}));
  co_return JsonValueResponse(200, FileInfoJson(file));
}

asio::awaitable<Result<Response>> ListFilesHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  daemonpb::ListFilesRequest call;
  call.set_owner(owner);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListFilesResponse answer,
                            co_await daemon.ListFiles(std::move(call)));
  std::vector<const daemonpb::FileInfo*> files;
  for (const auto& f : answer.files()) files.push_back(&f);
  // nexusd lists newest first, breaking ties of a second by insertion order;
  // the contract's order is kept here even if a backend listed otherwise.
  std::stable_sort(files.begin(), files.end(),
                   [](const auto* a, const auto* b) { return a->created_at() > b->created_at(); });
  nlohmann::json out = nlohmann::json::array();
  for (const auto* f : files) out.push_back(FileInfoJson(*f));
  co_return JsonValueResponse(200, out);
}

asio::awaitable<Result<Response>> GetFileHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string id, FileId(req));
  daemonpb::GetFileRequest call;
  call.set_owner(owner);
  call.set_id(id);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::FileInfo file, co_await daemon.GetFile(std::move(call)));
  co_return JsonValueResponse(200, FileInfoJson(file));
}

asio::awaitable<Result<Response>> DownloadFileHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string id, FileId(req));
  daemonpb::DownloadFileRequest call;
  call.set_owner(owner);
  call.set_id(id);
  if (auto range = RangeOfRequest(req)) SetByteRange(*range, call.mutable_range());
  DaemonClient* d = &daemon;
  SizeLookup size_of = [d, o = owner, i = id]() { return FileSize(d, o, i); };
  co_return co_await ServeDownload(daemon.DownloadFile(std::move(call)), req, std::move(size_of));
}

asio::awaitable<Result<Response>> DeleteFileHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_CO_ASSIGN_OR_RETURN(std::string id, FileId(req));
  daemonpb::DeleteFileRequest call;
  call.set_owner(owner);
  call.set_id(id);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::DeleteFileResponse answer,
                            co_await daemon.DeleteFile(std::move(call)));
  nlohmann::json j;
  j["message"] = "File deleted";
  j["id"] = id;
  co_return JsonValueResponse(200, j);
}

}  // namespace nexus::gateway
