#include "cli/remote_tree.h"

#include "cli/output.h"
#include "cli/remote_path.h"

namespace nexus::cli {

RemoteEntry RemoteEntry::FromJson(const nlohmann::json& j) {
  RemoteEntry e;
  e.name = Cell(Field(j, "name"));
  e.folder = Field(j, "type") == "folder";
  const nlohmann::json& size = Field(j, "size");
  e.size = size.is_number_unsigned() || size.is_number_integer() ? size.get<uint64_t>() : 0;
  if (Field(j, "id").is_string()) e.id = j["id"].get<std::string>();
  e.raw = j;
  return e;
}

Result<std::vector<RemoteEntry>> ListFolder(HttpClient& client, const std::string& path) {
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json listing,
                         client.Call("GET", WithQuery("/api/fs/ls", {{"path", path}})));
  if (!listing.is_array()) {
    return UpstreamFailedError("the listing of '" + path + "' is not a JSON array");
  }
  std::vector<RemoteEntry> entries;
  entries.reserve(listing.size());
  for (const auto& j : listing) entries.push_back(RemoteEntry::FromJson(j));
  return entries;
}

Result<std::optional<RemoteEntry>> StatRemote(HttpClient& client, const std::string& path) {
  const std::string p = NormalizeRemote(path);
  if (p == "/") {
    RemoteEntry root;
    root.folder = true;
    return std::optional<RemoteEntry>(root);
  }
  Result<std::vector<RemoteEntry>> siblings = ListFolder(client, RemoteParent(p));
  if (!siblings.ok()) {
    // No parent folder: nothing at the path either.
    if (siblings.status().code() == StatusCode::kNotFound) return std::optional<RemoteEntry>();
    return siblings.status();
  }
  const std::string name = RemoteBasename(p);
  for (auto& e : *siblings) {
    if (e.name == name) return std::optional<RemoteEntry>(std::move(e));
  }
  return std::optional<RemoteEntry>();
}

Result<RemoteTree> WalkRemote(HttpClient& client, const std::string& root) {
  RemoteTree tree;
  std::vector<std::string> pending = {""};  // relative folders still to list
  while (!pending.empty()) {
    std::string rel = std::move(pending.back());
    pending.pop_back();
    NEXUS_ASSIGN_OR_RETURN(std::vector<RemoteEntry> entries,
                           ListFolder(client, rel.empty() ? root : JoinRemote(root, rel)));
    for (auto& e : entries) {
      std::string child = rel.empty() ? e.name : rel + "/" + e.name;
      if (e.folder) {
        tree.folders.push_back(child);
        pending.push_back(std::move(child));
      } else {
        tree.files.emplace_back(std::move(child), std::move(e));
      }
    }
  }
  return tree;
}

}  // namespace nexus::cli
