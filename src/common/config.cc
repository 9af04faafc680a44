#include "common/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>
#include <variant>
#include <vector>

namespace nexus {
namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;
constexpr int64_t kGiB = 1024 * kMiB;
constexpr int64_t kEiB = kGiB * kGiB;
constexpr int64_t kDaySeconds = 24 * 60 * 60;
constexpr int64_t kDayMs = kDaySeconds * 1000;

// One row per setting. The table drives TOML parsing, env overrides, the
// unknown-key check and the range check, so adding a setting is one line
// here. An integer outside [min, max] is an error at start-up naming the key:
// the bounds keep every setting far from where the code that uses it would
// overflow (milliseconds added to a clock, MiB shifted into bytes) and out of
// values that mean nothing (a timeout of 0, a negative size).
struct Binding {
  std::string_view section;  // "" for top-level keys
  std::string_view key;
  std::variant<std::string*, int64_t*> target;
  int64_t min = 0;  // integers only
  int64_t max = std::numeric_limits<int64_t>::max();
};

std::vector<Binding> Bindings(Config& c) {
  return {
      {"", "data_dir", &c.data_dir},
      {"", "instance", &c.instance},
      {"", "runtime_dir", &c.runtime_dir},
      {"", "log_level", &c.log_level},
      {"", "log_format", &c.log_format},
      {"", "shutdown_grace_seconds", &c.shutdown_grace_seconds, 1, kDaySeconds},
      {"gateway", "listen", &c.gateway.listen},
      {"gateway", "max_json_bytes", &c.gateway.max_json_bytes, 1, kGiB},
      {"gateway", "threads", &c.gateway.threads, 0, 1024},
      {"gateway", "backend_timeout_ms", &c.gateway.backend_timeout_ms, 1, kDayMs},
      {"gateway", "static_dir", &c.gateway.static_dir},
      {"gateway", "download_link_key_file", &c.gateway.download_link_key_file},
      {"gateway", "min_transfer_bytes_per_second", &c.gateway.min_transfer_bytes_per_second, 0,
       kGiB},
      {"gateway", "min_transfer_window_seconds", &c.gateway.min_transfer_window_seconds, 1,
       kDaySeconds},
      {"gateway", "tls_cert", &c.gateway.tls_cert},
      {"gateway", "daemons", &c.gateway.daemons},
      {"gateway", "daemon_tls_ca", &c.gateway.daemon_tls_ca},
      {"gateway", "daemon_tls_cert", &c.gateway.daemon_tls_cert},
      {"gateway", "daemon_tls_key", &c.gateway.daemon_tls_key},
      {"gateway", "tls_key", &c.gateway.tls_key},
      {"metrics", "scrape_token", &c.metrics.scrape_token},
      {"s3", "listen", &c.s3.listen},
      {"s3", "region", &c.s3.region},
      {"s3", "key_path", &c.s3.key_path},
      {"s3", "domain", &c.s3.domain},
      {"auth", "listen", &c.auth.listen},
      {"auth", "db_path", &c.auth.db_path},
      {"auth", "metadata", &c.auth.metadata},
      {"auth", "jwt_key_path", &c.auth.jwt_key_path},
      {"auth", "otp_ttl_seconds", &c.auth.otp_ttl_seconds, 1, kDaySeconds},
      {"auth", "jwt_ttl_hours", &c.auth.jwt_ttl_hours, 1, 24 * 366},
      {"auth", "otp_max_attempts", &c.auth.otp_max_attempts, 1, 1000},
      {"auth", "otp_max_attempts_total", &c.auth.otp_max_attempts_total, 1, 999},
      {"auth", "resend_cooldown_seconds", &c.auth.resend_cooldown_seconds, 0, kDaySeconds},
      {"auth", "password_min_length", &c.auth.password_min_length, 1, 1024},
      {"auth", "ip_rate_burst", &c.auth.ip_rate_burst, 1, 1000000000},
      {"auth", "ip_rate_refill_seconds", &c.auth.ip_rate_refill_seconds, 1, kDaySeconds},
      {"auth", "verify_ip_rate_burst", &c.auth.verify_ip_rate_burst, 1, 1000000000},
      {"auth", "verify_ip_rate_refill_seconds", &c.auth.verify_ip_rate_refill_seconds, 1,
       kDaySeconds},
      {"auth", "account_rate_burst", &c.auth.account_rate_burst, 1, 1000000000},
      {"auth", "account_rate_refill_seconds", &c.auth.account_rate_refill_seconds, 1, kDaySeconds},
      {"auth", "login_failure_burst", &c.auth.login_failure_burst, 1, 1000000},
      {"auth", "login_backoff_seconds", &c.auth.login_backoff_seconds, 1, kDaySeconds},
      {"auth", "login_backoff_max_seconds", &c.auth.login_backoff_max_seconds, 1, kDaySeconds},
      {"mail", "smtp_url", &c.mail.smtp_url},
      {"mail", "from", &c.mail.from},
      {"mail", "username", &c.mail.username},
      {"mail", "password", &c.mail.password},
      {"mail", "outbox_dir", &c.mail.outbox_dir},
      {"mail", "timeout_seconds", &c.mail.timeout_seconds, 1, 3600},
      {"daemon", "listen", &c.daemon.listen},
      {"daemon", "tls_cert", &c.daemon.tls_cert},
      {"daemon", "tls_key", &c.daemon.tls_key},
      {"daemon", "tls_client_ca", &c.daemon.tls_client_ca},
      {"daemon", "db_path", &c.daemon.db_path},
      {"daemon", "host_name", &c.daemon.host_name},
      {"daemon", "max_concurrent_downloads", &c.daemon.max_concurrent_downloads, 1, 4096},
      {"daemon", "max_concurrent_downloads_per_user", &c.daemon.max_concurrent_downloads_per_user,
       1, 4096},
      {"daemon", "max_concurrent_uploads", &c.daemon.max_concurrent_uploads, 1, 4096},
      {"daemon", "max_concurrent_uploads_per_user", &c.daemon.max_concurrent_uploads_per_user, 1,
       4096},
      {"daemon", "stream_idle_timeout_seconds", &c.daemon.stream_idle_timeout_seconds, 1,
       kDaySeconds},
      {"storage", "metadata", &c.storage.metadata},
      {"storage", "metadata_connections", &c.storage.metadata_connections, 1, 256},
      {"storage", "quota_bytes", &c.storage.quota_bytes, -1, kEiB},
      {"storage", "chunk_min_bytes", &c.storage.chunk_min_bytes, 1, kGiB},
      {"storage", "chunk_avg_bytes", &c.storage.chunk_avg_bytes, 1, kGiB},
      {"storage", "chunk_max_bytes", &c.storage.chunk_max_bytes, 1, kGiB},
      {"storage", "chunks_dir", &c.storage.chunks_dir},
      {"storage", "chunks", &c.storage.chunks},
      {"storage", "s3_access_key", &c.storage.s3_access_key},
      {"storage", "s3_secret_key", &c.storage.s3_secret_key},
      {"storage", "s3_secret_key_file", &c.storage.s3_secret_key_file},
      {"storage", "s3_sweep_grace_seconds", &c.storage.s3_sweep_grace_seconds, 0,
       366 * kDaySeconds},
      {"storage", "s3_max_attempts", &c.storage.s3_max_attempts, 1, 20},
      {"storage", "max_tree_entries", &c.storage.max_tree_entries, -1, kEiB},
      {"storage", "multipart_expiry_seconds", &c.storage.multipart_expiry_seconds, 0,
       365 * kDaySeconds},
      {"lambda", "runc_path", &c.lambda.runc_path},
      {"lambda", "init_path", &c.lambda.init_path},
      {"lambda", "timeout_ms_default", &c.lambda.timeout_ms_default, 1, kDayMs},
      {"lambda", "timeout_ms_max", &c.lambda.timeout_ms_max, 1, kDayMs},
      {"lambda", "memory_mb_default", &c.lambda.memory_mb_default, 1, kMiB},
      {"lambda", "memory_mb_max", &c.lambda.memory_mb_max, 1, kMiB},
      {"lambda", "max_concurrent", &c.lambda.max_concurrent, 0, 4096},
      {"lambda", "max_concurrent_per_user", &c.lambda.max_concurrent_per_user, 0, 4096},
      {"lambda", "pool_size", &c.lambda.pool_size, 0, 256},
      {"lambda", "output_limit_bytes", &c.lambda.output_limit_bytes, 1, kGiB},
      {"network", "bridge", &c.network.bridge},
      {"network", "subnet", &c.network.subnet},
      {"network", "ip_masq", &c.network.ip_masq, 0, 1},
      {"network", "host_gateway", &c.network.host_gateway, 0, 1},
      {"network", "cni_path", &c.network.cni_path},
      {"network", "host_ports", &c.network.host_ports},
      {"nodes", "runtime", &c.nodes.runtime},
      {"nodes", "base_rootfs", &c.nodes.base_rootfs},
      {"nodes", "max_memory_mb", &c.nodes.max_memory_mb, 1, 16 * kMiB},
      {"nodes", "max_storage_bytes", &c.nodes.max_storage_bytes, 1, kEiB},
      {"nodes", "pids_limit", &c.nodes.pids_limit, 1, 4194304},
      {"nodes", "metrics_interval_seconds", &c.nodes.metrics_interval_seconds, 1, 3600},
      {"nodes", "metrics_history_seconds", &c.nodes.metrics_history_seconds, 1, 7 * kDaySeconds},
      {"nodes", "exec_timeout_ms_max", &c.nodes.exec_timeout_ms_max, 1, kDayMs},
      {"nodes", "exec_output_limit_bytes", &c.nodes.exec_output_limit_bytes, 1, kGiB},
      {"nodes", "stop_timeout_ms", &c.nodes.stop_timeout_ms, 0, kDayMs},
      {"nodes", "user_max_nodes", &c.nodes.user_max_nodes, 1, 1000000},
      {"nodes", "user_max_memory_mb", &c.nodes.user_max_memory_mb, 1, kEiB / kMiB},
      {"nodes", "host_memory_reserve_mb", &c.nodes.host_memory_reserve_mb, 0, kEiB / kMiB},
      {"nodes", "user_max_storage_bytes", &c.nodes.user_max_storage_bytes, 1, kEiB},
      {"nodes", "disk_reserve_bytes", &c.nodes.disk_reserve_bytes, 0, kEiB},
      {"nodes", "max_concurrent_execs", &c.nodes.max_concurrent_execs, 1, 4096},
      {"nodes", "max_concurrent_execs_per_user", &c.nodes.max_concurrent_execs_per_user, 1, 4096},
      {"nodes", "max_concurrent_changes", &c.nodes.max_concurrent_changes, 1, 4096},
      {"nodes", "max_concurrent_changes_per_user", &c.nodes.max_concurrent_changes_per_user, 1,
       4096},
  };
}

std::string Dotted(const Binding& b) {
  return b.section.empty() ? std::string(b.key) : std::string(b.section) + "." + std::string(b.key);
}

std::string EnvName(const Binding& b) {
  std::string name = "NEXUS_";
  if (!b.section.empty()) name += std::string(b.section) + "_";
  name += b.key;
  for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

// "must be an integer from <min> to <max>", the sentence every integer error ends with.
std::string IntegerRange(const Binding& b) {
  return "must be an integer from " + std::to_string(b.min) + " to " + std::to_string(b.max);
}

Status SetFromToml(const Binding& b, const toml::node& node) {
  if (auto* s = std::get_if<std::string*>(&b.target)) {
    auto v = node.value<std::string>();
    if (!v) return InvalidArgumentError("config key '" + Dotted(b) + "' must be a string");
    **s = *v;
    return Status::Ok();
  }
  // as_integer, not value<int64_t>(): a float (1.5, 1e30) is not an integer
  // setting, not even a whole one. toml++ refuses integers beyond int64 as a
  // parse error.
  const auto* v = node.as_integer();
  if (!v || v->get() < b.min || v->get() > b.max) {
    return InvalidArgumentError("config key '" + Dotted(b) + "' " + IntegerRange(b));
  }
  *std::get<int64_t*>(b.target) = v->get();
  return Status::Ok();
}

Status SetFromEnv(const Binding& b, const std::string& name, const char* text) {
  if (auto* s = std::get_if<std::string*>(&b.target)) {
    **s = text;
    return Status::Ok();
  }
  // Decimal digits with an optional '-', nothing else: strtoll would skip
  // blanks and take '+'; from_chars reports overflow instead of clamping.
  const std::string_view t(text);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty() || v < b.min || v > b.max) {
    return InvalidArgumentError("environment variable " + name + " " + IntegerRange(b));
  }
  *std::get<int64_t*>(b.target) = v;
  return Status::Ok();
}

Status CheckUnknownKeys(const toml::table& root, const std::vector<Binding>& bindings) {
  std::set<std::string> known;
  for (const auto& b : bindings) known.insert(Dotted(b));
  for (const auto& [key, node] : root) {
    std::string k(key.str());
    if (const auto* section = node.as_table()) {
      for (const auto& [sub, unused] : *section) {
        std::string dotted = k + "." + std::string(sub.str());
        if (!known.count(dotted))
          return InvalidArgumentError("unknown config key '" + dotted + "'");
      }
    } else if (!known.count(k)) {
      return InvalidArgumentError("unknown config key '" + k + "'");
    }
  }
  return Status::Ok();
}

// "localhost" when the kernel has no name for the machine.
std::string MachineHostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

void DeriveDefaults(Config& c) {
  const std::string& d = c.data_dir;
  if (c.runtime_dir.empty()) c.runtime_dir = "/run/nexus-" + c.instance;
  if (c.gateway.download_link_key_file.empty()) {
    c.gateway.download_link_key_file = d + "/download-link.key";
  }
  if (c.auth.listen.empty()) c.auth.listen = "unix:" + d + "/run/auth.sock";
  if (c.auth.db_path.empty()) c.auth.db_path = d + "/auth.db";
  if (c.auth.jwt_key_path.empty()) c.auth.jwt_key_path = d + "/jwt.key";
  if (c.s3.key_path.empty()) c.s3.key_path = d + "/s3.key";
  if (c.mail.outbox_dir.empty()) c.mail.outbox_dir = d + "/mail/outbox";
  if (c.daemon.listen.empty()) c.daemon.listen = "unix:" + d + "/run/nexusd.sock";
  if (c.daemon.db_path.empty()) c.daemon.db_path = d + "/nexus.db";
  if (c.daemon.host_name.empty()) c.daemon.host_name = MachineHostName();
  if (c.storage.chunks_dir.empty()) c.storage.chunks_dir = d + "/chunks";
  if (c.network.bridge.empty()) c.network.bridge = "nx-" + c.instance;
}

// A listen address: "unix:<path>", or "<host>:<port>" with a port from 0 to
// 65535 (the resolvers take "99999" and listen on 99999 mod 65536).
Status CheckListenAddress(std::string_view key, const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0) {
    if (listen.find_first_not_of('/', 5) == std::string::npos) {
      return InvalidArgumentError(std::string(key) + " '" + listen + "' names no socket path");
    }
    return Status::Ok();
  }
  const size_t colon = listen.rfind(':');
  const std::string_view port =
      colon == std::string::npos ? std::string_view() : std::string_view(listen).substr(colon + 1);
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535) {
    return InvalidArgumentError(std::string(key) + " '" + listen +
                                "' must be unix:<path> or host:port with a port from 0 to 65535");
  }
  return Status::Ok();
}

