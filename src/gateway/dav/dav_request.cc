#include "gateway/dav/dav_request.h"

#include "gateway/http/middleware.h"

namespace nexus::gateway::dav {

asio::awaitable<Result<std::string>> ReadSmallBody(Request& req, size_t limit) {
  if (!req.body_reader) {
    if (req.body.size() > limit) co_return BodyTooLargeError(static_cast<int64_t>(limit));
    co_return req.body;
  }
  std::string out;
  char buf[16 * 1024];
  for (;;) {
    Result<std::size_t> n = co_await req.body_reader->Read(std::span<char>(buf, sizeof buf));
    if (!n.ok()) co_return n.status().WithContext("reading the request body");
    if (*n == 0) break;
    if (out.size() + *n > limit) co_return BodyTooLargeError(static_cast<int64_t>(limit));
    out.append(buf, *n);
  }
  co_return out;
}

asio::awaitable<Result<std::optional<daemonpb::DirEntry>>> StatEntry(DaemonClient& daemon,
                                                                     std::string owner,
                                                                     std::string path) {
  daemonpb::StatPathRequest call;
  call.set_owner(std::move(owner));
  call.set_path(std::move(path));
  Result<daemonpb::DirEntry> entry = co_await daemon.StatPath(std::move(call));
  if (entry.ok()) co_return std::optional<daemonpb::DirEntry>(std::move(entry).value());
  if (entry.status().code() == StatusCode::kNotFound) {
    co_return std::optional<daemonpb::DirEntry>();
  }
  co_return entry.status();
}

Response DavError(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::string(message) + "\n";
  return r;
}

Result<Depth> ParseDepth(const Request& req, Depth absent) {
  const std::string* v = req.headers.Find("Depth");
  if (!v) return absent;
  if (*v == "0") return Depth::kZero;
  if (*v == "1") return Depth::kOne;
  if (EqualsIgnoreCase(*v, "infinity")) return Depth::kInfinity;
  return InvalidArgumentError("bad Depth header (0, 1 or infinity)");
}

Result<bool> ParseOverwrite(const Request& req) {
  const std::string* v = req.headers.Find("Overwrite");
  if (!v || EqualsIgnoreCase(*v, "T")) return true;
  if (EqualsIgnoreCase(*v, "F")) return false;
  return InvalidArgumentError("bad Overwrite header (T or F)");
}

std::string EtagOfHash(std::string_view sha256) {
  return "\"" + std::string(sha256.substr(0, kEtagHexDigits)) + "\"";
}

std::string EtagOf(const daemonpb::DirEntry& entry) { return EtagOfHash(entry.sha256()); }

bool IsFolder(const daemonpb::DirEntry& entry) { return entry.type() == "folder"; }

}  // namespace nexus::gateway::dav
