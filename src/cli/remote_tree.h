// Reading the user's remote tree through /api/fs/ls: one folder, one entry
// (found in its parent's listing, since the API has no stat route), or a
// whole subtree walked folder by folder. Functions over an HttpClient, which
// they use from the calling thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/http_client.h"
#include "common/result.h"

namespace nexus::cli {

struct RemoteEntry {
  std::string name;
  bool folder = false;
  uint64_t size = 0;
  std::string id;  // the file's id in the raw Files API; empty for folders
  nlohmann::json raw;

  static RemoteEntry FromJson(const nlohmann::json& j);
};

struct RemoteTree {
  std::vector<std::string> folders;  // relative to the root, parents first ("a", "a/b")
  std::vector<std::pair<std::string, RemoteEntry>> files;  // relative path, entry
};

Result<std::vector<RemoteEntry>> ListFolder(HttpClient& client, const std::string& path);

// The entry at `path` ("/" is a folder); nullopt when nothing is there.
Result<std::optional<RemoteEntry>> StatRemote(HttpClient& client, const std::string& path);

// Every folder and file below the folder `root`.
Result<RemoteTree> WalkRemote(HttpClient& client, const std::string& root);

}  // namespace nexus::cli