// The daemon's TCP listener needs its TLS files: nexusd trusts the owner
// named in each call, so nothing may reach it unauthenticated over a
// network.
Status CheckDaemonTls(const Config& c) {
  const DaemonConfig& d = c.daemon;
  const int set = !d.tls_cert.empty() + !d.tls_key.empty() + !d.tls_client_ca.empty();
  if (set != 0 && set != 3) {
    return InvalidArgumentError(
        "daemon.tls_cert, daemon.tls_key and daemon.tls_client_ca must be set together");
  }
  if (!IsUnixAddress(d.listen) && set == 0) {
    return InvalidArgumentError("daemon.listen '" + d.listen +
                                "' is TCP: set daemon.tls_cert, daemon.tls_key and "
                                "daemon.tls_client_ca (gateways must present a certificate)");
  }
  const GatewayConfig& g = c.gateway;
  const int gateway_set =
      !g.daemon_tls_ca.empty() + !g.daemon_tls_cert.empty() + !g.daemon_tls_key.empty();
  if (gateway_set != 0 && gateway_set != 3) {
    return InvalidArgumentError(
        "gateway.daemon_tls_ca, gateway.daemon_tls_cert and gateway.daemon_tls_key must be set "
        "together");
  }
  for (const std::string& a : SplitDaemonAddresses(g.daemons)) {
    // Whether a TCP one has its TLS files is nexus-api's to check when it
    // starts: a daemon reading the same settings does not need them.
    NEXUS_RETURN_IF_ERROR(CheckListenAddress("gateway.daemons", a));
  }
  return Status::Ok();
}

