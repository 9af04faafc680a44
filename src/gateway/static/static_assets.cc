#include "gateway/static/static_assets.h"

#include <sodium.h>
#include <zlib.h>

#include <algorithm>

#include "gateway/static/mime_types.h"

namespace nexus::gateway {
namespace {

// Below this, gzip's header and the Content-Encoding round trip cost more
// than they save.
constexpr std::size_t kMinGzipBytes = 512;

std::string StrongEtag(std::string_view data) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  // 128 bits are plenty to tell versions of one file apart.
  constexpr char kHex[] = "0123456789abcdef";
  std::string etag = "\"";
  for (int i = 0; i < 16; ++i) {
    etag += kHex[hash[i] >> 4];
    etag += kHex[hash[i] & 15];
  }
  etag += '"';
  return etag;
}

// Names a URL path segment can carry unchanged and the router can hold as a
// literal: not hidden, not a route parameter (":id"), no characters that
// would need percent-encoding to be requested.
bool IsServableName(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.front() == ':') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

StaticAsset MakeAsset(std::string url_path, std::string body) {
  StaticAsset a;
  a.url_path = std::move(url_path);
  a.content_type = std::string(MimeTypeFor(a.url_path));
  a.etag = StrongEtag(body);
  if (IsCompressibleType(a.content_type) && body.size() >= kMinGzipBytes) {
    std::string gz = GzipCompress(body);
    if (!gz.empty() && gz.size() < body.size()) a.gzip_body = std::move(gz);
  }
  a.body = std::move(body);
  return a;
}

struct Walk {
  Env& env;
  const StaticAssetLimits& limits;
  std::vector<StaticAsset>& out;
  uint64_t total_bytes = 0;

  Status Dir(const std::string& dir, const std::string& url_prefix, int depth) {
    if (depth > 16)
      return InvalidArgumentError("web root: folders nested too deep at '" + dir + "'");
    NEXUS_ASSIGN_OR_RETURN(std::vector<std::string> names, env.ListDir(dir));
    for (const std::string& name : names) {
      if (!IsServableName(name)) continue;
      const std::string path = dir + "/" + name;
      NEXUS_ASSIGN_OR_RETURN(FileInfo info, env.LinkStat(path));
      if (info.type == FileType::kDirectory) {
        NEXUS_RETURN_IF_ERROR(Dir(path, url_prefix + name + "/", depth + 1));
      } else if (info.type == FileType::kRegular) {
        NEXUS_RETURN_IF_ERROR(File(path, url_prefix + name));
      }
      // Symlinks and special files are never served: a link could lead out
      // of the root.
    }
    return Status::Ok();
  }

  Status File(const std::string& path, std::string url_path) {
    if (static_cast<int>(out.size()) >= limits.max_files) {
      return InvalidArgumentError("web root: more than " + std::to_string(limits.max_files) +
                                  " files (at '" + path + "')");
    }
    Result<std::string> body = env.ReadFile(path, limits.max_file_bytes);
    if (!body.ok()) return Status(body.status().code(), "web root: " + body.status().message());
    total_bytes += body->size();
    if (total_bytes > limits.max_total_bytes) {
      return InvalidArgumentError("web root: files larger than " +
                                  std::to_string(limits.max_total_bytes) + " bytes together (at '" +
                                  path + "')");
    }
    out.push_back(MakeAsset(std::move(url_path), std::move(body).value()));
    return Status::Ok();
  }
};

}  // namespace

Result<StaticAssets> StaticAssets::Load(Env& env, const std::string& root,
                                        StaticAssetLimits limits) {
  if (sodium_init() < 0) return InternalError("web root: libsodium failed to start");
  StaticAssets assets;
  Walk walk{env, limits, assets.assets_};
  std::string dir = root;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  NEXUS_RETURN_IF_ERROR(walk.Dir(dir, "/", 0));
  std::sort(assets.assets_.begin(), assets.assets_.end(),
            [](const StaticAsset& a, const StaticAsset& b) { return a.url_path < b.url_path; });
  return assets;
}

void StaticAssets::AddGenerated(std::string url_path, std::string body) {
  StaticAsset a = MakeAsset(std::move(url_path), std::move(body));
  auto it = std::lower_bound(
      assets_.begin(), assets_.end(), a.url_path,
      [](const StaticAsset& x, const std::string& path) { return x.url_path < path; });
  if (it != assets_.end() && it->url_path == a.url_path) {
    *it = std::move(a);
  } else {
    assets_.insert(it, std::move(a));
  }
}

const StaticAsset* StaticAssets::Find(std::string_view url_path) const {
  auto it = std::lower_bound(
      assets_.begin(), assets_.end(), url_path,
      [](const StaticAsset& a, std::string_view path) { return a.url_path < path; });
  if (it == assets_.end() || it->url_path != url_path) return nullptr;
  return &*it;
}

std::string GzipCompress(std::string_view data) {
  z_stream zs{};
  // 15 window bits + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const std::size_t written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return "";
  out.resize(written);
  return out;
}

}  // namespace nexus::gateway
