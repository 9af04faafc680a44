// DownloadLinks: short-lived signed URLs for browser downloads.
//
// A browser can stream a download straight to disk only when it navigates
// to a URL (or follows <a download>); such requests cannot carry an
// Authorization header, and fetching the file with one would hold all of it
// in the page's memory. So the web UI asks (with its bearer token, through
// the usual API) for a link: a token naming the owner, one path and an
// expiry, signed with HMAC-SHA256 under the installation's link key. The link
// grants exactly that download, to whoever holds it, until it expires
// (a minute: long enough to start, short enough that one copied from a
// log or the history is useless). No cookie is involved, so no other site
// can make the browser use the grant (no CSRF), and the bearer token itself
// never appears in a URL. The key comes from a file every gateway shares
// (download_link_key.h), so any of them honours a link another minted, and
// links outlive a restart (for their minute).
// Token: base64url("v1\n<expires>\n<owner>\n<path>") "." base64url(mac).
// Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace nexus::gateway {

struct DownloadGrant {
  std::string owner;
  std::string path;
  int64_t expires_at = 0;  // unix seconds
};

struct DownloadLink {
  std::string token;
  int64_t expires_at = 0;  // unix seconds
};

class DownloadLinks {
 public:
  static constexpr int64_t kDefaultLifetimeSeconds = 60;

  // `key` is kKeyBytes of secret; `clock` must outlive this.
  DownloadLinks(const Clock& clock, std::string key,
                int64_t lifetime_seconds = kDefaultLifetimeSeconds);

  static constexpr std::size_t kKeyBytes = 32;
  // A fresh random key (libsodium).
  static std::string RandomKey();

  DownloadLink Mint(std::string_view owner, std::string_view path) const;

  // The grant of a token this signer minted and that has not expired;
  // anything else (tampered, truncated, expired, another key) is
  // kUnauthenticated.
  Result<DownloadGrant> Verify(std::string_view token) const;

 private:
  std::string Mac(std::string_view payload) const;

  const Clock& clock_;
  std::string key_;
  int64_t lifetime_seconds_;
};

}  // namespace nexus::gateway
