// The composition root of nexusd: WireDaemon builds every domain object of
// the daemon from the Config, choosing each back-end through its factory
// (storage/store_factories.h for chunks and metadata; NodeManager::ForHost and
// LambdaRunner::ForHost, which probe the host and pick the OCI runtime and
// cgroup back-end from runtime/oci_runtime_factory.h and runtime/cgroups.h).
// main.cc serves what it returns; tests wire their own from fakes.
//
// Before it returns, the storage start-up sweep has removed crash leftovers,
// the node manager has reconciled the host with its table and the lambda
// pool is filling: the daemon is ready to serve.
//
// Daemon owns everything and is neither copied nor moved (its members refer
// to each other); its members are declared in creation order, so they are
// destroyed in reverse: nodes and lambda (their threads and host state)
// first, the databases last. Its objects are thread-safe as their headers say.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/config.h"
#include "common/env.h"
#include "common/metrics/metrics.h"
#include "common/result.h"
#include "common/sql/connection.h"
#include "daemon/lambda/lambda.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/rpc/call_admission.h"
#include "daemon/rpc/daemon_metrics.h"
#include "daemon/rpc/health.h"
#include "daemon/storage/chunk_store.h"
#include "daemon/storage/file_service.h"
#include "daemon/storage/store_factories.h"
#include "daemon/tree/multipart_janitor.h"
#include "daemon/tree/tree_service.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon {

struct Daemon {
  Daemon() = default;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The figures the gateway's /metrics shows for nexusd; /proc is read
  // through proc_env.
  PosixEnv proc_env;
  std::unique_ptr<metrics::Registry> metrics;
  // Storage.
  storage::OpenMetadataStore metadata;
  storage::OpenMetadataStore metrics_metadata;  // read by the metrics alone
  // Probes the metrics' store: a health check waits for no upload's commit.
  std::unique_ptr<Health> health;
  std::unique_ptr<storage::ChunkStore> chunks;
  // On PostgreSQL, where other daemons may share the metadata and the
  // bucket: chunk leases and removals recorded for all (own connection).
  std::unique_ptr<sql::Connection> leases_db;
  std::unique_ptr<storage::ChunkLeaseTable> chunk_leases;
  std::unique_ptr<storage::FileService> files;
  std::unique_ptr<storage::TreeStore> tree_store;
  std::unique_ptr<storage::TreeService> tree;
  // Drops stale S3 multipart uploads (storage.multipart_expiry_seconds).
  std::unique_ptr<storage::MultipartJanitor> multipart_janitor;
  // Lambda and nodes; without root, runc or CNI they answer kUnavailable.
  std::unique_ptr<runtime::LambdaRunner> lambda;
  std::unique_ptr<sql::Connection> nodes_db;
  std::unique_ptr<runtime::NodeManager> nodes;
  // The shares of the long calls, sized to the lambda runner.
  CallLimits limits;
  std::unique_ptr<LambdaMetrics> lambda_metrics;
};

// Expects data_dir and the database's directory to exist. `clock` must
// outlive the Daemon.
Result<std::unique_ptr<Daemon>> WireDaemon(const Config& config, const Clock& clock);

}  // namespace nexus::daemon
