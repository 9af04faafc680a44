#include "gateway/api/download_link_key.h"

#include "common/key_file.h"
#include "gateway/api/download_link.h"

namespace nexus::gateway {

Result<std::string> LoadOrCreateDownloadLinkKey(Env& env, const std::string& path) {
  const KeyFileRules rules{"download link key", DownloadLinks::kKeyBytes, DownloadLinks::kKeyBytes};
  return LoadOrCreateKeyFile(env, path, rules, [] { return DownloadLinks::RandomKey(); });
}

}  // namespace nexus::gateway
