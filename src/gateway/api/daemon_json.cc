#include "gateway/api/daemon_json.h"

#include "gateway/api/json_response.h"

namespace nexus::gateway {

nlohmann::json FileInfoJson(const ::nexus::daemon::v1::FileInfo& file) {
  nlohmann::json j;
  j["id"] = file.id();
  j["name"] = file.name();
  j["size"] = file.size();
  j["chunks_count"] = file.chunks_count();
  j["status"] = file.status();
  j["sha256"] = file.sha256();
  j["created"] = FormatRfc3339Utc(file.created_at());
  j["created_at"] = file.created_at();
  if (!file.vfs_path().empty()) j["path"] = file.vfs_path();
  return j;
}

nlohmann::json DirEntryJson(const ::nexus::daemon::v1::DirEntry& entry) {
  nlohmann::json j;
  j["name"] = entry.name();
  j["type"] = entry.type();
  j["size"] = entry.size();
  j["modified"] = FormatRfc3339Utc(entry.modified());
  j["modified_at"] = entry.modified();
  if (!entry.id().empty()) j["id"] = entry.id();
  return j;
}

nlohmann::json UsageJson(const ::nexus::daemon::v1::Usage& usage) {
  nlohmann::json j;
  j["used_bytes"] = usage.used_bytes();
  j["quota_bytes"] = usage.quota_bytes();
  j["files"] = usage.files();
  j["folders"] = usage.folders();
  return j;
}

}  // namespace nexus::gateway
