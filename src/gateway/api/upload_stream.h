// Streaming a multipart/form-data upload into nexusd: the body of
// POST /api/files/upload and POST /api/fs/upload.
//
// The request body is read from Request::body_reader in slices, parsed as it
// arrives (multipart.h), and the `file` part's bytes go to an UploadFile call
// in messages of ~1 MiB (fewer bytes when the client is slow: kUploadFlushAfter).
// Each message is awaited before more of the body is read, so a slow nexusd
// slows the client down (TCP backpressure) and memory stays at about two
// messages per upload; nothing is written to disk here.
// The call is ended normally — which commits the file — only after the whole
// multipart body has been parsed without error; a broken body, a client that
// goes away, or any other failure cancels it, and nexusd keeps nothing.
//
// The tree path of /api/fs/upload comes from the `path` query parameter or a
// `path` part, before or after the `file` part. The file is streamed as it
// arrives either way: when its path is not known yet, the call says so in its
// header and sends the path as its last message once the form's end has been
// parsed, and nexusd places the file only then (a form that never names a
// path is cancelled: nothing kept). The file's name comes from the part's
// filename (filename*= preferred), repaired to valid UTF-8; nexusd reduces it
// to a safe base name (for the tree: the path's last segment). Stateless; one
// call per request.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// Bytes per UploadFile data message.
inline constexpr size_t kUploadMessageBytes = 1 << 20;
// A slow client may take minutes to fill a message; what has come is sent
// once it has waited this long, so nexusd, which cancels a stream that stays
// silent for its idle timeout (daemon.stream_idle_timeout_seconds), hears
// from an upload that progresses, however slowly.
inline constexpr std::chrono::milliseconds kUploadFlushAfter(5000);

struct UploadOptions {
  // Set for /api/fs/upload: a tree path is required. The query parameter's
  // value, if any, in `vfs_path`.
  bool needs_path = false;
  std::optional<std::string> vfs_path;
  std::chrono::milliseconds flush_after = kUploadFlushAfter;
};

// Streams the upload of `req` (a kStream route; a request whose whole body is
// in req.body works too) and returns nexusd's FileInfo. 400 for a
// Content-Type other than multipart/form-data, a malformed body, a missing
// `file` part or (needs_path) a missing, repeated or conflicting path.
asio::awaitable<Result<daemonpb::FileInfo>> StreamUpload(DaemonClient& daemon, Request& req,
                                                         UploadOptions options);

}  // namespace nexus::gateway
