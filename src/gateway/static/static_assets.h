// StaticAssets: the web UI's files, read once at start-up into memory.
//
// The gateway serves only what Load found under the root: each regular file
// becomes one asset with its URL path, MIME type, strong ETag (a hash of the
// bytes) and, for text, a gzip copy made once here rather than per request.
// Because requests are answered from this catalogue and never by joining a
// client's path onto the root, no request can reach a file outside it:
// symlinks, hidden files (".git", ".env") and anything that is not a regular
// file or a folder are left out when loading. The UI is small (well under a
// megabyte); the limits below keep a mistaken root (a home folder) from
// filling memory. A changed file is picked up at the next start.
// Immutable after Load; safe to read from many threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/result.h"

namespace nexus::gateway {

struct StaticAsset {
  std::string url_path;      // "/js/app.js": '/' + the path below the root
  std::string content_type;  // from the extension (mime_types.h)
  std::string body;
  std::string gzip_body;  // empty when the type does not compress or gzip gains nothing
  std::string etag;       // "\"<32 hex digits>\"", from the bytes
};

struct StaticAssetLimits {
  uint64_t max_file_bytes = 8 << 20;    // a larger file is an error: no UI file is this big
  uint64_t max_total_bytes = 64 << 20;  // all files together
  int max_files = 4096;
};

class StaticAssets {
 public:
  StaticAssets() = default;

  // Every regular file below `root`, read through `env`. An unreadable root,
  // a file over the limits or too many files is an error naming the path.
  static Result<StaticAssets> Load(Env& env, const std::string& root,
                                   StaticAssetLimits limits = {});

  // Adds a file made by the gateway rather than read from the root (replaces
  // one at the same path): its type, ETag and gzip copy as Load would make.
  void AddGenerated(std::string url_path, std::string body);

  // The asset at `url_path` ("/index.html"), or nullptr.
  const StaticAsset* Find(std::string_view url_path) const;
  const std::vector<StaticAsset>& assets() const { return assets_; }
  bool empty() const { return assets_.empty(); }

 private:
  std::vector<StaticAsset> assets_;  // sorted by url_path
};

// `data` compressed as a gzip member (RFC 1952); empty when zlib fails.
std::string GzipCompress(std::string_view data);

}  // namespace nexus::gateway
