#include "gateway/wiring.h"

#include <chrono>

#include "gateway/api/routes.h"

namespace nexus::gateway {
namespace {

std::chrono::milliseconds BackendTimeout(const Config& cfg) {
  return std::chrono::milliseconds(cfg.gateway.backend_timeout_ms);
}

}  // namespace

std::unique_ptr<AuthClient> MakeAuthClient(const Config& cfg) {
  return MakeGrpcAuthClient(cfg.auth.listen, BackendTimeout(cfg));
}

std::unique_ptr<DaemonClient> MakeDaemonClient(const Config& cfg) {
  return MakeGrpcDaemonClient(cfg.daemon.listen, BackendTimeout(cfg));
}

PipelineOptions PipelineOptionsFrom(const Config& cfg) {
  return PipelineOptions{cfg.gateway.max_json_bytes};
}

ServerOptions ServerOptionsFrom(const Config& cfg) {
  ServerOptions options;
  options.listen = cfg.gateway.listen;
  options.threads = static_cast<int>(cfg.gateway.threads);
  options.min_transfer_bytes_per_second = cfg.gateway.min_transfer_bytes_per_second;
  options.min_transfer_window = std::chrono::seconds(cfg.gateway.min_transfer_window_seconds);
  options.shutdown_grace = std::chrono::seconds(cfg.shutdown_grace_seconds);
  options.tls_cert = cfg.gateway.tls_cert;
  options.tls_key = cfg.gateway.tls_key;
  return options;
}

Gateway::Gateway(const Config& cfg)
    : auth_rpc_(MakeAuthClient(cfg)),
      auth_(*auth_rpc_),
      daemon_(MakeDaemonClient(cfg)),
      pipeline_(router_, auth_, PipelineOptionsFrom(cfg)),
      server_(pipeline_, ServerOptionsFrom(cfg)) {
  RegisterRoutes(router_, auth_, *daemon_);
}

}  // namespace nexus::gateway
