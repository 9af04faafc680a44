// The JSON shapes of nexusd's answers, shared by the Files, VFS and /api/me
// handlers so one object looks the same on every route.
//
// Times follow /api/me: a bare name ("created", "modified") is an RFC 3339
// UTC string, the same name with "_at" ("created_at", "modified_at") is unix
// seconds. Stateless; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "nexus/daemon/v1/common.pb.h"
#include "nexus/daemon/v1/tree.pb.h"

namespace nexus::gateway {

// {"id","name","size","chunks_count","status","sha256","created","created_at"},
// plus "path" when the file has a place in the tree.
nlohmann::json FileInfoJson(const ::nexus::daemon::v1::FileInfo& file);

// {"name","type","size","modified","modified_at"}, plus "id" for files.
nlohmann::json DirEntryJson(const ::nexus::daemon::v1::DirEntry& entry);

// {"used_bytes","quota_bytes" (-1: no quota),"files","folders"}.
nlohmann::json UsageJson(const ::nexus::daemon::v1::Usage& usage);

}  // namespace nexus::gateway
