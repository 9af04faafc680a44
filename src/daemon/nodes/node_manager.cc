#include "daemon/nodes/node_manager.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "daemon/nodes/node_files.h"

namespace nexus::daemon::runtime {
namespace {

constexpr size_t kUidLength = 10;
// Stop() polls the container's state with doubling pauses up to this one.
constexpr int64_t kMaxPollPauseMs = 64;

std::string NodeNotFound(const std::string& id) { return "node '" + id + "' not found"; }

}  // namespace

NodeManager::NodeManager(NodeOptions options, Deps deps, Status availability)
    : options_(std::move(options)),
      runtime_(deps.runtime),
      network_(deps.network),
      firewall_(deps.firewall),
      volumes_(deps.volumes),
      cgroups_(deps.cgroups),
      store_(deps.store),
      metrics_(deps.metrics),
      clock_(deps.clock),
      files_(deps.files != nullptr ? *deps.files : host_files_),
      availability_(std::move(availability)) {
  if (!options_.sleep_ms) {
    options_.sleep_ms = [](int64_t ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    };
  }
}

NodeManager::~NodeManager() {
  if (heartbeat_.joinable()) {
    heartbeat_.request_stop();
    heartbeat_.join();
  }
  if (owned_ && owned_->metrics) owned_->metrics->Stop();
}

Status NodeManager::Heartbeat() { return store_.MarkHostSeen(clock_.NowSeconds()); }

void NodeManager::HeartbeatLoop(std::stop_token stop) {
  std::unique_lock lock(heartbeat_mu_);
  while (!stop.stop_requested()) {
    lock.unlock();
    if (Status s = Heartbeat(); !s.ok()) spdlog::warn("nodes: heartbeat: {}", s.message());
    lock.lock();
    heartbeat_cv_.wait_for(lock, stop, std::chrono::seconds(options_.heartbeat_seconds),
                           [] { return false; });
  }
}

NodeInfo NodeManager::ForeignInfo(const NodeRecord& r,
                                  const std::map<std::string, int64_t>& seen) const {
  NodeInfo info = Info(r, r.state == kNodeRunning);
  auto it = seen.find(r.host);
  if (r.state != kNodeCreating &&
      (it == seen.end() || it->second < clock_.NowSeconds() - options_.host_stale_seconds)) {
    info.status = kNodeStatusUnknown;
  }
  return info;
}

std::string NodeManager::ContainerId(const std::string& uid) const {
  return options_.instance + "-n-" + uid;
}
std::string NodeManager::CgroupParent() const { return "/nexus-" + options_.instance + "-nodes"; }
std::string NodeManager::CgroupPath(const std::string& uid) const {
  return CgroupParent() + "/" + uid;
}
std::string NodeManager::NodeDir(const std::string& uid) const {
  return options_.data_dir + "/nodes/by-uid/" + uid;
}
std::string NodeManager::BundleDir(const std::string& uid) const {
  return NodeDir(uid) + "/bundle";
}
VolumePaths NodeManager::VolumeFor(const std::string& uid) const {
  return {NodeDir(uid) + "/disk.img", NodeDir(uid) + "/volume"};
}

NodeSpec NodeManager::SpecFor(const NodeRecord& r) const {
  NodeSpec spec;
  spec.hostname = r.name;
  spec.rootfs = VolumeFor(r.uid).mount_dir + "/rootfs";
  spec.netns_path = network_.NetnsPath(ContainerId(r.uid));
  spec.cgroups_path = CgroupPath(r.uid);
  spec.base_root = options_.base_root;
  spec.base = options_.base;
  spec.memory_bytes = r.memory_mb << 20;
  spec.cpu_shares = r.cpu_shares;
  spec.pids_limit = options_.pids_limit;
  return spec;
}

std::string NodeManager::NewUid() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string uid;
  for (size_t i = 0; i < kUidLength; ++i) uid += kAlphabet[rd() % 36];
  return uid;
}

