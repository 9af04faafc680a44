// nexus-api: the HTTP gateway. Reads the config, connects to nexus-auth and
// nexusd, serves the HTTP contract until SIGINT/SIGTERM, exits 0 after a
// graceful stop.
#include <absl/synchronization/mutex.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/config.h"
#include "common/logging.h"
#include "gateway/access_log.h"
#include "gateway/auth_client.h"
#include "gateway/coalescing_auth_client.h"
#include "gateway/daemon_client.h"
#include "gateway/handlers/routes.h"
#include "gateway/pipeline.h"
#include "gateway/router.h"
#include "gateway/server.h"

int main(int argc, char** argv) {
  CLI::App app{"nexus-api: the Nexus HTTP gateway"};
  std::string config_path;
  app.add_option("--config", config_path, "TOML config file (defaults apply without one)");
  CLI11_PARSE(app, argc, argv);

  auto config = nexus::LoadConfig(config_path);
  if (!config.ok()) {
    std::cerr << "nexus-api: " << config.status().message() << "\n";
    return 2;
  }
  const nexus::Config& cfg = *config;
  nexus::InitLogging("nexus-api", cfg.log_level);
  nexus::gateway::InitAccessLog("nexus-api", cfg.log_level);

  // Debian's Abseil tracks lock order for deadlock detection on every
  // absl::Mutex use inside gRPC; that is a debugging aid costing a few
  // percent of each backend call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  using namespace nexus::gateway;
  const std::chrono::milliseconds timeout(cfg.gateway.backend_timeout_ms);
  std::unique_ptr<AuthClient> auth_rpc = MakeGrpcAuthClient(cfg.auth.listen, timeout);
  CoalescingAuthClient coalescing_auth(*auth_rpc);
  AuthClient* auth = &coalescing_auth;
  std::unique_ptr<DaemonClient> daemon = MakeGrpcDaemonClient(cfg.daemon.listen, timeout);

  Router router;
  RegisterRoutes(router, *auth, *daemon);
  Pipeline pipeline(router, *auth, PipelineOptions{cfg.gateway.max_json_bytes});

  ServerOptions options;
  options.listen = cfg.gateway.listen;
  options.threads = static_cast<int>(cfg.gateway.threads);
  Server server(pipeline, options);
  auto bound = server.Listen();
  if (!bound.ok()) {
    spdlog::error("nexus-api: {}", bound.status().message());
    return 1;
  }
  spdlog::info("nexus-api listening on http://{} (auth {}, daemon {})", *bound, cfg.auth.listen,
               cfg.daemon.listen);

  if (!server.Run()) {
    // Some request still waits on a backend call whose completion would
    // touch the stopped I/O loop: leave without running destructors.
    spdlog::warn("nexus-api stopped with requests still in flight");
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(0);
  }
  spdlog::info("nexus-api stopped");
  return 0;
}
