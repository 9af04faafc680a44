#include "daemon/rpc/health_rpc.h"

#include "daemon/rpc/reply.h"

namespace nexus::daemon {

grpc::Status HealthRpc::Check(grpc::ServerContext*, const v1::HealthRequest*,
                              v1::HealthResponse* resp) {
  if (Status s = health_.Check(); !s.ok()) return Reply("health", s);
  resp->set_status("ok");
  return grpc::Status::OK;
}

}  // namespace nexus::daemon
