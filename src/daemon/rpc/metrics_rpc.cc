#include "daemon/rpc/metrics_rpc.h"

namespace nexus::daemon {

grpc::Status MetricsRpc::Collect(grpc::ServerContext*, const v1::CollectMetricsRequest*,
                                 v1::CollectMetricsResponse* resp) {
  resp->set_exposition(registry_.Expose());
  return grpc::Status::OK;
}

}  // namespace nexus::daemon
