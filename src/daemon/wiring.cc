#include "daemon/wiring.h"

#include <string>
#include <utility>

#include "common/metrics/process_metrics.h"
#include "common/sql/database.h"
#include "daemon/migrations.h"
#include "daemon/storage/chunker.h"

namespace nexus::daemon {

Result<std::unique_ptr<Daemon>> WireDaemon(const Config& cfg, const Clock& clock) {
  auto d = std::make_unique<Daemon>();
  d->metrics = std::make_unique<metrics::Registry>();
  metrics::AddProcessMetrics(*d->metrics, d->proc_env, "nexusd");

  // Storage. The MetadataStore gets a pool of connections nobody else
  // touches (WAL lets them coexist). Its database holds the storage, tree
  // and nodes tables: nexus.db ([daemon] db_path), or on PostgreSQL the one
  // [storage] metadata names, and then nexus.db is not made at all.
  const bool on_postgres = cfg.storage.metadata != storage::kSqliteMetadataStore;
  auto metadata_params = [&](std::vector<sql::Migration> migrations, int64_t connections) {
    return storage::MetadataStoreParams{
        .db_path = cfg.daemon.db_path,
        .uri = on_postgres ? cfg.storage.metadata : "",
        .migrations = std::move(migrations),
        .connections = static_cast<int>(connections),
        .clock = &clock,
        .limits = {.max_entries = cfg.storage.max_tree_entries < 0 ? storage::kUnlimitedEntries
                                                                   : cfg.storage.max_tree_entries}};
  };
  const std::string_view metadata_backend =
      on_postgres ? storage::kPostgresMetadataStore : storage::kSqliteMetadataStore;
  NEXUS_ASSIGN_OR_RETURN(
      d->metadata,
      storage::MakeMetadataStore(
          metadata_backend, metadata_params(DaemonMigrations(), cfg.storage.metadata_connections)));
  // The metrics read totals on a connection of their own, so a scrape never
  // waits for a commit, nor takes a connection a request could use.
  NEXUS_ASSIGN_OR_RETURN(d->metrics_metadata,
                         storage::MakeMetadataStore(metadata_backend, metadata_params({}, 1)));
  // On the metrics' connection: a probe waits for no upload's commit.
  d->health = std::make_unique<Health>(*d->metrics_metadata.store);
  NEXUS_ASSIGN_OR_RETURN(
      d->chunks, storage::MakeChunkStore(storage::ChunkBackEndOf(cfg.storage), cfg.storage));
  NEXUS_ASSIGN_OR_RETURN(storage::ChunkerParams chunker,
                         storage::ChunkerParamsFromConfig(cfg.storage));
  const int64_t quota =
      cfg.storage.quota_bytes < 0 ? storage::kUnlimitedQuota : cfg.storage.quota_bytes;
  if (on_postgres) {
    NEXUS_ASSIGN_OR_RETURN(d->leases_db, sql::ConnectMetadataDatabase(cfg.storage.metadata));
    d->chunk_leases = std::make_unique<storage::ChunkLeaseTable>(
        *d->leases_db, clock, storage::ChunkLeaseTable::HolderName(cfg.daemon.host_name));
  }
  d->files = std::make_unique<storage::FileService>(
      *d->chunks, *d->metadata.store,
      storage::FileServiceOptions{.chunker = chunker,
                                  .quota_for = [quota](const std::string&) { return quota; },
                                  .shared_leases = d->chunk_leases.get()});
  // Before serving: nothing may be uploading while crash leftovers go.
  Result<storage::SweepStats> swept = d->files->StartupSweep();
  if (!swept.ok()) return swept.status().WithContext("storage start-up sweep");
  d->tree_store = std::make_unique<storage::TreeStore>(*d->metadata.store);
  d->tree = std::make_unique<storage::TreeService>(*d->files, *d->tree_store);
  d->multipart_janitor = std::make_unique<storage::MultipartJanitor>(
      *d->tree, clock, cfg.storage.multipart_expiry_seconds);
  d->multipart_janitor->Start();

  // Without root or runc this is a runner that answers kUnavailable, so
  // nexusd still serves files.
  NEXUS_ASSIGN_OR_RETURN(d->lambda, runtime::LambdaRunner::ForHost(cfg));

  // Nodes: the NodeStore serialises use of its connection, so it gets its
  // own too, in the database of the storage metadata. ForHost reconciles
  // the host with the table (nodes that should run are running again) and
  // starts the metrics sampler before we serve; without root, runc or CNI
  // every node RPC answers UNAVAILABLE instead.
  // Migrated already, when the metadata store opened the same database.
  NEXUS_ASSIGN_OR_RETURN(d->nodes_db, sql::ConnectMetadataDatabase(
                                          on_postgres ? cfg.storage.metadata : cfg.daemon.db_path));
  NEXUS_ASSIGN_OR_RETURN(d->nodes, runtime::NodeManager::ForHost(cfg, *d->nodes_db, clock));

  NEXUS_ASSIGN_OR_RETURN(d->limits, CallLimitsFromConfig(cfg, d->lambda->options().max_concurrent));

  AddStorageMetrics(*d->metrics, *d->metrics_metadata.store, *d->chunks);
  AddNodeMetrics(*d->metrics, *d->nodes);
  d->lambda_metrics = std::make_unique<LambdaMetrics>(*d->metrics, *d->lambda);
  return d;
}

}  // namespace nexus::daemon
