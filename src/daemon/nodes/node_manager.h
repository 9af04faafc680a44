// NodeManager: users' nodes — long-lived containers with their own IP,
// memory/CPU limits, disk and metrics (ARCHITECTURE.md "Nodes"). The domain
// side of nexusd's CreateNode, ListNodes, GetNode, StartNode, StopNode,
// DeleteNode, ExecNode and GetNodeMetrics; the gRPC adapter unpacks the
// request, calls one method here and converts the Status.
//
// Ownership: a node belongs to its creator; its API id is its name, unique
// per owner, and another user's node is kNotFound. On the host a node is
// known by a random uid, and every host-global name carries the instance and
// that uid, so two users' "worker1" (or a test and a running instance) never
// collide:
//   container (runc id), netns, CNI_CONTAINERID   "<instance>-n-<uid>"
//   cgroup                                         "/nexus-<instance>-nodes/<uid>"
//   files                    <data_dir>/nodes/by-uid/<uid>/{disk.img,volume/,bundle/}
//   runc --root, IP leases   <data_dir>/nodes/runc, <data_dir>/nodes/ipam
//   nftables tables (bridge and inet families)     "nexus-<instance>"
//
// Life of a node: Create() reserves the name in the database (state
// "creating"), makes the volume (volume.h), attaches the network (network.h),
// writes the rootfs's /etc and the bundle (node_spec.h), and creates and
// starts the container detached (oci_runtime.h); any failure undoes every
// earlier step in reverse (a rollback stack), so nothing leaks. Stop()
// sends SIGTERM, waits up to stop_timeout_ms, kills and deletes the
// container; volume, namespace and IP lease stay, so Start() brings the node
// back with the same IP and disk. Delete() removes container, cgroup, veth,
// lease, namespace, mount, loop device and files. Exec() runs a command in
// a running node (`runc exec`) with a timeout and capped output.
//
// Reconcile() (call once at start, before serving) makes the host match the
// database: rows left "creating" by a crash are torn down; the firewall is
// rebuilt for every node whose network exists; nodes that should run are
// running again (volume re-mounted, namespace re-attached with the same IP,
// container re-created); containers, namespaces, leases and node
// directories of this instance that no row owns are strays: reported and
// removed. Containers run detached, so restarting nexusd does not stop them.
//
// Isolation: a node reaches only its owner's other nodes, and the host only
// on the ports network.host_ports lists (node_firewall.h). Its port joins
// the rules right after its network is attached, before its container
// starts, and leaves them when the node is deleted; the last node takes the
// rules' tables with it.
//
// Limits: Create() admits a node only while its owner's nodes stay within
// user_max_nodes, user_max_memory_mb and user_max_storage_bytes together
// (kPermissionDenied: a standing allowance, which waiting does not change,
// unlike a rate limit) and while every node's disk could still grow to its
// full size with disk_reserve_bytes left free on the host's disk
// (kQuotaExceeded). The check and the row that reserves the node happen
// under one lock, so concurrent creates cannot pass a limit together, and
// nothing is made on the host before them.
//
// Files: <data_dir>/nodes and everything nexus makes beneath it are 0700
// directories and 0600 files from creation (bundles hold the node's
// config, images the node's data), so other local users read none of it.
//
// Metrics: running nodes are sampled by a MetricsSampler (metrics_sampler.h)
// keyed by uid; GetMetrics() answers from its ring.
//
// Without root, runc or the CNI plugins (`availability`), every operation
// answers kUnavailable and the rest of nexusd works.
//
// Thread-safe. Operations on one node are serialised by a per-node mutex;
// different nodes proceed in parallel. Exec holds the node's mutex only
// while checking that it runs, so a long command does not block Stop/Delete.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/result.h"
#include "daemon/nodes/metrics_sampler.h"
#include "daemon/nodes/network.h"
#include "daemon/nodes/node_firewall.h"
#include "daemon/nodes/node_spec.h"
#include "daemon/nodes/node_store.h"
#include "daemon/nodes/volume.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"

namespace nexus::daemon::runtime {

// ---- What the API speaks (the fields of nexus.daemon.v1 messages) ----

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

struct ReconcileReport {
  std::vector<std::string> restarted;  // "<owner>/<name>"
  std::vector<std::string> removed;    // half-created nodes and strays, described
  std::vector<std::string> failures;   // what could not be repaired, with why
};

// ---- Configuration ----

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

class NodeManager {
 public:
  // What the manager drives; each must outlive it.
  struct Deps {
    OciRuntime& runtime;
    NodeNetwork& network;
    NodeFirewall& firewall;
    VolumeManager& volumes;
    CgroupFs& cgroups;
    NodeStore& store;
    MetricsSampler& metrics;
    const Clock& clock;
  };

