#include "gateway/wiring.h"

#include <chrono>

#include "common/metrics/process_metrics.h"
#include "gateway/api/download_link_handlers.h"
#include "gateway/api/routes.h"
#include "gateway/backends/daemon_router.h"
#include "gateway/dav/dav_handler.h"
#include "gateway/metrics/metrics_handler.h"
#include "gateway/s3/s3_handler.h"
#include "gateway/static/static_routes.h"
#include "gateway/static/web_root.h"

namespace nexus::gateway {
namespace {

std::chrono::milliseconds BackendTimeout(const Config& cfg) {
  return std::chrono::milliseconds(cfg.gateway.backend_timeout_ms);
}

}  // namespace

std::unique_ptr<AuthClient> MakeAuthClient(const Config& cfg, BackendMetrics* metrics) {
  return MakeGrpcAuthClient(cfg.auth.listen, BackendTimeout(cfg), metrics);
}

std::unique_ptr<DaemonClient> MakeDaemonClient(const Config& cfg, BackendMetrics* metrics,
                                               std::shared_ptr<grpc::ChannelCredentials> tls) {
  const std::vector<std::string> addresses = GatewayDaemonAddresses(cfg);
  auto credentials_for = [&](const std::string& address) {
    return IsUnixAddress(address) ? nullptr : tls;
  };
  if (addresses.size() == 1) {
    return MakeGrpcDaemonClient(addresses[0], BackendTimeout(cfg), metrics,
                                credentials_for(addresses[0]));
  }
  std::vector<RoutedDaemon> daemons;
  for (const std::string& address : addresses) {
    auto channel = MakeDaemonChannel(address, credentials_for(address));
    daemons.push_back(RoutedDaemon{
        address, MakeGrpcDaemonClient(channel, BackendTimeout(cfg), metrics), channel});
  }
  return MakeDaemonRouter(std::move(daemons));
}

PipelineOptions PipelineOptionsFrom(const Config& cfg, HttpMetrics* metrics) {
  return PipelineOptions{cfg.gateway.max_json_bytes, metrics};
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

ServerOptions S3ServerOptionsFrom(const Config& cfg) {
  ServerOptions options = ServerOptionsFrom(cfg);
  options.listen = cfg.s3.listen;
  return options;
}

Gateway::Gateway(const Config& cfg, std::string download_link_key,
                 std::shared_ptr<grpc::ChannelCredentials> daemon_tls)
    : http_metrics_(metrics_),
      auth_metrics_(metrics_, "auth",
                    {"RegisterInit", "RegisterVerify", "LoginInit", "LoginVerify", "ValidateToken",
                     "Logout", "Health", "Metrics", "GetS3KeySecret"}),
      daemon_metrics_(
          metrics_, "daemon",
          {"Health",       "CollectMetrics", "UploadFile",   "ListFiles",     "GetFile",
           "DownloadFile", "DeleteFile",     "GetUsage",     "MakeDirectory", "ListDirectory",
           "DeletePath",   "MovePath",       "DownloadPath", "StatPath",      "CopyPath",
           "SetModified",  "PatchProps",     "ListProps",    "RunLambda",     "CreateNode",
           "ListNodes",    "GetNode",        "StartNode",    "StopNode",      "DeleteNode",
           "ExecNode",     "GetNodeMetrics", "LockPath",     "RefreshLock",   "UnlockPath",
           "ListLocks",    "GetHost"}),
      auth_rpc_(MakeAuthClient(cfg, &auth_metrics_)),
      auth_(*auth_rpc_),
      daemon_(MakeDaemonClient(cfg, &daemon_metrics_, std::move(daemon_tls))),
      download_links_(clock_, std::move(download_link_key)),
      web_assets_(LoadWebUi(proc_env_, cfg.gateway.static_dir,
                            UiSettings{.mail_outbox = cfg.mail.smtp_url.empty()})),
      pipeline_(router_, auth_, PipelineOptionsFrom(cfg, &http_metrics_)),
      server_(pipeline_, ServerOptionsFrom(cfg)),
      // Not counted in the gateway's HTTP figures: its routes are the API's.
      s3_pipeline_(s3_router_, auth_, PipelineOptionsFrom(cfg)) {
  metrics::AddProcessMetrics(metrics_, proc_env_, "nexus-api");
  RegisterRoutes(router_, auth_, *daemon_);
  dav::RegisterDavRoutes(router_, *daemon_);
  RegisterMetricsRoute(router_, metrics_, auth_, *daemon_, cfg.metrics.scrape_token);
  RegisterDownloadLinkRoutes(router_, *daemon_, download_links_);
  // Last: a file never takes a path an API route has.
  RegisterStaticRoutes(router_, web_assets_);
  http_metrics_.AddRoutes(router_);
  if (!cfg.s3.listen.empty()) {
    s3::RegisterS3Routes(s3_router_, auth_, *daemon_, clock_,
                         s3::S3Settings{cfg.s3.region, cfg.s3.domain});
    s3_server_ = std::make_unique<Server>(s3_pipeline_, S3ServerOptionsFrom(cfg));
  }
}

}  // namespace nexus::gateway