// Host names travel in gRPC status details and name rows: letters, digits,
// '.', '-' and '_' only.
Status CheckHostName(const std::string& name) {
  const bool ok =
      !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_';
      });
  if (!ok) {
    return InvalidArgumentError("daemon.host_name '" + name +
                                "' must be 1-253 letters, digits, '.', '-' or '_'");
  }
  return Status::Ok();
}

bool IsMetadataSetting(const std::string& metadata) {
  return metadata == "sqlite" || metadata.starts_with("postgres://") ||
         metadata.starts_with("postgresql://");
}

Status Validate(const Config& c) {
  if (c.data_dir.empty()) return InvalidArgumentError("data_dir must not be empty");
  // Not the values: a URI may hold a password.
  if (!IsMetadataSetting(c.storage.metadata)) {
    return InvalidArgumentError(
        "storage.metadata must be \"sqlite\" or a postgres:// or postgresql:// URI");
  }
  if (!IsMetadataSetting(c.auth.metadata)) {
    return InvalidArgumentError(
        "auth.metadata must be \"sqlite\" or a postgres:// or postgresql:// URI");
  }
  if (c.instance.empty() || c.instance.size() > 12) {
    return InvalidArgumentError("instance must be 1-12 characters (it prefixes host-global names)");
  }
  for (char ch : c.instance) {
    if (!std::islower(static_cast<unsigned char>(ch)) &&
        !std::isdigit(static_cast<unsigned char>(ch))) {
      return InvalidArgumentError("instance may contain only a-z and 0-9");
    }
  }
  if (c.auth.otp_ttl_seconds <= 0) return InvalidArgumentError("auth.otp_ttl_seconds must be > 0");
  if (c.auth.jwt_ttl_hours <= 0) return InvalidArgumentError("auth.jwt_ttl_hours must be > 0");
  if (c.auth.otp_max_attempts <= 0)
    return InvalidArgumentError("auth.otp_max_attempts must be > 0");
  if (c.auth.otp_max_attempts_total < c.auth.otp_max_attempts ||
      c.auth.otp_max_attempts_total >= 1000) {
    // 1000 wrong tries would give a one in a thousand chance of guessing a code.
    return InvalidArgumentError(
        "auth.otp_max_attempts_total must be at least auth.otp_max_attempts and below 1000");
  }
  if (c.auth.login_failure_burst <= 0)
    return InvalidArgumentError("auth.login_failure_burst must be > 0");
  if (!(0 < c.auth.login_backoff_seconds &&
        c.auth.login_backoff_seconds <= c.auth.login_backoff_max_seconds &&
        c.auth.login_backoff_max_seconds <= 86400)) {
    return InvalidArgumentError(
        "auth login backoff must satisfy 0 < login_backoff_seconds <= "
        "login_backoff_max_seconds <= 86400");
  }
  if (c.gateway.max_json_bytes <= 0)
    return InvalidArgumentError("gateway.max_json_bytes must be > 0");
  if (c.gateway.min_transfer_bytes_per_second < 0) {
    return InvalidArgumentError("gateway.min_transfer_bytes_per_second must be >= 0");
  }
  if (c.gateway.min_transfer_window_seconds <= 0) {
    return InvalidArgumentError("gateway.min_transfer_window_seconds must be > 0");
  }
  if (c.daemon.stream_idle_timeout_seconds <= 0) {
    return InvalidArgumentError("daemon.stream_idle_timeout_seconds must be > 0");
  }
  if (c.log_format != "text" && c.log_format != "json") {
    return InvalidArgumentError("log_format must be \"text\" or \"json\"");
  }
  if (c.gateway.tls_cert.empty() != c.gateway.tls_key.empty()) {
    return InvalidArgumentError("gateway.tls_cert and gateway.tls_key must be set together");
  }
  NEXUS_RETURN_IF_ERROR(CheckListenAddress("gateway.listen", c.gateway.listen));
  NEXUS_RETURN_IF_ERROR(CheckListenAddress("auth.listen", c.auth.listen));
  NEXUS_RETURN_IF_ERROR(CheckListenAddress("daemon.listen", c.daemon.listen));
  NEXUS_RETURN_IF_ERROR(CheckDaemonTls(c));
  NEXUS_RETURN_IF_ERROR(CheckHostName(c.daemon.host_name));
  if (!c.s3.listen.empty()) NEXUS_RETURN_IF_ERROR(CheckListenAddress("s3.listen", c.s3.listen));
  if (c.s3.region.empty()) return InvalidArgumentError("s3.region must not be empty");
  const auto& s = c.storage;
  if (!s.s3_secret_key.empty() && !s.s3_secret_key_file.empty()) {
    return InvalidArgumentError(
        "storage.s3_secret_key and storage.s3_secret_key_file must not both be set");
  }
  // The chunker's own bounds (ValidateChunkerParams): caught here, a bad
  // value fails the config load with its name instead of nexusd's start.
  if (!(64 <= s.chunk_min_bytes && s.chunk_min_bytes < s.chunk_avg_bytes &&
        s.chunk_avg_bytes < s.chunk_max_bytes && s.chunk_max_bytes <= (int64_t{256} << 20))) {
    return InvalidArgumentError(
        "storage chunk sizes must satisfy 64 <= min < avg < max <= 256 MiB");
  }
  return Status::Ok();
}

