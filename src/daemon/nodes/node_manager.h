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
// Code: lifecycle and locking in node_manager.cc, Create in node_create.cc,
// Exec in node_exec.cc, isolation and Reconcile in node_reconcile.cc,
// ForHost in node_host.cc; options and validation in node_options.h.
//
// Thread-safe. Operations on one node are serialised by a per-node mutex;
// different nodes proceed in parallel. Exec holds the node's mutex only
// while checking that it runs, so a long command does not block Stop/Delete.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/env.h"
#include "common/result.h"
#include "daemon/nodes/metrics_sampler.h"
#include "daemon/nodes/network.h"
#include "daemon/nodes/node_api.h"
#include "daemon/nodes/node_firewall.h"
#include "daemon/nodes/node_options.h"
#include "daemon/nodes/node_spec.h"
#include "daemon/nodes/node_store.h"
#include "daemon/nodes/volume.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"

namespace nexus::daemon::runtime {

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
    // Node directories, rootfs and bundles; the real file system when null.
    Env* files = nullptr;
  };

  // A non-ok `availability` (no root, runc or CNI) is what every operation answers.
  NodeManager(NodeOptions options, Deps deps, Status availability = Status::Ok());
  ~NodeManager();
  NodeManager(const NodeManager&) = delete;
  NodeManager& operator=(const NodeManager&) = delete;

  // The real wiring for nexusd: the configured OCI runtime (runc or crun)
  // with its root under the data dir, the CNI network, loop volumes, the
  // host's cgroups, the `nodes` table in `db` (which must have
  // NodeMigrations applied; give the manager a connection of its own), its
  // rows those of host [daemon] host_name, and a
  // metrics sampler thread stamping samples with `clock`; `db` and `clock`
  // must outlive the manager. Fails only on an inconsistent config; without
  // root, the runtime, the CNI plugins, nft or the disk tools it returns a manager
  // whose every operation answers kUnavailable. Runs Reconcile() (logging
  // its report) and starts the sampler. Files (probes, node directories,
  // netns and lease listings, cgroup counters) go through `files`, which
  // must outlive the manager; the real file system when null.
  static Result<std::unique_ptr<NodeManager>> ForHost(const Config& config, sql::Connection& db,
                                                      const Clock& clock, Env* files = nullptr);

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
  // Every node of every owner with its last sampled counters, for /metrics.
  struct NodeFigures {
    NodeRecord record;
    std::optional<CgroupCounters> counters;  // none: not running or not sampled yet
  };
  Result<std::vector<NodeFigures>> AllFigures();

  Result<ReconcileReport> Reconcile();

  // This host's name and the memory its nodes may still take.
  Result<HostInfo> Host();

  const Status& availability() const { return availability_; }

  // Records this daemon's host alive now; ForHost beats every
  // heartbeat_seconds on a thread of its own, tests call it directly.
  Status Heartbeat();
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
  // What ForHost made for the manager; tests hand in their own instead.
  struct Owned {
    PosixEnv files;
    std::unique_ptr<ProcessRunner> processes;
    std::unique_ptr<OciRuntime> runtime;
    std::unique_ptr<CniNetwork> network;
    std::unique_ptr<NftFirewall> firewall;
    std::unique_ptr<VolumeManager> volumes;
    std::unique_ptr<CgroupFs> cgroups;
    std::unique_ptr<CgroupStatsReader> reader;
    std::unique_ptr<MetricsSampler> metrics;
    std::unique_ptr<NodeStore> store;
  };

  // The node's record with its mutex held. The mutex is shared so that a
  // Delete that drops it from the map cannot free it under a waiter.
  class Locked {
   public:
    Locked(NodeRecord record, std::shared_ptr<std::mutex> mu)
        : record(std::move(record)), mu_(std::move(mu)), lock_(*mu_) {}
    NodeRecord record;

   private:
    std::shared_ptr<std::mutex> mu_;
    std::unique_lock<std::mutex> lock_;
  };

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
  // The memory limits of `here` (this host's nodes), together; and what the
  // host's memory less the reserve leaves beside them (negative: overdrawn).
  static int64_t CommittedMemoryBytes(const std::vector<NodeRecord>& here);
  int64_t MemoryRoomBytes(const std::vector<NodeRecord>& here) const;
  static Status OnOtherHost(const std::string& id, const std::string& host);
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
  // Info of a node of another host, from its record: Unknown when that host
  // has not been seen within host_stale_seconds (`seen`: HostsSeen()).
  NodeInfo ForeignInfo(const NodeRecord& record, const std::map<std::string, int64_t>& seen) const;
  void HeartbeatLoop(std::stop_token stop);
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
  PosixEnv host_files_;  // what files_ is when Deps names none
  Env& files_;
  Status availability_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> node_mutexes_;  // GUARDED_BY(mu_)
  // Serialises the limit checks with the insert of the row they admit.
  std::mutex admission_mu_;
  std::mutex firewall_mu_;
  // The heartbeat thread (ForHost only); stopped and joined first.
  std::mutex heartbeat_mu_;
  std::condition_variable_any heartbeat_cv_;
  std::jthread heartbeat_;
  std::map<std::string, FirewallPort> ports_;  // by uid; GUARDED_BY(firewall_mu_)
};

}  // namespace nexus::daemon::runtime
