// The nodes' configuration and request validation: [nodes], [network] and
// the firewall resolved from the Config into the options NodeManager, the CNI
// network and the nftables firewall run with, and a create request checked
// against them. Pure functions of their arguments (no host access beyond
// making data_dir absolute); thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/config.h"
#include "common/result.h"
#include "daemon/nodes/network.h"
#include "daemon/nodes/node_api.h"
#include "daemon/nodes/node_firewall.h"
#include "daemon/nodes/node_spec.h"

namespace nexus::daemon::runtime {

inline constexpr int64_t kMinNodeMemoryMb = 16;
inline constexpr int64_t kMinNodeCpuShares = 2;
inline constexpr int64_t kMaxNodeCpuShares = 262144;
inline constexpr int64_t kMinNodeStorageBytes = 64LL << 20;

struct NodeOptions {
  std::string data_dir;  // absolute
  std::string instance;
  int64_t max_memory_mb = 4096;
  int64_t max_storage_bytes = 10LL << 30;
  int64_t pids_limit = 1024;
  int64_t default_memory_mb = 256;
  int64_t default_cpu_shares = 1024;
  std::string default_storage_size = "1G";
  int64_t exec_timeout_ms_default = 30000;
  int64_t exec_timeout_ms_max = 300000;
  int64_t exec_output_limit_bytes = 1 << 20;
  int64_t stop_timeout_ms = 10000;
  std::string base_root = "/";  // where /usr, /bin, ... come from
  HostLayout base;              // ProbeHostLayout(base_root)
  std::string resolv_conf;      // the nodes' /etc/resolv.conf
  // What all nodes of one user may hold together.
  int64_t user_max_nodes = 10;
  int64_t user_max_memory_mb = 8192;
  int64_t user_max_storage_bytes = 50LL << 30;
  // Host disk (of <data_dir>/nodes) that node disks, grown to full size, leave free.
  int64_t disk_reserve_bytes = 1LL << 30;
  // The host's memory (ForHost reads MemTotal; 0: unknown, no check) and
  // what of it nodes never get: the memory limits of this host's nodes
  // together stay within the difference.
  int64_t host_memory_bytes = 0;
  int64_t host_memory_reserve_bytes = 512LL << 20;
  // How often this daemon records its host alive ([nodes]
  // metrics_interval_seconds), and how long another host may go unseen
  // before its nodes show as Unknown (three beats).
  int64_t heartbeat_seconds = 5;
  int64_t host_stale_seconds = 15;
  // How Stop() waits between state polls; injectable so tests need not sleep.
  std::function<void(int64_t ms)> sleep_ms;
};

// Resolves [nodes] (data_dir made absolute, defaults clamped to the maxima)
// and checks its bounds. Host facts (base, resolv_conf) are left to ForHost.
Result<NodeOptions> NodeOptionsFromConfig(const Config& config);
// Resolves [network] for the instance: network "nexus-<instance>", leases
// under <data_dir>/nodes/ipam. Checks bridge name and subnet.
Result<NetworkOptions> NetworkOptionsFromConfig(const Config& config);
// The firewall of the instance: tables "nexus-<instance>" on its bridge,
// network.host_ports parsed, outbound traffic as network.ip_masq says.
Result<FirewallOptions> FirewallOptionsFromConfig(const Config& config);

// kInvalidArgument naming the field unless `name` is [a-z0-9][a-z0-9-]{0,31}.
Status ValidateNodeName(const std::string& name);

// A create request with defaults applied and every field checked.
struct ValidatedNode {
  int64_t memory_mb = 0;
  int64_t cpu_shares = 0;
  std::string storage_size;
  int64_t storage_bytes = 0;
};
Result<ValidatedNode> ValidateCreateNode(const CreateNodeRequest& request,
                                         const NodeOptions& options);

}  // namespace nexus::daemon::runtime
