// nexusd's figures for the gateway's /metrics (served by MetricsRpc).
//
//  - storage: logical bytes (what users uploaded), stored bytes (distinct
//    chunks after dedup), chunks, files and the dedup ratio, read from the
//    database at scrape time; the latency of each chunk-store Sync (its
//    fsyncs) as a histogram;
//  - nodes: count by status, and per node the cAdvisor-style
//    container_memory_usage_bytes, container_spec_memory_limit_bytes and
//    container_cpu_usage_seconds_total from the sampler's last reading,
//    labelled by node id (its name) and owner;
//  - lambda: runs by outcome and their duration, the wait before a run's
//    code starts, and the warm pool's size.
// Labels are bounded: outcomes and statuses are fixed sets, and a node
// series exists only while its node does. Thread-safe; everything given
// must outlive the registry.
#pragma once

#include "common/metrics/metrics.h"
#include "common/result.h"
#include "daemon/lambda/lambda.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/storage/chunk_store.h"
#include "daemon/storage/metadata_store.h"

namespace nexus::daemon {

// Registers the storage collector over `metadata` (whichever database holds
// it) and the Sync latency histogram of `chunks`.
void AddStorageMetrics(metrics::Registry& registry, storage::MetadataStore& metadata,
                       storage::ChunkStore& chunks);

void AddNodeMetrics(metrics::Registry& registry, runtime::NodeManager& nodes);

// Counts lambda runs; LambdaRpc calls RunFinished for each.
class LambdaMetrics {
 public:
  LambdaMetrics(metrics::Registry& registry, runtime::LambdaRunner& runner);

  // A run's outcome; `wall_seconds` from its admission to its answer.
  void RunFinished(const Result<runtime::LambdaResult>& result, double wall_seconds);

 private:
  metrics::Counter& ok_;
  metrics::Counter& failed_;
  metrics::Counter& timed_out_;
  metrics::Counter& oom_killed_;
  metrics::Counter& error_;
  metrics::Histogram& duration_;
  metrics::Histogram& wait_;
};

}  // namespace nexus::daemon