std::shared_ptr<std::mutex> NodeManager::NodeMutex(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& m = node_mutexes_[uid];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

void NodeManager::DropNodeMutex(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  node_mutexes_.erase(uid);
}

// Only the daemon of the node's host may touch its container, cgroup and
// disk; a gateway sends the call there on seeing this (daemon_router.h).
Status NodeManager::OnOtherHost(const std::string& id, const std::string& host) {
  return UnavailableError("node '" + id + "' runs on host " + host)
      .set_reason(Reason::kNodeOnOtherHost)
      .set_node_host(host);
}

Result<NodeManager::Locked> NodeManager::Lock(const std::string& owner, const std::string& id) {
  auto found = store_.Get(owner, id);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) return NotFoundError(NodeNotFound(id));
    return found.status();
  }
  Locked locked(NodeRecord{}, NodeMutex(found->uid));
  // Re-read under the lock: a Delete may have finished while we waited.
  auto current = store_.GetByUid(found->uid);
  if (!current.ok()) {
    if (current.status().code() == StatusCode::kNotFound) return NotFoundError(NodeNotFound(id));
    return current.status();
  }
  locked.record = std::move(current).value();
  if (locked.record.host != store_.host()) return OnOtherHost(id, locked.record.host);
  return locked;
}

bool NodeManager::ContainerRunning(const std::string& uid) {
  auto state = runtime_.State(ContainerId(uid));
  return state.ok() && state->status == ContainerStatus::kRunning;
}

NodeInfo NodeManager::Info(const NodeRecord& r, bool container_running) const {
  NodeInfo info;
  info.id = r.name;
  info.ip = r.ip;
  if (r.state == kNodeCreating) {
    info.status = kNodeStatusCreating;
  } else if (r.state == kNodeRunning && container_running) {
    info.status = kNodeStatusRunning;
  } else {
    info.status = kNodeStatusStopped;  // also a node whose init died on its own
  }
  info.memory_mb = r.memory_mb;
  info.cpu_shares = r.cpu_shares;
  info.storage_size = r.storage_size;
  info.created_at = r.created_at;
  return info;
}

Result<std::vector<NodeInfo>> NodeManager::List(const std::string& owner) {
  NEXUS_RETURN_IF_ERROR(availability_);
  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> records, store_.List(owner));
  std::set<std::string> running;
  bool known = false;
  if (!records.empty()) {
    auto containers = runtime_.List();  // one runc call for all, not one per node
    if (containers.ok()) {
      known = true;
      for (const auto& c : *containers) {
        if (c.status == ContainerStatus::kRunning) running.insert(c.id);
      }
    }
  }
  std::map<std::string, int64_t> seen;
  for (const auto& r : records) {
    if (r.host != store_.host()) {
      NEXUS_ASSIGN_OR_RETURN(seen, store_.HostsSeen());
      break;
    }
  }
  std::vector<NodeInfo> out;
  for (const auto& r : records) {
    if (r.host != store_.host()) {
      out.push_back(ForeignInfo(r, seen));
      continue;
    }
    // Without runc's answer, trust the database.
    bool up = known ? running.count(ContainerId(r.uid)) > 0 : r.state == kNodeRunning;
    out.push_back(Info(r, up));
  }
  return out;
}

Result<NodeInfo> NodeManager::Get(const std::string& owner, const std::string& id) {
  NEXUS_RETURN_IF_ERROR(availability_);
  auto r = store_.Get(owner, id);
  if (!r.ok()) {
    return r.status().code() == StatusCode::kNotFound ? NotFoundError(NodeNotFound(id))
                                                      : r.status();
  }
  if (r->host != store_.host()) {
    NEXUS_ASSIGN_OR_RETURN(auto seen, store_.HostsSeen());
    return ForeignInfo(*r, seen);
  }
  return Info(*r, r->state == kNodeRunning && ContainerRunning(r->uid));
}

