#include "daemon/rpc/daemon_metrics.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <map>

#include "daemon/nodes/node_store.h"

namespace nexus::daemon {
namespace {

void Gauge(metrics::TextWriter& w, const char* name, const char* help, double value) {
  w.Family(name, help, metrics::Type::kGauge);
  w.Sample(name, {}, value);
}

}  // namespace

void AddStorageMetrics(metrics::Registry& registry, storage::MetadataStore& metadata,
                       storage::ChunkStore& chunks) {
  chunks.ObserveSyncs(&registry.AddHistogram(
      "nexus_storage_fsync_duration_seconds",
      "Time each chunk-store sync spent making new chunks and their directories durable.",
      metrics::FastLatencyBuckets()));
  registry.AddCollector([&metadata](metrics::TextWriter& w) {
    Result<storage::StorageTotals> f = metadata.Totals();
    if (!f.ok()) {
      spdlog::warn("metrics: {}", f.status().ToString());
      return;
    }
    Gauge(w, "nexus_storage_files", "Files stored, all users.", static_cast<double>(f->files));
    Gauge(w, "nexus_storage_logical_bytes", "Bytes users uploaded (sum of file sizes).",
          static_cast<double>(f->logical_bytes));
    Gauge(w, "nexus_storage_stored_bytes", "Bytes of distinct chunks (after deduplication).",
          static_cast<double>(f->stored_bytes));
    Gauge(w, "nexus_storage_chunks", "Distinct chunks stored.", static_cast<double>(f->chunks));
    // 1 when nothing is stored: no bytes were saved.
    Gauge(w, "nexus_storage_dedup_ratio", "Logical bytes per stored byte.",
          f->stored_bytes > 0
              ? static_cast<double>(f->logical_bytes) / static_cast<double>(f->stored_bytes)
              : 1.0);
  });
}

void AddNodeMetrics(metrics::Registry& registry, runtime::NodeManager& nodes) {
  registry.AddCollector([&nodes](metrics::TextWriter& w) {
    auto all = nodes.AllFigures();
    if (!all.ok()) return;  // no nodes here (no root, runc or CNI)
    std::map<std::string, int> by_status = {
        {runtime::kNodeCreating, 0}, {runtime::kNodeRunning, 0}, {runtime::kNodeStopped, 0}};
    for (const auto& n : *all) ++by_status[n.record.state];
    w.Family("nexus_nodes", "Nodes, by status.", metrics::Type::kGauge);
    for (const auto& [status, count] : by_status)
      w.Sample("nexus_nodes", {{"status", status}}, count);

    auto labels = [](const runtime::NodeRecord& r) {
      return metrics::Labels{{"node_id", r.name}, {"owner", r.owner}};
    };
    w.Family("container_memory_usage_bytes", "Current memory usage of a node, in bytes.",
             metrics::Type::kGauge);
    for (const auto& n : *all) {
      if (n.counters) {
        w.Sample("container_memory_usage_bytes", labels(n.record),
                 static_cast<double>(n.counters->memory_usage));
      }
    }
    w.Family("container_spec_memory_limit_bytes", "Memory limit of a node, in bytes.",
             metrics::Type::kGauge);
    for (const auto& n : *all) {
      w.Sample("container_spec_memory_limit_bytes", labels(n.record),
               static_cast<double>(n.record.memory_mb) * 1024 * 1024);
    }
    w.Family("container_cpu_usage_seconds_total", "CPU time a node has used, in seconds.",
             metrics::Type::kCounter);
    for (const auto& n : *all) {
      if (n.counters) {
        w.Sample("container_cpu_usage_seconds_total", labels(n.record),
                 static_cast<double>(n.counters->cpu_usage_ns) / 1e9);
      }
    }
  });
}

LambdaMetrics::LambdaMetrics(metrics::Registry& registry, runtime::LambdaRunner& runner)
    : ok_(registry.AddCounter("nexus_lambda_runs_total", "Lambda runs, by outcome.",
                              {{"outcome", "ok"}})),
      failed_(registry.AddCounter("nexus_lambda_runs_total", "Lambda runs, by outcome.",
                                  {{"outcome", "nonzero_exit"}})),
      timed_out_(registry.AddCounter("nexus_lambda_runs_total", "Lambda runs, by outcome.",
                                     {{"outcome", "timed_out"}})),
      oom_killed_(registry.AddCounter("nexus_lambda_runs_total", "Lambda runs, by outcome.",
                                      {{"outcome", "oom_killed"}})),
      error_(registry.AddCounter("nexus_lambda_runs_total", "Lambda runs, by outcome.",
                                 {{"outcome", "error"}})),
      duration_(registry.AddHistogram("nexus_lambda_run_duration_seconds",
                                      "Time a snippet ran, from its program's start to its end.",
                                      metrics::LatencyBuckets())),
      wait_(registry.AddHistogram(
          "nexus_lambda_queue_wait_seconds",
          "Time from a run's admission until its code started: waiting for a free slot and a "
          "sandbox (warm from the pool, or started cold).",
          metrics::LatencyBuckets())) {
  registry.AddCollector([&runner](metrics::TextWriter& w) {
    Gauge(w, "nexus_lambda_pool_idle_sandboxes", "Warm sandboxes waiting in the pool.",
          static_cast<double>(runner.idle_sandboxes()));
    Gauge(w, "nexus_lambda_pool_target_size", "Warm sandboxes the pool keeps ready.",
          static_cast<double>(runner.options().pool_size));
  });
}

void LambdaMetrics::RunFinished(const Result<runtime::LambdaResult>& result, double wall_seconds) {
  if (!result.ok()) {
    error_.Inc();
    return;
  }
  if (result->timed_out) {
    timed_out_.Inc();
  } else if (result->oom_killed) {
    oom_killed_.Inc();
  } else if (result->exit_code != 0) {
    failed_.Inc();
  } else {
    ok_.Inc();
  }
  const double ran = static_cast<double>(result->execution_time_ms) / 1000;
  duration_.Observe(ran);
  wait_.Observe(std::max(0.0, wall_seconds - ran));
}

}  // namespace nexus::daemon
