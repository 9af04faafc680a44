#include "gateway/api/download_link_key.h"

#include <cstdio>

#include "gateway/api/download_link.h"

namespace nexus::gateway {
namespace {

// Enough to tell a wrong file (a PEM, a log) from a key without reading it all.
constexpr size_t kMaxKeyFileBytes = 4096;

std::string ModeText(mode_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  return text;
}

}  // namespace

Result<std::string> LoadOrCreateDownloadLinkKey(Env& env, const std::string& path) {
  auto key = env.ReadFile(path, kMaxKeyFileBytes);
  if (!key.ok() && key.status().code() != StatusCode::kNotFound) {
    return key.status().WithContext("read download link key");
  }
  if (!key.ok()) {
    const std::string parent = DirName(path);
    if (parent != ".") NEXUS_RETURN_IF_ERROR(env.MakeDirs(parent, 0700));
    // Written beside the path (O_EXCL) and linked into place without
    // replacing: the file appears whole or not at all, so a gateway starting
    // at the same moment never reads half a key, and when two create at
    // once exactly one link succeeds.
    Status created =
        env.WriteFileAtomically(path, DownloadLinks::RandomKey(), 0600, WriteMode::kNoReplace);
    if (!created.ok() && created.code() != StatusCode::kAlreadyExists) {
      return created.WithContext("create download link key");
    }
    key = env.ReadFile(path, kMaxKeyFileBytes);
    if (!key.ok()) return key.status().WithContext("read download link key");
  }
  auto info = env.Stat(path);
  if (!info.ok()) return info.status().WithContext("read download link key");
  // Any bit beyond 0600 (group, others, execute, set-id) is refused: the
  // file was not left as this code writes it.
  if (info->mode & ~mode_t{0600}) {
    return InvalidArgumentError("download link key '" + path + "' has mode " +
                                ModeText(info->mode) + ", wider than 0600; chmod 600 it");
  }
  if (key->size() != DownloadLinks::kKeyBytes) {
    return InvalidArgumentError("download link key '" + path + "' holds " +
                                std::to_string(key->size()) + " bytes, not " +
                                std::to_string(DownloadLinks::kKeyBytes));
  }
  return std::move(key).value();
}

}  // namespace nexus::gateway
