// NodeManager::Create: admission against the owner's and the host's limits,
// then every step of making a node, each undone in reverse if a later one
// fails.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/storage_size.h"
#include "daemon/nodes/node_files.h"
#include "daemon/nodes/node_manager.h"

namespace nexus::daemon::runtime {
namespace {

// A stack of undo steps run in reverse unless Commit() is called: every
// early return of a multi-step operation cleans up what it made.
class Rollback {
 public:
  explicit Rollback(std::string what) : what_(std::move(what)) {}
  ~Rollback() {
    if (committed_) return;
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
      Status s = it->second();
      if (!s.ok()) spdlog::warn("{}: undo {}: {}", what_, it->first, s.ToString());
    }
  }
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;

  void Add(std::string step, std::function<Status()> undo) {
    steps_.emplace_back(std::move(step), std::move(undo));
  }
  void Commit() { committed_ = true; }

 private:
  std::string what_;
  std::vector<std::pair<std::string, std::function<Status()>>> steps_;
  bool committed_ = false;
};

}  // namespace

Result<NodeInfo> NodeManager::Create(const CreateNodeRequest& request) {
  // Bad input is a 400 whether or not this host can run nodes.
  NEXUS_ASSIGN_OR_RETURN(ValidatedNode v, ValidateCreateNode(request, options_));
  NEXUS_RETURN_IF_ERROR(availability_);
  NodeRecord r;
  r.uid = NewUid();
  r.owner = request.owner;
  r.name = request.name;
  r.state = kNodeCreating;
  r.memory_mb = v.memory_mb;
  r.cpu_shares = v.cpu_shares;
  r.storage_size = v.storage_size;
  r.storage_bytes = v.storage_bytes;
  r.created_at = clock_.NowSeconds();
  auto mu = NodeMutex(r.uid);
  std::lock_guard<std::mutex> lock(*mu);
  // The row reserves the name and the owner's share of the limits: a
  // concurrent create of the same name, or past a limit, fails here.
  Status admitted = Admit(r);
  if (!admitted.ok()) {
    DropNodeMutex(r.uid);
    return admitted;
  }
  auto created = CreateLocked(r);
  if (!created.ok()) DropNodeMutex(r.uid);
  return created;
}

Status NodeManager::Admit(const NodeRecord& r) {
  std::lock_guard<std::mutex> lock(admission_mu_);
  auto same_name = store_.Get(r.owner, r.name);
  if (same_name.ok()) return AlreadyExistsError("node '" + r.name + "' already exists");
  if (same_name.status().code() != StatusCode::kNotFound) return same_name.status();

  // A user's limits count their nodes on every host.
  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> mine, store_.List(r.owner));
  int64_t count = 0;
  int64_t memory_mb = 0;
  int64_t storage = 0;
  for (const NodeRecord& n : mine) {
    ++count;
    memory_mb += n.memory_mb;
    storage += n.storage_bytes;
  }
  // What the disks of this host's nodes could still take from its disk if
  // each filled its own: the sparse images' sizes less what they hold already.
  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> here, store_.ListOnHost());
  int64_t owed = r.storage_bytes;
  for (const NodeRecord& n : here) {
    NEXUS_ASSIGN_OR_RETURN(int64_t held, volumes_.AllocatedBytes(VolumeFor(n.uid)));
    owed += std::max<int64_t>(0, n.storage_bytes - held);
  }
  if (count + 1 > options_.user_max_nodes) {
    return PermissionDeniedError("node limit reached: at most " +
                                 std::to_string(options_.user_max_nodes) + " nodes per user");
  }
  if (memory_mb + r.memory_mb > options_.user_max_memory_mb) {
    return PermissionDeniedError("node limit reached: a user's nodes may have at most " +
                                 std::to_string(options_.user_max_memory_mb) +
                                 " MB of memory together (" + std::to_string(memory_mb) +
                                 " MB in use)");
  }
  if (storage + r.storage_bytes > options_.user_max_storage_bytes) {
    return PermissionDeniedError("node limit reached: a user's nodes may have at most " +
                                 FormatStorageSize(options_.user_max_storage_bytes) +
                                 " of storage together (" + FormatStorageSize(storage) +
                                 " in use)");
  }
  if (options_.host_memory_bytes > 0) {
    const int64_t room = MemoryRoomBytes(here);
    if ((r.memory_mb << 20) > room) {
      spdlog::warn("nodes: refused {}/{}: {} MiB asked, {} MiB of memory left for nodes on host {}",
                   r.owner, r.name, r.memory_mb, std::max<int64_t>(0, room) >> 20, store_.host());
      return QuotaExceededError("not enough memory on the host for a node of this size");
    }
  }
  NEXUS_ASSIGN_OR_RETURN(int64_t free, volumes_.FreeBytes(options_.data_dir + "/nodes"));
  if (owed > free - options_.disk_reserve_bytes) {
    spdlog::warn("nodes: refused {}/{}: node disks could take {} bytes, {} free, {} kept free",
                 r.owner, r.name, owed, free, options_.disk_reserve_bytes);
    return QuotaExceededError("not enough disk space on the host for a node of this size");
  }
  return store_.Insert(r);
}