Status NodeManager::EnsureRunning(NodeRecord& r) {
  const std::string id = ContainerId(r.uid);
  auto state = runtime_.State(id);
  if (state.ok() && state->status == ContainerStatus::kRunning) return Status::Ok();
  if (state.ok()) NEXUS_RETURN_IF_ERROR(runtime_.Destroy(id));  // stopped or half-made
  if (cgroups_.Exists(CgroupPath(r.uid))) NEXUS_RETURN_IF_ERROR(cgroups_.Remove(CgroupPath(r.uid)));
  NEXUS_RETURN_IF_ERROR(volumes_.Mount(VolumeFor(r.uid)));
  std::string host_interface;  // empty: the namespace's, found by Isolate
  if (!network_.Attached(id)) {
    NEXUS_ASSIGN_OR_RETURN(NetworkAttachment a, network_.Attach(id, r.ip));
    if (!r.ip.empty() && a.ip != r.ip) {
      (void)network_.Detach(id);
      return InternalError("re-attach '" + id + "': got " + a.ip + " instead of " + r.ip);
    }
    r.ip = a.ip;
    host_interface = a.host_interface;
  }
  // The container never runs without its rules, whatever happened to them.
  NEXUS_RETURN_IF_ERROR(Isolate(r, host_interface));
  NEXUS_RETURN_IF_ERROR(WriteNodeBundle(files_, BundleDir(r.uid), SpecFor(r)));
  const std::string log = BundleDir(r.uid) + "/init.log";
  Status created = WithRuntimeLog(files_, runtime_.Create(id, BundleDir(r.uid), log), log);
  if (created.ok()) created = runtime_.Start(id);
  if (!created.ok()) {
    (void)runtime_.Destroy(id);
    return created;
  }
  return Status::Ok();
}

Status NodeManager::StopContainer(const NodeRecord& r) {
  const std::string id = ContainerId(r.uid);
  auto state = runtime_.State(id);
  if (!state.ok() && state.status().code() != StatusCode::kNotFound) return state.status();
  if (state.ok() && state->status == ContainerStatus::kRunning) {
    // The init exits on SIGTERM; give the node's programs stop_timeout_ms to
    // finish (they die with the pid namespace's init).
    if (runtime_.Kill(id, SIGTERM, /*all=*/false).ok()) {
      int64_t waited = 0;
      int64_t pause = 1;
      while (waited < options_.stop_timeout_ms) {
        auto now = runtime_.State(id);
        if (!now.ok() || now->status != ContainerStatus::kRunning) break;
        options_.sleep_ms(pause);
        waited += pause;
        pause = std::min(pause * 2, kMaxPollPauseMs);
      }
    }
  }
  if (state.ok()) NEXUS_RETURN_IF_ERROR(runtime_.Destroy(id));
  if (cgroups_.Exists(CgroupPath(r.uid))) return cgroups_.Remove(CgroupPath(r.uid));
  return Status::Ok();
}

Result<NodeInfo> NodeManager::Start(const std::string& owner, const std::string& id) {
  NEXUS_RETURN_IF_ERROR(availability_);
  NEXUS_ASSIGN_OR_RETURN(Locked locked, Lock(owner, id));
  NodeRecord& r = locked.record;
  if (r.state == kNodeCreating) return UnavailableError("node '" + id + "' is being created");
  Status running = EnsureRunning(r);
  if (!running.ok()) return running.WithContext("start node '" + id + "'");
  r.state = kNodeRunning;
  NEXUS_RETURN_IF_ERROR(store_.Update(r.uid, r.state, r.ip));
  metrics_.Track(r.uid, CgroupPath(r.uid));
  return Info(r, /*container_running=*/true);
}

Result<NodeInfo> NodeManager::Stop(const std::string& owner, const std::string& id) {
  NEXUS_RETURN_IF_ERROR(availability_);
  NEXUS_ASSIGN_OR_RETURN(Locked locked, Lock(owner, id));
  NodeRecord& r = locked.record;
  if (r.state == kNodeCreating) return UnavailableError("node '" + id + "' is being created");
  Status stopped = StopContainer(r);
  if (!stopped.ok()) return stopped.WithContext("stop node '" + id + "'");
  metrics_.Pause(r.uid);
  r.state = kNodeStopped;
  NEXUS_RETURN_IF_ERROR(store_.Update(r.uid, r.state, r.ip));
  return Info(r, /*container_running=*/false);
}

