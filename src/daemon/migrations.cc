#include "daemon/migrations.h"

#include "daemon/nodes/node_store.h"
#include "daemon/storage/chunk_lease_table.h"
#include "daemon/storage/metadata_store.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon {

std::vector<Migration> DaemonMigrations() {
  // nexusd's top level owns no tables; each module brings its own list.
  std::vector<Migration> all = StorageMetadataMigrations();
  for (Migration& m : runtime::NodeMigrations()) all.push_back(std::move(m));
  return all;
}

std::vector<Migration> StorageMetadataMigrations() {
  std::vector<Migration> all = storage::StorageMigrations();
  for (Migration& m : storage::ChunkLeaseMigrations()) all.push_back(std::move(m));
  for (Migration& m : storage::TreeMigrations()) all.push_back(std::move(m));
  return all;
}

}  // namespace nexus::daemon
