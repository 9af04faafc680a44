// MetricsRpc: the gRPC adapter for nexus.daemon.v1.Metrics: nexusd's
// registry written in the Prometheus text format, for the gateway's
// /metrics. Thread-safe; the registry must outlive it.
#pragma once

#include "common/metrics/metrics.h"
#include "nexus/daemon/v1/metrics.grpc.pb.h"

namespace nexus::daemon {

class MetricsRpc final : public ::nexus::daemon::v1::Metrics::Service {
 public:
  explicit MetricsRpc(const metrics::Registry& registry) : registry_(registry) {}

  grpc::Status Collect(grpc::ServerContext* ctx, const v1::CollectMetricsRequest* req,
                       v1::CollectMetricsResponse* resp) override;

 private:
  const metrics::Registry& registry_;
};

}  // namespace nexus::daemon