Status NodeManager::TearDown(const std::string& uid) {
  const std::string id = ContainerId(uid);
  Status first = runtime_.Destroy(id);
  if (cgroups_.Exists(CgroupPath(uid))) {
    Status s = cgroups_.Remove(CgroupPath(uid));
    if (first.ok()) first = s;
  }
  Status detached = network_.Detach(id);
  if (first.ok()) first = detached;
  Status unisolated = Unisolate(uid);
  if (first.ok()) first = unisolated;
  const VolumePaths volume = VolumeFor(uid);
  Status removed = volumes_.Remove(volume);
  if (first.ok()) first = removed;
  // Never recurse into a volume that is still mounted.
  if (!volumes_.Mounted(volume)) {
    Status s = RemoveDirTree(files_, NodeDir(uid));
    if (first.ok()) first = s;
  }
  return first;
}

Status NodeManager::Delete(const std::string& owner, const std::string& id) {
  NEXUS_RETURN_IF_ERROR(availability_);
  NEXUS_ASSIGN_OR_RETURN(Locked locked, Lock(owner, id));
  const NodeRecord& r = locked.record;
  Status torn = TearDown(r.uid);
  if (!torn.ok()) return torn.WithContext("delete node '" + id + "'");
  NEXUS_RETURN_IF_ERROR(store_.Delete(r.uid));
  metrics_.Forget(r.uid);
  DropNodeMutex(r.uid);
  spdlog::info("nodes: deleted {}/{} ({})", r.owner, r.name, ContainerId(r.uid));
  return Status::Ok();
}

Result<std::vector<NodeManager::NodeFigures>> NodeManager::AllFigures() {
  NEXUS_RETURN_IF_ERROR(availability_);
  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> records, store_.ListOnHost());
  std::vector<NodeFigures> out;
  out.reserve(records.size());
  for (NodeRecord& r : records) {
    std::optional<CgroupCounters> counters = metrics_.Latest(r.uid);
    out.push_back({std::move(r), counters});
  }
  return out;
}

Result<NodeMetrics> NodeManager::GetMetrics(const std::string& owner, const std::string& id,
                                            bool history) {
  NEXUS_RETURN_IF_ERROR(availability_);
  auto r = store_.Get(owner, id);
  if (!r.ok()) {
    return r.status().code() == StatusCode::kNotFound ? NotFoundError(NodeNotFound(id))
                                                      : r.status();
  }
  // The samples are in the memory of the node's own daemon.
  if (r->host != store_.host()) return OnOtherHost(id, r->host);
  NodeMetrics m;
  m.node_id = r->name;
  m.memory_limit = r->memory_mb << 20;
  auto snap = metrics_.Snapshot(r->uid, history);
  if (snap.ok()) {
    m.memory_usage = snap->memory_usage;
    if (snap->memory_limit > 0) m.memory_limit = snap->memory_limit;
    m.cpu_percent = snap->cpu_percent;
    m.history = std::move(snap->history);
  }
  return m;
}

Result<HostInfo> NodeManager::Host() {
  HostInfo h;
  h.host = store_.host();
  h.nodes_available = availability_.ok();
  h.memory_bytes = options_.host_memory_bytes;
  h.memory_reserved_bytes = options_.host_memory_reserve_bytes;
  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> here, store_.ListOnHost());
  h.memory_committed_bytes = CommittedMemoryBytes(here);
  if (h.nodes_available) h.memory_free_bytes = std::max<int64_t>(0, MemoryRoomBytes(here));
  return h;
}

int64_t NodeManager::CommittedMemoryBytes(const std::vector<NodeRecord>& here) {
  int64_t mb = 0;
  for (const NodeRecord& n : here) mb += n.memory_mb;
  return mb << 20;
}

int64_t NodeManager::MemoryRoomBytes(const std::vector<NodeRecord>& here) const {
  return options_.host_memory_bytes - options_.host_memory_reserve_bytes -
         CommittedMemoryBytes(here);
}

}  // namespace nexus::daemon::runtime
