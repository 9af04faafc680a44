// The state of one WebDAV request as its method handler sees it, and the
// helpers the handlers share: reading a small body, looking an entry up,
// plain error answers and the RFC 4918 header rules (Depth, Overwrite).
// One DavRequest per request, used by one coroutine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway::dav {

struct DavRequest {
  DaemonClient& daemon;
  Request& req;
  std::string owner;   // the authenticated user
  std::string prefix;  // where the tree is mounted: "/dav" or "/remote.php/webdav"
  std::string path;    // the tree path the request names ("/" for the root)
};

// Bytes of a request body the handlers buffer (PROPFIND, PROPPATCH, LOCK).
inline constexpr size_t kMaxXmlBodyBytes = 1 << 20;

// The whole (small) body: from the body reader of a streaming route, or
// req.body when a test put it there. Longer than `limit`: kPayloadTooLarge.
asio::awaitable<Result<std::string>> ReadSmallBody(Request& req, size_t limit);

// The entry at `path`, or nullopt when there is none (kNotFound, or a file
// in place of a parent). Other failures pass up.
asio::awaitable<Result<std::optional<daemonpb::DirEntry>>> StatEntry(DaemonClient& daemon,
                                                                     std::string owner,
                                                                     std::string path);

// An error answer with a short text body.
Response DavError(int status, std::string_view message);

// Depth: "0", "1", "infinity" (any case); absent → `absent`. Anything else
// is kInvalidArgument.
enum class Depth { kZero, kOne, kInfinity };
Result<Depth> ParseDepth(const Request& req, Depth absent);

// Overwrite: "T" (the default) or "F"; anything else is kInvalidArgument.
Result<bool> ParseOverwrite(const Request& req);

// The ETag of a file entry: the first 128 bits of its content hash, quoted.
// Shorter than the whole hash /api/fs/download sends because clients
// repeat it in If headers, and some (litmus, with a 200-byte buffer) cut
// long ones; 128 bits still tell contents apart.
inline constexpr size_t kEtagHexDigits = 32;
std::string EtagOf(const daemonpb::DirEntry& entry);
std::string EtagOfHash(std::string_view sha256);

bool IsFolder(const daemonpb::DirEntry& entry);

}  // namespace nexus::gateway::dav
