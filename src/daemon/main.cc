// nexusd: loads the config, has the composition root (wiring.h) open its
// metadata database (nexus.db, or PostgreSQL) and wire the storage, the
// lambda runner and the node manager, serves nexus.daemon.v1.Daemon on a
// Unix socket (or, for gateways on other machines, on TCP with mutual TLS),
// and shuts down cleanly on SIGTERM/SIGINT (in-flight calls get a grace
// period, then the domain objects go in reverse order of creation).

#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "common/clock.h"
#include "common/config.h"
#include "common/grpc_lifetime.h"
#include "common/grpc_request_log.h"
#include "common/grpc_tls.h"
#include "common/logging.h"
#include "common/private_files.h"
#include "daemon/rpc/call_admission.h"
#include "daemon/rpc/grpc_unix_listener.h"
#include "daemon/rpc/health.h"
#include "daemon/rpc/services.h"
#include "daemon/rpc/unix_socket.h"
#include "daemon/wiring.h"

namespace nexus::daemon {
namespace {

namespace fs = std::filesystem;

// Owner and group may connect; the socket's permissions are the access
// control between services (ARCHITECTURE.md "Processes").
constexpr mode_t kSocketMode = 0660;

Status MakeDirs(const fs::path& dir) {
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return UnavailableError("create directory '" + dir.string() + "': " + ec.message());
  return Status::Ok();
}

// Blocks the shutdown signals in this thread before gRPC starts its own
// threads, so every thread inherits the mask and only sigwait sees them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

Status Run(const Config& cfg, const sigset_t& shutdown_signals) {
  // 0700: it holds nexus.db, the chunk store and the services' sockets and
  // secrets (private_files.h says why an existing one is tightened too).
  NEXUS_RETURN_IF_ERROR(MakePrivateDirectory(cfg.data_dir).WithContext("data dir"));
  const bool tcp = !IsUnixAddress(cfg.daemon.listen);
  std::string socket_path;
  std::shared_ptr<grpc::ServerCredentials> tls;
  if (tcp) {
    // Config validation made sure all three files are named.
    NEXUS_ASSIGN_OR_RETURN(tls, MutualTlsServerCredentials(cfg.daemon.tls_cert, cfg.daemon.tls_key,
                                                           cfg.daemon.tls_client_ca));
  } else {
    NEXUS_ASSIGN_OR_RETURN(socket_path, UnixSocketPath(cfg.daemon.listen));
    NEXUS_RETURN_IF_ERROR(MakeDirs(fs::path(socket_path).parent_path()));
  }
  NEXUS_RETURN_IF_ERROR(MakeDirs(fs::path(cfg.daemon.db_path).parent_path()));

  // Outlives the daemon, which stamps files, trees and node metrics with it.
  SystemClock clock;
  // Storage, lambda and nodes, ready to serve (wiring.h).
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<Daemon> daemon, WireDaemon(cfg, clock));
  const CallLimits& limits = daemon->limits;
  DaemonServices services({.health = daemon->health.get(),
                           .files = daemon->files.get(),
                           .tree = daemon->tree.get(),
                           .lambda = daemon->lambda.get(),
                           .nodes = daemon->nodes.get(),
                           .metrics = daemon->metrics.get(),
                           .lambda_metrics = daemon->lambda_metrics.get()},
                          limits);

  std::unique_ptr<GrpcUnixListener> listener;
  grpc::ServerBuilder builder;
  int tcp_port = 0;
  if (tcp) {
    builder.AddListeningPort(cfg.daemon.listen, tls, &tcp_port);
  } else {
    NEXUS_RETURN_IF_ERROR(ClearStaleSocket(socket_path));
    // No listening port: the listener accepts and hands each connection
    // over (see grpc_unix_listener.h for why).
    NEXUS_ASSIGN_OR_RETURN(listener, GrpcUnixListener::Bind(socket_path, kSocketMode));
  }
  services.RegisterOn(builder);
  builder.experimental().SetInterceptorCreators(RequestLogInterceptors());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return UnavailableError("the gRPC server did not start");
  if (tcp && tcp_port == 0) {
    server->Shutdown();
    return UnavailableError("cannot listen on " + cfg.daemon.listen);
  }
  if (listener != nullptr) {
    if (Status s = listener->Start(server.get()); !s.ok()) {
      server->Shutdown();
      return s;
    }
  }
  // The metadata setting may be a URI with a password: only its kind is logged.
  spdlog::info("nexusd listening on {}{} as host {} (database {}, metadata {}, chunks {})",
               cfg.daemon.listen, tcp ? " (mutual TLS)" : "", cfg.daemon.host_name,
               cfg.daemon.db_path, cfg.storage.metadata == "sqlite" ? "sqlite" : "postgres",
               cfg.storage.chunks_dir);
  spdlog::info(
      "nexusd: at once (all users / one user): downloads {}/{}, uploads {}/{}, lambda runs {}/{}, "
      "execs {}/{}, node changes {}/{}; {} server threads; idle streams cancelled after {} s",
      limits.downloads.global, limits.downloads.per_user, limits.uploads.global,
      limits.uploads.per_user, limits.lambda_runs.global, limits.lambda_runs.per_user,
      limits.execs.global, limits.execs.per_user, limits.node_changes.global,
      limits.node_changes.per_user, ServerThreadsFor(limits),
      std::chrono::duration_cast<std::chrono::seconds>(limits.stream_idle_timeout).count());

  int sig = 0;
  sigwait(&shutdown_signals, &sig);
  spdlog::info("nexusd: {} received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  if (listener != nullptr) listener->Stop();
  // Calls still open at the deadline are cancelled; a cancelled upload keeps
  // nothing (files_rpc.cc).
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(cfg.shutdown_grace_seconds));
  server->Wait();
  if (!socket_path.empty() && ::unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("remove socket '{}': {}", socket_path, std::strerror(errno));
  }
  spdlog::info("nexusd stopped");
  return Status::Ok();
}

}  // namespace
}  // namespace nexus::daemon

int main(int argc, char** argv) {
  // Memory. gRPC serves calls on many threads, and glibc gives threads up
  // to 8 x cores malloc arenas, each keeping what was freed in it: during 8
  // parallel uploads those pools, not the chunk buffers, were most of
  // nexusd's resident memory. Two arenas bound that. Large buffers (chunks,
  // messages) stay in the heap for reuse instead of being mmapped and
  // page-faulted afresh for every chunk.
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  sigset_t shutdown_signals = nexus::daemon::BlockShutdownSignals();

  CLI::App app{"nexusd: the Nexus daemon (files, nodes, lambda)"};
  std::string config_path;
  app.add_option("--config", config_path,
                 "nexus.toml to read (default: embedded defaults and NEXUS_* variables)");
  CLI11_PARSE(app, argc, argv);

  auto cfg = nexus::LoadConfig(config_path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "nexusd: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  nexus::InitLogging("nexusd", cfg->log_level, cfg->log_format);
  // Outlives everything Run owns, so its teardown (lambda sandboxes, nodes'
  // host state, the database) never waits on gRPC's; see grpc_lifetime.h.
  nexus::GrpcLibraryHold grpc_hold;
  nexus::Status s = nexus::daemon::Run(*cfg, shutdown_signals);
  if (!s.ok()) {
    spdlog::error("nexusd: {}", s.ToString());
    nexus::ExitWithoutGrpcShutdown(1);
  }
  nexus::ExitWithoutGrpcShutdown(0);
}
