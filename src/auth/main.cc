// nexus-auth: accounts, one-time codes and tokens, served over gRPC.
//
// Wires the modules together from the config, listens on auth.listen
// ("unix:<path>" by default, or "host:port"), and runs until SIGTERM/SIGINT,
// then shuts down gracefully and removes its socket.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "auth/app_password_secret.h"
#include "auth/app_password_store.h"
#include "auth/app_passwords.h"
#include "auth/auth_service.h"
#include "auth/crypto.h"
#include "auth/failure_backoff.h"
#include "auth/jwt.h"
#include "auth/mailer.h"
#include "auth/otp.h"
#include "auth/password.h"
#include "auth/rate_limiter.h"
#include "auth/s3_key_store.h"
#include "auth/s3_keys.h"
#include "auth/s3_secret_box.h"
#include "auth/service.h"
#include "auth/user_store.h"
#include "auth/worker_pool.h"
#include "common/config.h"
#include "common/env.h"
#include "common/grpc_lifetime.h"
#include "common/grpc_request_log.h"
#include "common/logging.h"
#include "common/metrics/process_metrics.h"

namespace nexus::auth {
namespace {

// Enough to overlap a few slow SMTP conversations; argon2 itself is capped
// at one per core by PasswordHasher.
constexpr size_t kWorkerThreads = 4;
constexpr size_t kMaxQueuedRequests = 256;

// The path of a "unix:<path>" address, or "" for a TCP "host:port".
std::string UnixSocketPath(const std::string& listen) {
  if (listen.rfind("unix://", 0) == 0) return listen.substr(7);
  if (listen.rfind("unix:", 0) == 0) return listen.substr(5);
  return "";
}

// Removes a socket file left by a previous run. A socket someone still
// answers on is not stale: refuse rather than steal it.
Status RemoveStaleSocket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoError(StatusCode::kInternal, "stat '" + path + "'", errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return InvalidArgumentError("'" + path + "' exists and is not a socket");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (live) return InvalidArgumentError("another process is listening on '" + path + "'");
  }
  if (::unlink(path.c_str()) != 0) {
    return ErrnoError(StatusCode::kInternal, "remove stale socket '" + path + "'", errno);
  }
  return Status::Ok();
}

int Run(const Config& cfg, const sigset_t& stop_signals) {
  auto fail = [](const Status& s) {
    spdlog::error("{}", s.ToString());
    return 1;
  };
  // The data directory holds the key and the database: owner only.
  PosixEnv env;
  auto ensure_dir = [&env](const std::string& dir) { return env.MakeDirs(dir, 0700); };
  if (Status s = ensure_dir(cfg.data_dir); !s.ok()) return fail(s);
  const std::string socket_path = UnixSocketPath(cfg.auth.listen);
  if (!socket_path.empty()) {
    if (socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
      return fail(InvalidArgumentError("socket path '" + socket_path + "' is longer than " +
                                       std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                       " bytes"));
    }
    auto dir = std::filesystem::path(socket_path).parent_path().string();
    if (!dir.empty()) {
      if (Status s = ensure_dir(dir); !s.ok()) return fail(s);
    }
    if (Status s = RemoveStaleSocket(socket_path); !s.ok()) return fail(s);
  }
  // The auth database: the SQLite file db_path, or a PostgreSQL URI (never
  // logged: it may hold a password).
  const bool on_postgres = cfg.auth.metadata != "sqlite";
  const std::string& db_target = on_postgres ? cfg.auth.metadata : cfg.auth.db_path;
  if (auto dir = std::filesystem::path(cfg.auth.db_path).parent_path().string();
      !on_postgres && !dir.empty()) {
    if (Status s = ensure_dir(dir); !s.ok()) return fail(s);
  }

  SystemClock clock;
  auto key = LoadOrCreateJwtKey(env, cfg.auth.jwt_key_path);
  if (!key.ok()) return fail(key.status());
  auto store = UserStore::Open(db_target);
  if (!store.ok()) return fail(store.status());
  spdlog::info("auth database: {}", on_postgres ? "PostgreSQL" : "SQLite " + cfg.auth.db_path);

  PasswordHasher passwords;
  // The OTP hash key comes from the same secret file as the JWT key, through
  // a one-way derivation, so neither use can stand in for the other.
  OtpHasher otp(DeriveSubkey(*key, "nexus-auth otp-hash v1"));
  JwtSigner jwt(*key, clock, cfg.auth.jwt_ttl_hours * 3600);
  RateLimiter ip_limiter(clock, {cfg.auth.ip_rate_burst, cfg.auth.ip_rate_refill_seconds});
  RateLimiter verify_limiter(
      clock, {cfg.auth.verify_ip_rate_burst, cfg.auth.verify_ip_rate_refill_seconds});
  RateLimiter account_limiter(clock,
                              {cfg.auth.account_rate_burst, cfg.auth.account_rate_refill_seconds});
  FailureBackoff login_backoff(clock, {cfg.auth.login_failure_burst, cfg.auth.login_backoff_seconds,
                                       cfg.auth.login_backoff_max_seconds});
  std::unique_ptr<Mailer> mailer = MakeMailer(cfg.mail, clock, env);
  AuthService auth(cfg.auth, {clock, **store, *mailer, passwords, otp, jwt, ip_limiter,
                              verify_limiter, account_limiter, login_backoff});
  // After UserStore::Open, which created and migrated the database.
  auto app_store = AppPasswordStore::Open(db_target);
  if (!app_store.ok()) return fail(app_store.status());
  AppPasswordHasher app_hasher(DeriveSubkey(*key, "nexus-auth app-password v1"));
  RateLimiter app_password_failures(clock, kAppPasswordFailurePolicy);
  AppPasswords app_passwords({}, {clock, **store, **app_store, app_hasher, app_password_failures});
  auto s3_box_key = LoadOrCreateS3SecretBoxKey(env, cfg.s3.key_path);
  if (!s3_box_key.ok()) return fail(s3_box_key.status());
  S3SecretBox s3_box(*s3_box_key);
  auto s3_store = S3KeyStore::Open(db_target);
  if (!s3_store.ok()) return fail(s3_store.status());
  S3Keys s3_keys({}, {clock, **store, **s3_store, s3_box});
  WorkerPool pool(kWorkerThreads, kMaxQueuedRequests);
  metrics::Registry registry;
  metrics::AddProcessMetrics(registry, env, "nexus-auth");
  AuthMetrics auth_metrics(registry);
  AuthGrpcService service(auth, pool, &auth_metrics, &app_passwords, &s3_keys);

  grpc::ServerBuilder builder;
  int selected_port = 0;
  // Unix sockets are protected by file permissions. TCP is plaintext for
  // now: use it only on a trusted network until TLS credentials are wired.
  builder.AddListeningPort(cfg.auth.listen, grpc::InsecureServerCredentials(),
                           socket_path.empty() ? &selected_port : nullptr);
  builder.RegisterService(&service);
  builder.experimental().SetInterceptorCreators(RequestLogInterceptors());
  ConfigureServer(builder, pool);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return fail(UnavailableError("cannot listen on '" + cfg.auth.listen + "'"));
  if (!socket_path.empty()) {
    // Owner and group (the gateway's account) may connect; nobody else.
    if (::chmod(socket_path.c_str(), 0660) != 0) {
      server->Shutdown();
      return fail(ErrnoError(StatusCode::kInternal, "chmod '" + socket_path + "'", errno));
    }
    spdlog::info("nexus-auth listening on {}", cfg.auth.listen);
  } else {
    spdlog::info("nexus-auth listening on {} (port {})", cfg.auth.listen, selected_port);
  }
  spdlog::info("mail: {}", cfg.mail.smtp_url.empty() ? "outbox " + cfg.mail.outbox_dir
                                                     : "SMTP " + RedactUrl(cfg.mail.smtp_url));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("nexus-auth: {} received, shutting down", strsignal(sig));
  // The server first, the pool after: Shutdown returns only when every call
  // has ended, and a call handed to the pool ends when its task has run. At
  // the deadline gRPC cancels the calls still open, so their queued tasks are
  // skipped and only those already running (argon2, a mail with its own
  // timeout) are waited for.
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(cfg.shutdown_grace_seconds));
  server->Wait();
  pool.Shutdown();
  if (!socket_path.empty()) ::unlink(socket_path.c_str());
  spdlog::info("nexus-auth stopped");
  return 0;
}

}  // namespace
}  // namespace nexus::auth

int main(int argc, char** argv) {
  // Everything nexus-auth creates (database, key, mail, directories) is for
  // its owner only, from the moment it exists; the explicit modes in the
  // code say the same, this covers what libraries create.
  ::umask(077);
  // Blocked before any thread starts, so every thread inherits the mask and
  // only sigwait in Run sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App app{"nexus-auth: accounts, one-time codes and tokens (gRPC)"};
  std::string config_path;
  app.add_option("--config", config_path, "TOML config file (default: built-in settings)");
  CLI11_PARSE(app, argc, argv);

  auto cfg = nexus::LoadConfig(config_path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "nexus-auth: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  nexus::InitLogging("nexus-auth", cfg->log_level, cfg->log_format);
  // Outlives everything Run owns; see grpc_lifetime.h.
  nexus::GrpcLibraryHold grpc_hold;
  nexus::ExitWithoutGrpcShutdown(nexus::auth::Run(*cfg, stop_signals));
}
