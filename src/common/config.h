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
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/result.h"

namespace nexus {

struct GatewayConfig {
  std::string listen = "127.0.0.1:8080";
  int64_t max_json_bytes = 64 * 1024;
  int64_t threads = 0;                // 0 = number of cores
  int64_t backend_timeout_ms = 2000;  // deadline of each gRPC call
  std::string static_dir;             // web UI files, when present
  // The key download links are signed with, shared by every gateway that
  // reads this file; default <data_dir>/download-link.key.
  std::string download_link_key_file;
  // An upload or download body whose average rate, over each window of this
  // many seconds spent waiting on the client, stays below this is cut off
  // (0: no floor).
  int64_t min_transfer_bytes_per_second = 4096;
  int64_t min_transfer_window_seconds = 30;
  // PEM files. Both set: HTTPS only (TLS 1.2+), re-read on SIGHUP. Both
  // empty: plain HTTP.
  std::string tls_cert;
  std::string tls_key;
  // The daemons this gateway sends calls to, comma-separated addresses as
  // daemon.listen takes them; default: daemon.listen alone. File, tree and
  // lambda calls go to any of them that answers, node calls to the one whose
  // host the node is recorded on, new nodes to the one with the most free
  // memory (daemon_router.h). A host:port address needs the three
  // daemon_tls_* files (mutual TLS). Empty: daemon.listen.
  std::string daemons;
  std::string daemon_tls_ca;    // PEM: the CA the daemons' certificates chain to
  std::string daemon_tls_cert;  // PEM: this gateway's client certificate chain
  std::string daemon_tls_key;   // PEM: its private key
};

struct AuthConfig {
  std::string listen;   // default unix:<data_dir>/run/auth.sock
  std::string db_path;  // default <data_dir>/auth.db
  // Where accounts, codes, revocations, app passwords and S3 keys live:
  // "sqlite" (db_path) or a libpq connection URI, postgres://... or
  // postgresql://..., for PostgreSQL, which several nexus-auth share (the
  // database must use collation "C"; it may be storage.metadata's).
  std::string metadata = "sqlite";
  std::string jwt_key_path;  // default <data_dir>/jwt.key
  int64_t otp_ttl_seconds = 300;
  int64_t jwt_ttl_hours = 24;
  // Wrong tries at one code: per client address (IPv6: per /64), and from
  // all addresses together. The total bounds the odds of guessing a 6-digit
  // code at otp_max_attempts_total / 10^6 (500: 5e-4).
  int64_t otp_max_attempts = 5;
  int64_t otp_max_attempts_total = 500;
  int64_t resend_cooldown_seconds = 30;
  int64_t password_min_length = 6;
  // Token buckets: `burst` requests at once, refilled at one per
  // `refill_seconds`. ip_*: init routes per client address; verify_ip_*:
  // verify routes per client address; account_*: codes mailed per account.
  int64_t ip_rate_burst = 20;
  int64_t ip_rate_refill_seconds = 30;
  int64_t verify_ip_rate_burst = 20;
  int64_t verify_ip_rate_refill_seconds = 30;
  int64_t account_rate_burst = 5;
  int64_t account_rate_refill_seconds = 120;
  // Wrong passwords per (account, client address): this many at once, then
  // each further one doubles the wait before the next try, from
  // login_backoff_seconds up to login_backoff_max_seconds.
  int64_t login_failure_burst = 5;
  int64_t login_backoff_seconds = 1;
  int64_t login_backoff_max_seconds = 900;
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
  // "unix:<path>", or "<host>:<port>" for gateways on other machines, which
  // needs all three tls_* files: TLS 1.2+ with client certificates required
  // and checked against tls_client_ca (a gateway's calls name any user).
  std::string listen;         // default unix:<data_dir>/run/nexusd.sock
  std::string tls_cert;       // PEM: this daemon's certificate chain
  std::string tls_key;        // PEM: its private key
  std::string tls_client_ca;  // PEM: the CA gateways' client certificates chain to
  std::string db_path;        // default <data_dir>/nexus.db
  // The name the nodes this daemon runs are recorded under, so daemons
  // sharing one database each keep to their own; default: the machine's
  // host name.
  std::string host_name;
  // Shares of the calls that hold a server thread for long: at most this
  // many at once, and at most `_per_user` of them for one user (16: above
  // the 10 parts awscli and boto3 send at once, so their transfers are
  // not refused in part).
  int64_t max_concurrent_downloads = 64;
  int64_t max_concurrent_downloads_per_user = 16;
  int64_t max_concurrent_uploads = 64;
  int64_t max_concurrent_uploads_per_user = 16;
  // A streaming call whose next message has not come (upload) or not been
  // taken (download) for this long is cancelled.
  int64_t stream_idle_timeout_seconds = 600;
};

struct StorageConfig {
  // Where the metadata of storage (files, chunks, the tree, quotas) lives:
  // "sqlite" (daemon.db_path) or a libpq connection URI, postgres://... or
  // postgresql://..., for PostgreSQL (the database must use collation "C").
  std::string metadata = "sqlite";
  // Connections the storage metadata keeps open for calls on several threads
  // at once (sql::ConnectionPool); readers use them side by side, writers
  // take turns on the database's write lock whatever the number.
  int64_t metadata_connections = 4;
  int64_t quota_bytes = 10LL * 1024 * 1024 * 1024;
  int64_t chunk_min_bytes = 512 << 10;  // restic-class sizes: a small edit re-stores
  int64_t chunk_avg_bytes = 1 << 20;    // ~1-2 MiB, and an upload holds at most
  int64_t chunk_max_bytes = 8 << 20;    // one max chunk in memory
  std::string chunks_dir;               // default <data_dir>/chunks
  // Where chunk bytes live: "fs" (under chunks_dir) or an S3-compatible
  // bucket, "s3://<bucket>[/<prefix>]?endpoint=<http(s)://host:port>&region=<r>"
  // (daemon/storage/s3_chunk_store.h). The s3_* keys only matter for s3.
  std::string chunks = "fs";
  std::string s3_access_key;
  std::string s3_secret_key;       // or s3_secret_key_file (mode 0600), not both
  std::string s3_secret_key_file;  // the secret, alone on its first line
  // Sweep leaves unreferenced chunk objects younger than this alone: another
  // daemon sharing the bucket may be uploading them.
  int64_t s3_sweep_grace_seconds = 3600;
  int64_t s3_max_attempts = 5;  // per request, retried on 5xx, 429 and network errors
  // Files (with or without a path) plus folders per user; negative: no limit.
  int64_t max_tree_entries = 1000000;
  // S3 multipart uploads neither completed nor aborted are dropped, with
  // their parts, this long after they started (MinIO's default); 0: never.
  int64_t multipart_expiry_seconds = 24 * 3600;
};

struct LambdaConfig {
  std::string runc_path;  // empty: `runc` found on PATH
  std::string init_path;  // empty: nexus-lambda-init next to the nexusd binary
  int64_t timeout_ms_default = 10000;
  int64_t timeout_ms_max = 60000;
  int64_t memory_mb_default = 128;
  int64_t memory_mb_max = 1024;
  int64_t max_concurrent = 0;  // 0 = 2 x number of cores
  int64_t pool_size = 2;       // pre-started sandboxes; 0 = every run starts cold
  // Runs at once for one user; 0 = max(1, max_concurrent / 2).
  int64_t max_concurrent_per_user = 0;
  int64_t output_limit_bytes = 1 << 20;  // per stream (stdout, stderr)
};

// The nodes' network: one CNI bridge per instance with host-local IPAM.
struct NetworkConfig {
  std::string bridge;                     // default "nx-<instance>" (at most 15 characters)
  std::string subnet = "10.0.42.0/24";    // the first node gets .2 (.1 is the bridge)
  int64_t ip_masq = 0;                    // 1: nodes reach the outside through NAT
  int64_t host_gateway = 1;               // 1: the bridge holds .1, so the host reaches nodes
  std::string cni_path = "/usr/lib/cni";  // directory of the CNI plugin binaries
  std::string host_ports;                 // "53,8080": host ports nodes may reach (TCP and UDP)
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
  // Per-user limits: what all nodes of one user may hold together.
  int64_t user_max_nodes = 10;
  int64_t user_max_memory_mb = 8192;
  int64_t user_max_storage_bytes = 50LL * 1024 * 1024 * 1024;
  // Host disk that node disks never get: every node's disk must be able to
  // grow to its full size with this much left free beside the node files.
  int64_t disk_reserve_bytes = 1LL * 1024 * 1024 * 1024;
  // Host memory that nodes never get: the memory limits of one host's nodes
  // together stay within its memory less this (for nexusd, the page cache
  // and the rest of the machine).
  int64_t host_memory_reserve_mb = 512;
  // Execs at once, and for one user; the same for create, start, stop and
  // delete (which drive runc, CNI and mounts, and wait on the node's lock).
  int64_t max_concurrent_execs = 32;
  int64_t max_concurrent_execs_per_user = 4;
  int64_t max_concurrent_changes = 16;
  int64_t max_concurrent_changes_per_user = 4;
};

// Who may read the gateway's /metrics: requests from the loopback address
// always; from elsewhere, those bearing this token (empty: nobody else).
struct MetricsConfig {
  std::string scrape_token;
};

// The S3 API of nexus-api: its own listener (path-style buckets and keys over
// each user's tree) and the region clients sign for. nexus-auth seals the
// S3 secret keys under the key in key_path.
struct S3Config {
  std::string listen = "127.0.0.1:9000";  // host:port; empty: no S3 listener
  std::string region = "us-east-1";
  std::string key_path;  // default <data_dir>/s3.key
  // Buckets are also addressed as <bucket>.<domain> (virtual-host style)
  // when set; empty: path-style only.
  std::string domain;
};

struct Config {
  std::string data_dir = "./var";
  std::string instance = "nexus";
  // State that lives as long as the processes it serves (lambda sandboxes'
  // bundles, runc's state): default /run/nexus-<instance>, so a sandbox's
  // mounts name no path of the data dir.
  std::string runtime_dir;
  std::string log_level = "info";
  std::string log_format = "text";  // "text" or "json" (one object a line)
  // On SIGTERM/SIGINT a service stops taking new work and gives the work
  // under way this long to finish before it exits.
  int64_t shutdown_grace_seconds = 30;
  GatewayConfig gateway;
  AuthConfig auth;
  MailConfig mail;
  DaemonConfig daemon;
  StorageConfig storage;
  LambdaConfig lambda;
  NetworkConfig network;
  NodesConfig nodes;
  MetricsConfig metrics;
  S3Config s3;
};

// Looks up an environment variable; injectable so tests need not touch the
// process environment. Returns nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;

// One setting as it would be written in nexus.toml: its dotted key
// ("gateway.listen", "data_dir") and its value as TOML text ("\"x\"", "30").
struct ConfigSetting {
  std::string key;
  std::string toml_value;
};

// Every setting of `config`, in the order of the config file's sections.
std::vector<ConfigSetting> ListSettings(const Config& config);

// Parses TOML text (may be empty), applies env overrides, then derives paths.
// Unknown keys and ill-typed values are errors naming the key.
Result<Config> ParseConfig(const std::string& toml_text, const EnvLookup& env);

// Reads `path` through `files` (may be empty: defaults only) and calls
// ParseConfig with the process environment.
Result<Config> LoadConfig(Env& files, const std::string& path);

// Whether a listen or daemon address is a Unix socket ("unix:<path>");
// anything else is TCP host:port.
inline bool IsUnixAddress(std::string_view address) { return address.starts_with("unix:"); }

// gateway.daemons split at commas, blanks around each address trimmed,
// empty entries dropped.
std::vector<std::string> SplitDaemonAddresses(std::string_view daemons);
// The daemons a gateway calls: gateway.daemons, or daemon.listen alone when
// that names none.
std::vector<std::string> GatewayDaemonAddresses(const Config& c);
// The same on the real file system.
Result<Config> LoadConfig(const std::string& path);

}  // namespace nexus