// A TOML basic string: quotes, and escapes for what may not appear bare.
std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned char>(ch));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

std::vector<ConfigSetting> ListSettings(const Config& config) {
  Config copy = config;
  std::vector<ConfigSetting> out;
  for (const auto& b : Bindings(copy)) {
    if (auto* s = std::get_if<std::string*>(&b.target)) {
      out.push_back({Dotted(b), TomlString(**s)});
    } else {
      out.push_back({Dotted(b), std::to_string(*std::get<int64_t*>(b.target))});
    }
  }
  return out;
}

std::vector<std::string> GatewayDaemonAddresses(const Config& c) {
  std::vector<std::string> out = SplitDaemonAddresses(c.gateway.daemons);
  if (out.empty()) out.push_back(c.daemon.listen);
  return out;
}

std::vector<std::string> SplitDaemonAddresses(std::string_view daemons) {
  std::vector<std::string> out;
  while (!daemons.empty()) {
    const size_t comma = daemons.find(',');
    std::string_view one = daemons.substr(0, comma);
    daemons = comma == std::string_view::npos ? std::string_view() : daemons.substr(comma + 1);
    while (!one.empty() && std::isspace(static_cast<unsigned char>(one.front())))
      one.remove_prefix(1);
    while (!one.empty() && std::isspace(static_cast<unsigned char>(one.back())))
      one.remove_suffix(1);
    if (!one.empty()) out.emplace_back(one);
  }
  return out;
}