  // A non-ok `availability` (no root, runc or CNI) is what every operation answers.
  NodeManager(NodeOptions options, Deps deps, Status availability = Status::Ok());
  ~NodeManager();
  NodeManager(const NodeManager&) = delete;
  NodeManager& operator=(const NodeManager&) = delete;

  // The real wiring for nexusd: the configured OCI runtime (runc or crun)
  // with its root under the data dir, the CNI network, loop volumes, the
  // host's cgroups, the `nodes` table in `db` (which must have
  // NodeMigrations applied; give the manager a connection of its own) and a
  // metrics sampler thread stamping samples with `clock`; `db` and `clock`
  // must outlive the manager. Fails only on an inconsistent config; without
  // root, the runtime, the CNI plugins, nft or the disk tools it returns a manager
  // whose every operation answers kUnavailable. Runs Reconcile() (logging
  // its report) and starts the sampler.
  static Result<std::unique_ptr<NodeManager>> ForHost(const Config& config, SQLite::Database& db,
                                                      const Clock& clock);

  Result<NodeInfo> Create(const CreateNodeRequest& request);
  Result<std::vector<NodeInfo>> List(const std::string& owner);
  Result<NodeInfo> Get(const std::string& owner, const std::string& id);
  // Idempotent: starting a running node returns it as is.
  Result<NodeInfo> Start(const std::string& owner, const std::string& id);
  // Idempotent: stopping a stopped node returns it as is.
  Result<NodeInfo> Stop(const std::string& owner, const std::string& id);
  Status Delete(const std::string& owner, const std::string& id);
  // kInvalidArgument when the node is not running.
  Result<ExecNodeResult> Exec(const ExecNodeRequest& request);
  Result<NodeMetrics> GetMetrics(const std::string& owner, const std::string& id, bool history);

  Result<ReconcileReport> Reconcile();

  const Status& availability() const { return availability_; }
  const NodeOptions& options() const { return options_; }
  // Host names of node `uid` (see the header comment).
  std::string ContainerId(const std::string& uid) const;
  std::string CgroupPath(const std::string& uid) const;
  std::string NodeDir(const std::string& uid) const;
  // "/nexus-<instance>-nodes": the parent of every node cgroup.
  std::string CgroupParent() const;
  // The OCI spec node `record` runs with (its network namespace included).
  NodeSpec SpecFor(const NodeRecord& record) const;

 private:
  struct Owned;
  class Locked;

  // The node's record with its mutex held; kNotFound as the API says it.
  Result<Locked> Lock(const std::string& owner, const std::string& id);
  std::shared_ptr<std::mutex> NodeMutex(const std::string& uid);
  void DropNodeMutex(const std::string& uid);
  std::string NewUid();
  VolumePaths VolumeFor(const std::string& uid) const;
  std::string BundleDir(const std::string& uid) const;

  // Checks the owner's limits and the host's disk and inserts the row
  // (state "creating") under admission_mu_.
  Status Admit(const NodeRecord& record);
  Result<NodeInfo> CreateLocked(NodeRecord record);
  // Puts the node's port (`host_interface`, or the one its namespace has
  // when empty) into the firewall and applies it; Unisolate takes it out.
  Status Isolate(const NodeRecord& record, std::string host_interface);
  Status Unisolate(const std::string& uid);
  Status ApplyFirewallLocked();  // firewall_mu_ held
  // Makes the node's container run (volume mounted, network attached with
  // its IP, bundle rewritten); updates record.ip.
  Status EnsureRunning(NodeRecord& record);
  // SIGTERM, wait up to stop_timeout_ms, then kill and delete the container.
  Status StopContainer(const NodeRecord& record);
  // Container, cgroup, network, volume, files: everything but the row.
  Status TearDown(const std::string& uid);
  NodeInfo Info(const NodeRecord& record, bool container_running) const;
  bool ContainerRunning(const std::string& uid);

  std::unique_ptr<Owned> owned_;  // first: destroyed last (ForHost only)
  NodeOptions options_;
  OciRuntime& runtime_;
  NodeNetwork& network_;
  NodeFirewall& firewall_;
  VolumeManager& volumes_;
  CgroupFs& cgroups_;
  NodeStore& store_;
  MetricsSampler& metrics_;
  const Clock& clock_;
  Status availability_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> node_mutexes_;  // GUARDED_BY(mu_)
  // Serialises the limit checks with the insert of the row they admit.
  std::mutex admission_mu_;
  std::mutex firewall_mu_;
  std::map<std::string, FirewallPort> ports_;  // by uid; GUARDED_BY(firewall_mu_)
};

}  // namespace nexus::daemon::runtime
