#include "common/config.h"

#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <variant>
#include <vector>

namespace nexus {
namespace {

// One row per setting. The table drives TOML parsing, env overrides and the
// unknown-key check, so adding a setting is one line here.
struct Binding {
  std::string_view section;  // "" for top-level keys
  std::string_view key;
  std::variant<std::string*, int64_t*> target;
};

std::vector<Binding> Bindings(Config& c) {
  return {
      {"", "data_dir", &c.data_dir},
      {"", "instance", &c.instance},
      {"", "log_level", &c.log_level},
      {"gateway", "listen", &c.gateway.listen},
      {"gateway", "max_json_bytes", &c.gateway.max_json_bytes},
      {"gateway", "threads", &c.gateway.threads},
      {"gateway", "backend_timeout_ms", &c.gateway.backend_timeout_ms},
      {"gateway", "static_dir", &c.gateway.static_dir},
      {"gateway", "min_transfer_bytes_per_second", &c.gateway.min_transfer_bytes_per_second},
      {"gateway", "min_transfer_window_seconds", &c.gateway.min_transfer_window_seconds},
      {"auth", "listen", &c.auth.listen},
      {"auth", "db_path", &c.auth.db_path},
      {"auth", "jwt_key_path", &c.auth.jwt_key_path},
      {"auth", "otp_ttl_seconds", &c.auth.otp_ttl_seconds},
      {"auth", "jwt_ttl_hours", &c.auth.jwt_ttl_hours},
      {"auth", "otp_max_attempts", &c.auth.otp_max_attempts},
      {"auth", "otp_max_attempts_total", &c.auth.otp_max_attempts_total},
      {"auth", "resend_cooldown_seconds", &c.auth.resend_cooldown_seconds},
      {"auth", "password_min_length", &c.auth.password_min_length},
      {"auth", "ip_rate_burst", &c.auth.ip_rate_burst},
      {"auth", "ip_rate_refill_seconds", &c.auth.ip_rate_refill_seconds},
      {"auth", "verify_ip_rate_burst", &c.auth.verify_ip_rate_burst},
      {"auth", "verify_ip_rate_refill_seconds", &c.auth.verify_ip_rate_refill_seconds},
      {"auth", "account_rate_burst", &c.auth.account_rate_burst},
      {"auth", "account_rate_refill_seconds", &c.auth.account_rate_refill_seconds},
      {"auth", "login_failure_burst", &c.auth.login_failure_burst},
      {"auth", "login_backoff_seconds", &c.auth.login_backoff_seconds},
      {"auth", "login_backoff_max_seconds", &c.auth.login_backoff_max_seconds},
      {"mail", "smtp_url", &c.mail.smtp_url},
      {"mail", "from", &c.mail.from},
      {"mail", "username", &c.mail.username},
      {"mail", "password", &c.mail.password},
      {"mail", "outbox_dir", &c.mail.outbox_dir},
      {"mail", "timeout_seconds", &c.mail.timeout_seconds},
      {"daemon", "listen", &c.daemon.listen},
      {"daemon", "db_path", &c.daemon.db_path},
      {"daemon", "max_concurrent_downloads", &c.daemon.max_concurrent_downloads},
      {"daemon", "max_concurrent_downloads_per_user", &c.daemon.max_concurrent_downloads_per_user},
      {"daemon", "max_concurrent_uploads", &c.daemon.max_concurrent_uploads},
      {"daemon", "max_concurrent_uploads_per_user", &c.daemon.max_concurrent_uploads_per_user},
      {"daemon", "stream_idle_timeout_seconds", &c.daemon.stream_idle_timeout_seconds},
      {"storage", "quota_bytes", &c.storage.quota_bytes},
      {"storage", "chunk_min_bytes", &c.storage.chunk_min_bytes},
      {"storage", "chunk_avg_bytes", &c.storage.chunk_avg_bytes},
      {"storage", "chunk_max_bytes", &c.storage.chunk_max_bytes},
      {"storage", "chunks_dir", &c.storage.chunks_dir},
      {"storage", "max_tree_entries", &c.storage.max_tree_entries},
      {"lambda", "runc_path", &c.lambda.runc_path},
      {"lambda", "init_path", &c.lambda.init_path},
      {"lambda", "timeout_ms_default", &c.lambda.timeout_ms_default},
      {"lambda", "timeout_ms_max", &c.lambda.timeout_ms_max},
      {"lambda", "memory_mb_default", &c.lambda.memory_mb_default},
      {"lambda", "memory_mb_max", &c.lambda.memory_mb_max},
      {"lambda", "max_concurrent", &c.lambda.max_concurrent},
      {"lambda", "max_concurrent_per_user", &c.lambda.max_concurrent_per_user},
      {"lambda", "pool_size", &c.lambda.pool_size},
      {"lambda", "output_limit_bytes", &c.lambda.output_limit_bytes},
      {"network", "bridge", &c.network.bridge},
      {"network", "subnet", &c.network.subnet},
      {"network", "ip_masq", &c.network.ip_masq},
      {"network", "host_gateway", &c.network.host_gateway},
      {"network", "cni_path", &c.network.cni_path},
      {"network", "host_ports", &c.network.host_ports},
      {"nodes", "runtime", &c.nodes.runtime},
      {"nodes", "base_rootfs", &c.nodes.base_rootfs},
      {"nodes", "max_memory_mb", &c.nodes.max_memory_mb},
      {"nodes", "max_storage_bytes", &c.nodes.max_storage_bytes},
      {"nodes", "pids_limit", &c.nodes.pids_limit},
      {"nodes", "metrics_interval_seconds", &c.nodes.metrics_interval_seconds},
      {"nodes", "metrics_history_seconds", &c.nodes.metrics_history_seconds},
      {"nodes", "exec_timeout_ms_max", &c.nodes.exec_timeout_ms_max},
      {"nodes", "exec_output_limit_bytes", &c.nodes.exec_output_limit_bytes},
      {"nodes", "stop_timeout_ms", &c.nodes.stop_timeout_ms},
      {"nodes", "user_max_nodes", &c.nodes.user_max_nodes},
      {"nodes", "user_max_memory_mb", &c.nodes.user_max_memory_mb},
      {"nodes", "user_max_storage_bytes", &c.nodes.user_max_storage_bytes},
      {"nodes", "disk_reserve_bytes", &c.nodes.disk_reserve_bytes},
      {"nodes", "max_concurrent_execs", &c.nodes.max_concurrent_execs},
      {"nodes", "max_concurrent_execs_per_user", &c.nodes.max_concurrent_execs_per_user},
      {"nodes", "max_concurrent_changes", &c.nodes.max_concurrent_changes},
      {"nodes", "max_concurrent_changes_per_user", &c.nodes.max_concurrent_changes_per_user},
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

Status SetFromToml(const Binding& b, const toml::node& node) {
  if (auto* s = std::get_if<std::string*>(&b.target)) {
    auto v = node.value<std::string>();
    if (!v) return InvalidArgumentError("config key '" + Dotted(b) + "' must be a string");
    **s = *v;
  } else {
    auto v = node.value<int64_t>();
    if (!v) return InvalidArgumentError("config key '" + Dotted(b) + "' must be an integer");
    *std::get<int64_t*>(b.target) = *v;
  }
  return Status::Ok();
}

Status SetFromEnv(const Binding& b, const std::string& name, const char* text) {
  if (auto* s = std::get_if<std::string*>(&b.target)) {
    **s = text;
    return Status::Ok();
  }
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    return InvalidArgumentError("environment variable " + name + " must be an integer");
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

void DeriveDefaults(Config& c) {
  const std::string& d = c.data_dir;
  if (c.auth.listen.empty()) c.auth.listen = "unix:" + d + "/run/auth.sock";
  if (c.auth.db_path.empty()) c.auth.db_path = d + "/auth.db";
  if (c.auth.jwt_key_path.empty()) c.auth.jwt_key_path = d + "/jwt.key";
  if (c.mail.outbox_dir.empty()) c.mail.outbox_dir = d + "/mail/outbox";
  if (c.daemon.listen.empty()) c.daemon.listen = "unix:" + d + "/run/nexusd.sock";
  if (c.daemon.db_path.empty()) c.daemon.db_path = d + "/nexus.db";
  if (c.storage.chunks_dir.empty()) c.storage.chunks_dir = d + "/chunks";
  if (c.network.bridge.empty()) c.network.bridge = "nx-" + c.instance;
}

Status Validate(const Config& c) {
  if (c.data_dir.empty()) return InvalidArgumentError("data_dir must not be empty");
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
  const auto& s = c.storage;
  // The chunker's own bounds (ValidateChunkerParams): caught here, a bad
  // value fails the config load with its name instead of nexusd's start.
  if (!(64 <= s.chunk_min_bytes && s.chunk_min_bytes < s.chunk_avg_bytes &&
        s.chunk_avg_bytes < s.chunk_max_bytes && s.chunk_max_bytes <= (int64_t{256} << 20))) {
    return InvalidArgumentError(
        "storage chunk sizes must satisfy 64 <= min < avg < max <= 256 MiB");
  }
  return Status::Ok();
}

}  // namespace

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

Result<Config> LoadConfig(const std::string& path) {
  std::string text;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return ErrnoError(StatusCode::kInvalidArgument, "open config '" + path + "'", errno);
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  return ParseConfig(text, [](const char* name) { return std::getenv(name); });
}

}  // namespace nexus
