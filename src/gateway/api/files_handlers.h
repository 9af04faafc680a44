// Handlers of the raw Files API (/api/files...): upload, list, metadata,
// download and delete of the caller's files, each a proxy to one nexusd call
// with the owner taken from the validated token. Uploads and downloads
// stream (upload_stream.h, download_stream.h). Answers:
//   POST   /api/files/upload         200 FileInfoJson (+ "status":"Uploaded")
//   GET    /api/files                200 [FileInfoJson...], newest first
//   GET    /api/files/:id            200 FileInfoJson
//   GET    /api/files/:id/download   200/206/304/416, streamed bytes
//   DELETE /api/files/:id            200 {"message":"File deleted","id"}
// `daemon` and `req` must outlive the returned coroutine. Thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> UploadFileHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> ListFilesHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> GetFileHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> DownloadFileHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> DeleteFileHandler(DaemonClient& daemon, Request& req);

}  // namespace nexus::gateway
