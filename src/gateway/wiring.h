// Wiring: the composition root of nexus-api. Each back-end choice is made in
// one factory here (which auth service, which daemon, how the server
// listens), and Gateway puts the parts together in the order they depend on
// each other: back-end clients, routes, pipeline, server. main.cc only reads
// the flags and the config, builds a Gateway and runs its server.
// The gRPC library must be initialised (a GrpcLibraryHold alive) before a
// Gateway is built. Gateway is built and run from one thread.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/config.h"
#include "common/env.h"
#include "common/metrics/metrics.h"
#include "gateway/api/download_link.h"
#include "gateway/backends/auth_client.h"
#include "gateway/backends/coalescing_auth_client.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/pipeline.h"
#include "gateway/http/router.h"
#include "gateway/http/server.h"
#include "gateway/metrics/http_metrics.h"
#include "gateway/static/static_assets.h"

namespace nexus::gateway {

// The client of nexus-auth at cfg.auth.listen, with the backend deadline;
// `metrics` (may be null) gets its calls' figures.
std::unique_ptr<AuthClient> MakeAuthClient(const Config& cfg, BackendMetrics* metrics = nullptr);
// The client of the daemons of cfg.gateway.daemons, with the backend
// deadline: one address, a client of it; several, a DaemonRouter over them
// (daemon_router.h). `tls` (grpc_tls.h) is used for the TCP addresses.
std::unique_ptr<DaemonClient> MakeDaemonClient(
    const Config& cfg, BackendMetrics* metrics = nullptr,
    std::shared_ptr<grpc::ChannelCredentials> tls = nullptr);
PipelineOptions PipelineOptionsFrom(const Config& cfg, HttpMetrics* metrics = nullptr);
ServerOptions ServerOptionsFrom(const Config& cfg);
// The S3 listener's: the gateway's, on s3.listen.
ServerOptions S3ServerOptionsFrom(const Config& cfg);

// The whole gateway, wired from a config. Members are declared in the order
// they depend on each other, so each outlives what holds a reference to it.
class Gateway {
 public:
  // `download_link_key` is DownloadLinks::kKeyBytes of secret (see
  // download_link_key.h).
  // `daemon_tls`: the mutual TLS credentials for TCP daemon addresses (null
  // when gateway.daemons has none).
  Gateway(const Config& cfg, std::string download_link_key,
          std::shared_ptr<grpc::ChannelCredentials> daemon_tls = nullptr);
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  Server& server() { return server_; }
  // The S3 API's server; nullptr when s3.listen is empty.
  Server* s3_server() { return s3_server_.get(); }

 private:
  // The gateway's figures, first: the clients and the pipeline count into
  // them. /proc is read through proc_env_.
  PosixEnv proc_env_;
  metrics::Registry metrics_;
  HttpMetrics http_metrics_;
  BackendMetrics auth_metrics_;
  BackendMetrics daemon_metrics_;
  std::unique_ptr<AuthClient> auth_rpc_;
  // Every /api request validates its token: concurrent validations of one
  // token share a backend call.
  CoalescingAuthClient auth_;
  std::unique_ptr<DaemonClient> daemon_;
  // The web UI: signed download links and its files, both read by routes.
  SystemClock clock_;
  DownloadLinks download_links_;
  StaticAssets web_assets_;
  Router router_;
  Pipeline pipeline_;
  Server server_;
  // The S3 API: a router, pipeline and server of its own on s3.listen.
  Router s3_router_;
  Pipeline s3_pipeline_;
  std::unique_ptr<Server> s3_server_;
};

}  // namespace nexus::gateway
