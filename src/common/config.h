// Config: every setting of the three services, read from one nexus.toml and
// overridden by environment variables.
//
// Each key `[section] key` may be overridden by NEXUS_<SECTION>_<KEY>
// (top-level keys: NEXUS_<KEY>), upper-cased. Defaults are embedded so that
// Nexus runs with no file at all. Paths that default to "" are derived from
// data_dir by Finalize(). A loaded Config is immutable and thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"

namespace nexus {

struct GatewayConfig {
  std::string listen = "127.0.0.1:8080";
  int64_t max_json_bytes = 64 * 1024;
  int64_t threads = 0;                // 0 = number of cores
  int64_t backend_timeout_ms = 2000;  // deadline of each gRPC call
  std::string static_dir;             // web UI files, when present
};

struct AuthConfig {
  std::string listen;        // default unix:<data_dir>/run/auth.sock
  std::string db_path;       // default <data_dir>/auth.db
  std::string jwt_key_path;  // default <data_dir>/jwt.key
  int64_t otp_ttl_seconds = 300;
  int64_t jwt_ttl_hours = 24;
  int64_t otp_max_attempts = 5;
  int64_t resend_cooldown_seconds = 30;
  int64_t password_min_length = 6;
  // Token buckets on the init routes: `burst` requests at once, refilled at
  // one per `refill_seconds`.
  int64_t ip_rate_burst = 20;
  int64_t ip_rate_refill_seconds = 30;
  int64_t account_rate_burst = 5;
  int64_t account_rate_refill_seconds = 120;
};

struct MailConfig {
  std::string smtp_url;  // empty = write to outbox_dir
  std::string from = "Nexus <nexus@localhost>";
  std::string username;
  std::string password;
  std::string outbox_dir;  // default <data_dir>/mail/outbox
  int64_t timeout_seconds = 10;
};

struct DaemonConfig {
  std::string listen;   // default unix:<data_dir>/run/nexusd.sock
  std::string db_path;  // default <data_dir>/nexus.db
};

struct StorageConfig {
  int64_t quota_bytes = 10LL * 1024 * 1024 * 1024;
  int64_t chunk_min_bytes = 512 << 10;  // restic-class sizes: a small edit re-stores
  int64_t chunk_avg_bytes = 1 << 20;    // ~1-2 MiB, and an upload holds at most
  int64_t chunk_max_bytes = 8 << 20;    // one max chunk in memory
  std::string chunks_dir;               // default <data_dir>/chunks
};

struct LambdaConfig {
  std::string runc_path;  // empty: `runc` found on PATH
  std::string init_path;  // empty: nexus-lambda-init next to the nexusd binary
  int64_t timeout_ms_default = 10000;
  int64_t timeout_ms_max = 60000;
  int64_t memory_mb_default = 128;
  int64_t memory_mb_max = 1024;
  int64_t max_concurrent = 0;            // 0 = 2 x number of cores
  int64_t pool_size = 2;                 // pre-started sandboxes; 0 = every run starts cold
  int64_t output_limit_bytes = 1 << 20;  // per stream (stdout, stderr)
};

// The nodes' network: one CNI bridge per instance with host-local IPAM.
struct NetworkConfig {
  std::string bridge;                     // default "nx-<instance>" (at most 15 characters)
  std::string subnet = "10.0.42.0/24";    // the first node gets .2 (.1 is the bridge)
  int64_t ip_masq = 0;                    // 1: nodes reach the outside through NAT
  int64_t host_gateway = 1;               // 1: the bridge holds .1, so the host reaches nodes
  std::string cni_path = "/usr/lib/cni";  // directory of the CNI plugin binaries
};

struct NodesConfig {
  std::string runtime = "runc";  // OCI runtime binary: "runc" or "crun" (or a path)
  std::string base_rootfs;       // empty: the host's /usr, /bin, /lib*, /sbin
  int64_t max_memory_mb = 4096;
  int64_t max_storage_bytes = 10LL * 1024 * 1024 * 1024;
  int64_t pids_limit = 1024;
  int64_t metrics_interval_seconds = 5;
  int64_t metrics_history_seconds = 3600;
  int64_t exec_timeout_ms_max = 300000;
  int64_t exec_output_limit_bytes = 1 << 20;  // per stream (stdout, stderr)
  int64_t stop_timeout_ms = 10000;            // SIGTERM, then SIGKILL after this long
};

struct Config {
  std::string data_dir = "./var";
  std::string instance = "nexus";
  // State that lives as long as the processes it serves (lambda sandboxes'
  // bundles, runc's state): default /run/nexus-<instance>, so a sandbox's
  // mounts name no path of the data dir.
  std::string runtime_dir;
  std::string log_level = "info";
  GatewayConfig gateway;
  AuthConfig auth;
  MailConfig mail;
  DaemonConfig daemon;
  StorageConfig storage;
  LambdaConfig lambda;
  NetworkConfig network;
  NodesConfig nodes;
};

// Looks up an environment variable; injectable so tests need not touch the
// process environment. Returns nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;

// Parses TOML text (may be empty), applies env overrides, then derives paths.
// Unknown keys and ill-typed values are errors naming the key.
Result<Config> ParseConfig(const std::string& toml_text, const EnvLookup& env);

// Reads `path` (may be empty: defaults only) and calls ParseConfig with the
// process environment.
Result<Config> LoadConfig(const std::string& path);

}  // namespace nexus