Result<Config> ParseConfig(const std::string& toml_text, const EnvLookup& env) {
  Config c;
  auto bindings = Bindings(c);

  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config: " << e.description() << " at line " << e.source().begin.line;
    return InvalidArgumentError(msg.str());
  }
  NEXUS_RETURN_IF_ERROR(CheckUnknownKeys(root, bindings));

  for (const auto& b : bindings) {
    const toml::node* node = b.section.empty() ? root.get(b.key) : nullptr;
    if (!b.section.empty()) {
      if (const auto* t = root[b.section].as_table()) node = t->get(b.key);
    }
    if (node) NEXUS_RETURN_IF_ERROR(SetFromToml(b, *node));
    std::string name = EnvName(b);
    if (const char* v = env(name.c_str())) NEXUS_RETURN_IF_ERROR(SetFromEnv(b, name, v));
  }
  DeriveDefaults(c);
  NEXUS_RETURN_IF_ERROR(Validate(c));
  return c;
}

Result<Config> LoadConfig(Env& files, const std::string& path) {
  // Far above any real config; a bound so a wrong path (a device, a huge
  // log) fails fast instead of filling memory.
  constexpr size_t kMaxConfigBytes = 1 << 20;
  std::string text;
  if (!path.empty()) {
    auto read = files.ReadFile(path, kMaxConfigBytes);
    // Whatever went wrong, it is the operator's config to fix.
    if (!read.ok()) return InvalidArgumentError("config: " + read.status().message());
    text = std::move(read).value();
  }
  return ParseConfig(text, [](const char* name) { return std::getenv(name); });
}

Result<Config> LoadConfig(const std::string& path) {
  PosixEnv files;
  return LoadConfig(files, path);
}

}  // namespace nexus
