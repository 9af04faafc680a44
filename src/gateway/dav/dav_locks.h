// WebDAV class 2 in the gateway: LOCK and UNLOCK, the lock properties
// (lockdiscovery, supportedlock), and the check every modifying request
// passes — the If header must hold (else 412) and name the token of every
// lock on what the request changes (else 423). The locks themselves live in
// nexusd (Tree.LockPath and friends), so several gateways share them.
// Stateless; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/dav/dav_request.h"
#include "gateway/dav/dav_xml.h"

namespace nexus::gateway::dav {

// Longest lock a client gets (Timeout: Infinite, or more than this), and
// the timeout of a LOCK without a Timeout header.
inline constexpr int64_t kMaxLockSeconds = 3600;
inline constexpr int64_t kDefaultLockSeconds = 600;

// The largest DAV:owner element a LOCK may carry (nexusd stores it with the
// lock and reads it on every lock check; it holds the same limit).
inline constexpr size_t kMaxLockOwnerBytes = 4096;

// The most resources one If header may name: each costs nexusd calls.
inline constexpr size_t kMaxIfResources = 16;

// What a modifying request changes: a path, and everything below it when
// `below` (DELETE and MOVE of a folder, a COPY or MOVE target). `member`
// when it adds or removes the path in its parent folder: the parent's
// membership is then changed too, which a depth-0 lock on the parent
// protects (RFC 4918 §7.4); replacing an existing file's content does not.
struct WriteScope {
  std::string path;
  bool below = false;
  bool member = false;
};

// The scopes of a request that changes one path. (A named function: GCC 12
// rejects a braced list as a coroutine's argument inside co_await.)
inline std::vector<WriteScope> OneScope(std::string path, bool below, bool member) {
  return {WriteScope{std::move(path), below, member}};
}

// nullopt when the request may go ahead; else the 400, 412 or 423 to send.
asio::awaitable<Result<std::optional<Response>>> CheckWrite(DavRequest& r,
                                                            std::vector<WriteScope> scopes);

// The value of a Timeout header in seconds (RFC 4918 §10.7), capped.
int64_t LockTimeout(const Request& req);

// Writes one DAV:activelock.
void WriteActiveLock(XmlWriter& w, const daemonpb::ActiveLock& lock, std::string_view prefix);

// The locks in `locks` that cover `path` (at it, or deep above it).
std::vector<daemonpb::ActiveLock> LocksCovering(const std::vector<daemonpb::ActiveLock>& locks,
                                                std::string_view path);

}  // namespace nexus::gateway::dav
