// Streaming a download from nexusd to the client: GET /api/files/:id/download
// and GET /api/fs/download.
//
// The handler starts a DownloadFile / DownloadPath call with the range from
// the Range header (range_header.h); ServeDownload waits for its first
// message — the header naming the file and the resolved byte range — and
// answers from it before any data: 200 or 206 with Content-Length,
// Content-Range, Content-Type: application/octet-stream, a safe
// Content-Disposition (content_disposition.h), ETag "<sha256>" and
// Accept-Ranges: bytes. The data messages then stream through the response
// one at a time into one reused buffer (DownloadCall::ReadData), each write
// awaited before the next message is taken; the call reads at most one
// message ahead, so a slow client slows nexusd down instead of filling
// memory. An If-None-Match naming the
// ETag is 304. An error before the header is an ordinary error response; 416
// carries "Content-Range: bytes */<size>", with the size from `size_of`. An
// error after the header fails the body, and the session then aborts the
// connection: the client sees a short body, never a complete-looking wrong
// one. Stateless; one call per request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/formats/range_header.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// The size of the file being downloaded, asked only for a 416 answer.
using SizeLookup = std::function<asio::awaitable<Result<int64_t>>()>;

// The range to ask nexusd for, from req's Range header.
std::optional<RequestedRange> RangeOfRequest(const Request& req);

// Copies `range` into a request's ByteRange field.
void SetByteRange(const RequestedRange& range, daemonpb::ByteRange* out);

// Answers `req` from the started `call` (see above).
asio::awaitable<Result<Response>> ServeDownload(std::unique_ptr<DownloadCall> call,
                                                const Request& req, SizeLookup size_of);

}  // namespace nexus::gateway
