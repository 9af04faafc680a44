// The node API's values: what nexusd's node RPCs carry in and out, as plain
// structs (the fields of the nexus.daemon.v1 messages), so that NodeManager
// and its validation never see a proto. Values only; no behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/nodes/metrics_sampler.h"

namespace nexus::daemon::runtime {

struct CreateNodeRequest {
  std::string owner;
  std::string name;
  int64_t memory_mb = 0;     // 0: the default
  int64_t cpu_shares = 0;    // 0: the default
  std::string storage_size;  // "": the default
};

inline constexpr const char* kNodeStatusRunning = "Running";
inline constexpr const char* kNodeStatusStopped = "Stopped";
inline constexpr const char* kNodeStatusCreating = "Creating";
// A node of another daemon's host that has not been heard from lately: the
// node may well run, but nobody here can say.
inline constexpr const char* kNodeStatusUnknown = "Unknown";

struct NodeInfo {
  std::string id;  // the name
  std::string ip;
  std::string status;  // kNodeStatus*
  int64_t memory_mb = 0;
  int64_t cpu_shares = 0;
  std::string storage_size;
  int64_t created_at = 0;  // unix seconds
};

struct ExecNodeRequest {
  std::string owner;
  std::string id;
  std::vector<std::string> command;  // argv; argv[0] is looked up on the node's PATH
  int64_t timeout_ms = 0;            // 0: the default
};

struct ExecNodeResult {
  std::string stdout_data;
  std::string stderr_data;
  int exit_code = 0;  // shell convention: 128+n when signal n killed it (137 on timeout)
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  bool timed_out = false;
};

struct NodeMetrics {
  std::string node_id;
  int64_t memory_usage = 0;
  int64_t memory_limit = 0;
  double cpu_percent = 0;
  std::vector<MetricsPoint> history;  // oldest first; only when asked for
};

// This daemon's host as gateways place nodes by it (nodes.proto HostInfo).
struct HostInfo {
  std::string host;
  bool nodes_available = false;
  int64_t memory_bytes = 0;
  int64_t memory_reserved_bytes = 0;
  int64_t memory_committed_bytes = 0;
  int64_t memory_free_bytes = 0;
};

struct ReconcileReport {
  std::vector<std::string> restarted;  // "<owner>/<name>"
  std::vector<std::string> removed;    // half-created nodes and strays, described
  std::vector<std::string> failures;   // what could not be repaired, with why
};

}  // namespace nexus::daemon::runtime
