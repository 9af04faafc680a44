#include "daemon/nodes/node_options.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/storage_size.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxNodeName = 32;

bool IsLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

Result<NodeOptions> NodeOptionsFromConfig(const Config& config) {
  const NodesConfig& c = config.nodes;
  NodeOptions o;
  std::error_code ec;
  o.data_dir = fs::absolute(config.data_dir, ec).lexically_normal().string();
  if (ec) return InvalidArgumentError("data_dir '" + config.data_dir + "': " + ec.message());
  while (o.data_dir.size() > 1 && o.data_dir.back() == '/') o.data_dir.pop_back();
  o.instance = config.instance;
  if (c.max_memory_mb < kMinNodeMemoryMb) {
    return InvalidArgumentError("nodes.max_memory_mb must be at least " +
                                std::to_string(kMinNodeMemoryMb));
  }
  if (c.max_storage_bytes < kMinNodeStorageBytes) {
    return InvalidArgumentError("nodes.max_storage_bytes must be at least " +
                                std::to_string(kMinNodeStorageBytes));
  }
  if (c.pids_limit <= 0) return InvalidArgumentError("nodes.pids_limit must be > 0");
  if (c.metrics_interval_seconds <= 0) {
    return InvalidArgumentError("nodes.metrics_interval_seconds must be > 0");
  }
  if (c.metrics_history_seconds < c.metrics_interval_seconds) {
    return InvalidArgumentError(
        "nodes.metrics_history_seconds must be at least nodes.metrics_interval_seconds");
  }
  if (c.exec_timeout_ms_max <= 0)
    return InvalidArgumentError("nodes.exec_timeout_ms_max must be > 0");
  if (c.exec_output_limit_bytes <= 0) {
    return InvalidArgumentError("nodes.exec_output_limit_bytes must be > 0");
  }
  if (c.stop_timeout_ms < 0) return InvalidArgumentError("nodes.stop_timeout_ms must be >= 0");
  if (c.user_max_nodes <= 0) return InvalidArgumentError("nodes.user_max_nodes must be > 0");
  if (c.user_max_memory_mb <= 0) {
    return InvalidArgumentError("nodes.user_max_memory_mb must be > 0");
  }
  if (c.user_max_storage_bytes <= 0) {
    return InvalidArgumentError("nodes.user_max_storage_bytes must be > 0");
  }
  if (c.disk_reserve_bytes < 0) {
    return InvalidArgumentError("nodes.disk_reserve_bytes must be >= 0");
  }
  o.user_max_nodes = c.user_max_nodes;
  o.user_max_memory_mb = c.user_max_memory_mb;
  o.user_max_storage_bytes = c.user_max_storage_bytes;
  o.disk_reserve_bytes = c.disk_reserve_bytes;
  if (c.host_memory_reserve_mb < 0) {
    return InvalidArgumentError("nodes.host_memory_reserve_mb must be >= 0");
  }
  o.host_memory_reserve_bytes = c.host_memory_reserve_mb << 20;
  o.max_memory_mb = c.max_memory_mb;
  o.max_storage_bytes = c.max_storage_bytes;
  o.pids_limit = c.pids_limit;
  o.default_memory_mb = std::min<int64_t>(o.default_memory_mb, c.max_memory_mb);
  NEXUS_ASSIGN_OR_RETURN(int64_t default_storage, ParseStorageSize(o.default_storage_size));
  if (default_storage > c.max_storage_bytes) {
    o.default_storage_size = FormatStorageSize(c.max_storage_bytes);
  }
  o.exec_timeout_ms_max = c.exec_timeout_ms_max;
  o.exec_timeout_ms_default = std::min<int64_t>(o.exec_timeout_ms_default, c.exec_timeout_ms_max);
  o.exec_output_limit_bytes = c.exec_output_limit_bytes;
  o.stop_timeout_ms = c.stop_timeout_ms;
  o.heartbeat_seconds = c.metrics_interval_seconds;
  o.host_stale_seconds = 3 * c.metrics_interval_seconds;
  if (!c.base_rootfs.empty()) {
    o.base_root = fs::absolute(c.base_rootfs, ec).lexically_normal().string();
    if (ec) return InvalidArgumentError("nodes.base_rootfs: " + ec.message());
  }
  return o;
}

Result<NetworkOptions> NetworkOptionsFromConfig(const Config& config) {
  NEXUS_ASSIGN_OR_RETURN(NodeOptions nodes, NodeOptionsFromConfig(config));
  NetworkOptions o;
  o.name = "nexus-" + config.instance;
  o.bridge = config.network.bridge.empty() ? "nx-" + config.instance : config.network.bridge;
  o.subnet = config.network.subnet;
  o.ip_masq = config.network.ip_masq != 0;
  o.host_gateway = config.network.host_gateway != 0;
  o.cni_path = config.network.cni_path;
  o.ipam_dir = nodes.data_dir + "/nodes/ipam";
  NEXUS_RETURN_IF_ERROR(ValidateNetworkOptions(o));
  return o;
}

Result<FirewallOptions> FirewallOptionsFromConfig(const Config& config) {
  NEXUS_ASSIGN_OR_RETURN(NetworkOptions net, NetworkOptionsFromConfig(config));
  FirewallOptions o;
  o.table = "nexus-" + config.instance;
  o.bridge = net.bridge;
  o.outbound = net.ip_masq;
  NEXUS_ASSIGN_OR_RETURN(o.host_ports, ParseHostPorts(config.network.host_ports));
  return o;
}

Status ValidateNodeName(const std::string& name) {
  bool ok =
      !name.empty() && name.size() <= kMaxNodeName && IsLowerOrDigit(name[0]) &&
      std::all_of(name.begin(), name.end(), [](char c) { return IsLowerOrDigit(c) || c == '-'; });
  if (!ok) {
    return InvalidArgumentError(
        "name must be 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit");
  }
  return Status::Ok();
}

Result<ValidatedNode> ValidateCreateNode(const CreateNodeRequest& r, const NodeOptions& o) {
  if (r.owner.empty()) return InvalidArgumentError("owner must not be empty");
  NEXUS_RETURN_IF_ERROR(ValidateNodeName(r.name));
  ValidatedNode v;
  v.memory_mb = r.memory_mb == 0 ? o.default_memory_mb : r.memory_mb;
  if (v.memory_mb < kMinNodeMemoryMb || v.memory_mb > o.max_memory_mb) {
    return InvalidArgumentError("memory_mb must be between " + std::to_string(kMinNodeMemoryMb) +
                                " and " + std::to_string(o.max_memory_mb));
  }
  v.cpu_shares = r.cpu_shares == 0 ? o.default_cpu_shares : r.cpu_shares;
  if (v.cpu_shares < kMinNodeCpuShares || v.cpu_shares > kMaxNodeCpuShares) {
    return InvalidArgumentError("cpu_shares must be between " + std::to_string(kMinNodeCpuShares) +
                                " and " + std::to_string(kMaxNodeCpuShares));
  }
  v.storage_size = r.storage_size.empty() ? o.default_storage_size : r.storage_size;
  auto bytes = ParseStorageSize(v.storage_size);
  if (!bytes.ok()) return bytes.status().WithContext("storage_size");
  v.storage_bytes = *bytes;
  if (v.storage_bytes < kMinNodeStorageBytes || v.storage_bytes > o.max_storage_bytes) {
    return InvalidArgumentError("storage_size must be between " +
                                FormatStorageSize(kMinNodeStorageBytes) + " and " +
                                FormatStorageSize(o.max_storage_bytes));
  }
  return v;
}

}  // namespace nexus::daemon::runtime
