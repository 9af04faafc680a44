// Handlers of the virtual file system (/api/fs/...): the caller's tree of
// folders and files, each a proxy to one nexusd call with the owner taken
// from the validated token. nexusd normalises and checks every path (".."
// and control characters are 400); query parameters arrive here decoded
// exactly once. Answers:
//   POST   /api/fs/mkdir {"path"}            {"message":"Directory created","path"}
//   GET    /api/fs/ls?path=  (default "/")   [DirEntryJson...]
//   POST   /api/fs/upload (multipart: path, file; or ?path=)
//                                            FileInfoJson with "path"; 507 over quota
//   DELETE /api/fs/delete?path=              {"message":"Deleted","path","files_deleted",
//                                             "folders_deleted"}
//   POST   /api/fs/move {"old_path","new_path"}
//                                            {"message":"Moved","old_path","new_path"}
//   GET    /api/fs/download?path=            as GET /api/files/:id/download
//   GET    /api/fs/usage                     UsageJson
// `daemon` and `req` must outlive the returned coroutine. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> MkdirHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> ListDirectoryHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> FsUploadHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> FsDeleteHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> FsMoveHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> FsDownloadHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> FsUsageHandler(DaemonClient& daemon, Request& req);

}  // namespace nexus::gateway