Result<NodeInfo> NodeManager::CreateLocked(NodeRecord r) {
  const std::string what = "create node '" + r.name + "'";
  const std::string id = ContainerId(r.uid);
  const std::string dir = NodeDir(r.uid);
  const VolumePaths volume = VolumeFor(r.uid);
  Rollback undo(what);
  undo.Add("database row", [this, uid = r.uid] { return store_.Delete(uid); });

  for (const std::string& parent :
       {options_.data_dir + "/nodes", options_.data_dir + "/nodes/by-uid"}) {
    Status made = MakeRootOnlyDir(files_, parent);
    if (!made.ok()) return made.WithContext(what);
  }
  if (Status made = files_.MakeDir(dir, 0700); !made.ok()) return made.WithContext(what);
  undo.Add("node directory", [this, dir, volume]() -> Status {
    // Never recurse into a volume that is still mounted.
    if (volumes_.Mounted(volume))
      return InternalError("'" + dir + "' still holds a mounted volume");
    return RemoveDirTree(files_, dir);
  });

  Status made = volumes_.Create(volume, r.storage_bytes);
  if (!made.ok()) return made.WithContext(what);
  undo.Add("volume", [this, volume] { return volumes_.Remove(volume); });

  auto attached = network_.Attach(id, "");
  if (!attached.ok()) return attached.status().WithContext(what);
  undo.Add("network", [this, id] { return network_.Detach(id); });
  r.ip = attached->ip;
  Status isolated = Isolate(r, attached->host_interface);
  if (!isolated.ok()) return isolated.WithContext(what);
  undo.Add("firewall", [this, uid = r.uid] { return Unisolate(uid); });

  NodeSpec spec = SpecFor(r);
  Status populated = PopulateNodeRootfs(files_, spec.rootfs, spec, r.ip, options_.resolv_conf);
  if (!populated.ok()) return populated.WithContext(what);
  Status bundled = WriteNodeBundle(files_, BundleDir(r.uid), spec);
  if (!bundled.ok()) return bundled.WithContext(what);

  undo.Add("container", [this, id, uid = r.uid]() -> Status {
    Status s = runtime_.Destroy(id);
    if (cgroups_.Exists(CgroupPath(uid))) {
      Status c = cgroups_.Remove(CgroupPath(uid));
      if (s.ok()) s = c;
    }
    return s;
  });
  const std::string log = BundleDir(r.uid) + "/init.log";
  Status container = WithRuntimeLog(files_, runtime_.Create(id, BundleDir(r.uid), log), log);
  if (!container.ok()) return container.WithContext(what);
  Status started = runtime_.Start(id);
  if (!started.ok()) return started.WithContext(what);

  r.state = kNodeRunning;
  Status recorded = store_.Update(r.uid, r.state, r.ip);
  if (!recorded.ok()) return recorded.WithContext(what);
  undo.Commit();
  metrics_.Track(r.uid, CgroupPath(r.uid));
  spdlog::info("nodes: created {}/{} ({}, {})", r.owner, r.name, id, r.ip);
  return Info(r, /*container_running=*/true);
}

}  // namespace nexus::daemon::runtime
