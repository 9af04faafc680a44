#include "daemon/rpc/services.h"

#include <grpcpp/resource_quota.h>

#include <cassert>

namespace nexus::daemon {

void ConfigureServer(grpc::ServerBuilder& builder, const CallLimits& limits) {
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  grpc::ResourceQuota quota("nexusd");
  quota.SetMaxThreads(ServerThreadsFor(limits));
  builder.SetResourceQuota(quota);  // takes its own reference
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              kMaxIdleServerThreads);
}

namespace {

const Health& Required(const Health* health) {
  assert(health != nullptr);
  return *health;
}

}  // namespace

DaemonServices::DaemonServices(DomainObjects domain, const CallLimits& limits)
    : limits_(limits), calls_(limits), health_(Required(domain.health)) {
  if (domain.files) files_ = std::make_unique<FilesRpc>(*domain.files, domain.tree, calls_);
  if (domain.tree) tree_ = std::make_unique<TreeRpc>(*domain.tree, calls_);
  if (domain.nodes) nodes_ = std::make_unique<NodesRpc>(*domain.nodes, calls_.admission);
  if (domain.lambda) {
    lambda_ = std::make_unique<LambdaRpc>(*domain.lambda, calls_.admission, domain.lambda_metrics);
  }
  if (domain.metrics) metrics_ = std::make_unique<MetricsRpc>(*domain.metrics);
}

void DaemonServices::RegisterOn(grpc::ServerBuilder& builder) {
  builder.RegisterService(&health_);
  if (files_) builder.RegisterService(files_.get());
  if (tree_) builder.RegisterService(tree_.get());
  if (nodes_) builder.RegisterService(nodes_.get());
  if (lambda_) builder.RegisterService(lambda_.get());
  if (metrics_) builder.RegisterService(metrics_.get());
  ConfigureServer(builder, limits_);
}

}  // namespace nexus::daemon
