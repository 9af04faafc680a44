// nexus-api: the HTTP gateway. Reads the config, connects to nexus-auth and
// nexusd, serves the HTTP contract until SIGINT/SIGTERM, exits 0 after a
// graceful stop.
#include <absl/synchronization/mutex.h>
#include <fmt/ranges.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <thread>

#include "common/config.h"
#include "common/env.h"
#include "common/grpc_lifetime.h"
#include "common/grpc_tls.h"
#include "common/logging.h"
#include "gateway/api/download_link_key.h"
#include "gateway/http/access_log.h"
#include "gateway/wiring.h"

int main(int argc, char** argv) {
  // Downloads pass ~1 MiB buffers through here all the time (gRPC's socket
  // reads, the messages they become). Above glibc's mmap threshold each was
  // a fresh mmap, and freed heap tops went back to the kernel: every message
  // then paid page faults on zeroed pages, which cost more CPU than moving
  // its bytes (a 1 GiB download took 2.0-2.5 s of nexus-api CPU, 0.8-1.0 s
  // with these). Large buffers now stay in the heap for reuse; what it
  // keeps is bounded by the most that was in use at once, plus the trim
  // threshold.
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);

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
  nexus::InitLogging("nexus-api", cfg.log_level, cfg.log_format);
  nexus::gateway::InitAccessLog("nexus-api", cfg.log_level);

  // Debian's Abseil tracks lock order for deadlock detection on every
  // absl::Mutex use inside gRPC; that is a debugging aid costing a few
  // percent of each backend call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  nexus::PosixEnv env;
  auto link_key =
      nexus::gateway::LoadOrCreateDownloadLinkKey(env, cfg.gateway.download_link_key_file);
  if (!link_key.ok()) {
    spdlog::error("nexus-api: {}", link_key.status().message());
    return 1;
  }

  // Held until exit, so leaving never waits on gRPC's own shutdown; see
  // grpc_lifetime.h.
  nexus::GrpcLibraryHold grpc_hold;
  std::shared_ptr<grpc::ChannelCredentials> daemon_tls;
  if (!cfg.gateway.daemon_tls_ca.empty()) {
    auto tls = nexus::MutualTlsChannelCredentials(
        cfg.gateway.daemon_tls_ca, cfg.gateway.daemon_tls_cert, cfg.gateway.daemon_tls_key);
    if (!tls.ok()) {
      spdlog::error("nexus-api: daemon TLS: {}", tls.status().message());
      return 1;
    }
    daemon_tls = std::move(tls).value();
  } else {
    for (const std::string& address : nexus::GatewayDaemonAddresses(cfg)) {
      if (nexus::IsUnixAddress(address)) continue;
      // nexusd accepts TCP only with mutual TLS (config.h DaemonConfig).
      spdlog::error(
          "nexus-api: daemon address '{}' is TCP: set gateway.daemon_tls_ca, "
          "gateway.daemon_tls_cert and gateway.daemon_tls_key",
          address);
      return 1;
    }
  }
  nexus::gateway::Gateway gateway(cfg, std::move(link_key).value(), std::move(daemon_tls));
  nexus::gateway::Server& server = gateway.server();
  auto bound = server.Listen();
  if (!bound.ok()) {
    spdlog::error("nexus-api: {}", bound.status().message());
    return 1;
  }
  spdlog::info("nexus-api listening on {}://{} (auth {}, daemons {})",
               cfg.gateway.tls_cert.empty() ? "http" : "https", *bound, cfg.auth.listen,
               fmt::join(nexus::GatewayDaemonAddresses(cfg), ","));

  // The S3 API on its own listener and threads; it stops on the same
  // signals. One that cannot listen leaves the rest of the gateway serving.
  std::thread s3_thread;
  if (nexus::gateway::Server* s3 = gateway.s3_server()) {
    auto s3_bound = s3->Listen();
    if (s3_bound.ok()) {
      spdlog::info("nexus-api: S3 API listening on {}://{} (region {})",
                   cfg.gateway.tls_cert.empty() ? "http" : "https", *s3_bound, cfg.s3.region);
      s3_thread = std::thread([s3] {
        if (!s3->Run()) spdlog::warn("the S3 API stopped with requests still in flight");
      });
    } else {
      spdlog::error("nexus-api: no S3 API: {}", s3_bound.status().message());
    }
  }

  const bool clean = server.Run();
  if (s3_thread.joinable()) {
    gateway.s3_server()->Stop();
    s3_thread.join();
  }
  if (!clean) {
    // Some request still waits on a backend call whose completion would
    // touch the stopped I/O loop: leaving without destructors (as below)
    // is what makes that safe.
    spdlog::warn("nexus-api stopped with requests still in flight");
    nexus::ExitWithoutGrpcShutdown(0);
  }
  spdlog::info("nexus-api stopped");
  // Nothing of the gateway's outlives the process (it keeps no state), so
  // its destructors are skipped with gRPC's shutdown.
  nexus::ExitWithoutGrpcShutdown(0);
}
