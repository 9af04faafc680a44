#include "daemon/migrations.h"

#include "daemon/nodes/node_store.h"
#include "daemon/storage/chunk_lease_table.h"
#include "daemon/storage/metadata_store.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon {

std::vector<sql::Migration> DaemonMigrations() {
  // nexusd's top level owns no tables; each module brings its own list.
  std::vector<sql::Migration> all = StorageMetadataMigrations();
  for (sql::Migration& m : runtime::NodeMigrations()) all.push_back(std::move(m));
  return all;
}

std::vector<sql::Migration> StorageMetadataMigrations() {
  std::vector<sql::Migration> all = storage::StorageMigrations();
  for (sql::Migration& m : storage::ChunkLeaseMigrations()) all.push_back(std::move(m));
  for (sql::Migration& m : storage::TreeMigrations()) all.push_back(std::move(m));
  return all;
}

}  // namespace nexus::daemon
