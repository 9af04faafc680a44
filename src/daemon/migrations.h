// DaemonMigrations: the schema of nexus.db, as one ordered list gathered from
// every nexusd module that owns tables (storage, runtime).
//
// nexusd's main passes this list to sql::OpenDatabase (common/sql/database.h), which
// rejects duplicate versions, so modules must keep their versions disjoint.
// Pure function; thread-safe.
#pragma once

#include <vector>

#include "common/sql/database.h"

namespace nexus::daemon {

std::vector<sql::Migration> DaemonMigrations();

// The tables of storage and the tree alone: the schema of a metadata
// database apart from nexus.db ([storage] metadata = "postgres://...").
std::vector<sql::Migration> StorageMetadataMigrations();

}  // namespace nexus::daemon
