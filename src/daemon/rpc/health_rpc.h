// HealthRpc: the gRPC adapter for nexus.daemon.v1.Health over the domain's
// Health check (health.h). Always registered: the gateway's /health asks it.
// Thread-safe; the Health must outlive it.
#pragma once

#include "daemon/rpc/health.h"
#include "nexus/daemon/v1/health.grpc.pb.h"

namespace nexus::daemon {

class HealthRpc final : public ::nexus::daemon::v1::Health::Service {
 public:
  explicit HealthRpc(const ::nexus::daemon::Health& health) : health_(health) {}

  grpc::Status Check(grpc::ServerContext* ctx, const v1::HealthRequest* req,
                     v1::HealthResponse* resp) override;

 private:
  const ::nexus::daemon::Health& health_;
};

}  // namespace nexus::daemon
