#include "daemon/nodes/node_manager.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "daemon/nodes/size_parse.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;

const char kUnavailableMessage[] = "nodes need root, runc and the CNI plugins";
constexpr size_t kMaxNodeName = 32;
constexpr size_t kUidLength = 10;
// Stop() polls the container's state with doubling pauses up to this one.
constexpr int64_t kMaxPollPauseMs = 64;

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

bool IsLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string NodeNotFound(const std::string& id) { return "node '" + id + "' not found"; }

// Finds a host tool: on PATH, else in the system directories (nexusd's PATH
// may lack the sbin ones).
std::string FindTool(const std::string& name) {
  std::string found = FindExecutable(name);
  if (!found.empty() && found[0] == '/') return found;
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    std::string path = dir + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A directory only root may enter: made 0700 (so it is never open, whatever
// the umask) or, when an older version made it, narrowed to 0700.
Status MakePrivateDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return Status::Ok();
  if (errno != EEXIST) return ErrnoError(StatusCode::kInternal, "mkdir '" + path + "'", errno);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return ErrnoError(StatusCode::kInternal, "stat '" + path + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) return InternalError("'" + path + "' is not a directory");
  if ((st.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0) {
    return ErrnoError(StatusCode::kInternal, "chmod '" + path + "'", errno);
  }
  return Status::Ok();
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return InternalError("remove '" + path + "': " + ec.message());
  return Status::Ok();
}

// runc's own failure to start the command (not the command's exit status):
// it exits 255 and logs `level=error msg="exec failed: ..."`.
void TranslateRuncExecFailure(ExecNodeResult& r) {
  if (r.exit_code != 255 || r.stderr_data.find("level=error") == std::string::npos) return;
  std::string msg = RuncErrorMessage(r.stderr_data);
  bool not_found = msg.find("not found") != std::string::npos ||
                   msg.find("no such file or directory") != std::string::npos;
  r.exit_code = not_found ? 127 : 126;  // the shell's "command not found" / "cannot execute"
  r.stderr_data = msg + "\n";
}

// A failed `runc create` says why only in its log file (the container's
// stdio goes there too); the last error line is worth keeping in the Status.
Status WithRuntimeLog(Status failed, const std::string& log_path) {
  if (failed.ok()) return failed;
  std::string why = RuncErrorMessage(ReadSmallFile(log_path));
  if (why.empty()) return failed;
  return Status(failed.code(), failed.message() + ": " + why);
}

// Stands in for the host's cgroups when there are none (not root).
class NoCgroupFs final : public CgroupFs {
 public:
  Result<bool> OomKilled(const std::string&) override { return false; }
  bool Exists(const std::string&) override { return false; }
  Status Remove(const std::string&) override { return Status::Ok(); }
};

}  // namespace

// ---- Configuration and validation --------------------------------------------

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

// ---- NodeManager --------------------------------------------------------------

struct NodeManager::Owned {
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
class NodeManager::Locked {
 public:
  Locked(NodeRecord record, std::shared_ptr<std::mutex> mu)
      : record(std::move(record)), mu_(std::move(mu)), lock_(*mu_) {}
  NodeRecord record;

 private:
  std::shared_ptr<std::mutex> mu_;
  std::unique_lock<std::mutex> lock_;
};

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
      availability_(std::move(availability)) {
  if (!options_.sleep_ms) {
    options_.sleep_ms = [](int64_t ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    };
  }
}

NodeManager::~NodeManager() {
  if (owned_ && owned_->metrics) owned_->metrics->Stop();
}

Result<std::unique_ptr<NodeManager>> NodeManager::ForHost(const Config& config,
                                                          SQLite::Database& db,
                                                          const Clock& clock) {
  NEXUS_ASSIGN_OR_RETURN(NodeOptions options, NodeOptionsFromConfig(config));
  NEXUS_ASSIGN_OR_RETURN(NetworkOptions net, NetworkOptionsFromConfig(config));
  NEXUS_ASSIGN_OR_RETURN(FirewallOptions firewall, FirewallOptionsFromConfig(config));
  auto owned = std::make_unique<Owned>();
  owned->processes = NewPosixProcessRunner();

  std::vector<std::string> missing;
  if (::geteuid() != 0) missing.push_back("nexusd is not root");
  std::string runtime_path = FindTool(config.nodes.runtime);
  if (runtime_path.empty()) missing.push_back(config.nodes.runtime + " not found");
  for (const char* plugin : {"bridge", "host-local"}) {
    std::string path = net.cni_path + "/" + plugin;
    if (::access(path.c_str(), X_OK) != 0) missing.push_back("no CNI plugin " + path);
  }
  VolumeTools tools;
  std::string ip_tool;
  for (auto [name, slot] : {std::pair<const char*, std::string*>{"mkfs.ext4", &tools.mkfs},
                            {"losetup", &tools.losetup},
                            {"mount", &tools.mount},
                            {"umount", &tools.umount},
                            {"ip", &ip_tool},
                            {"nft", &firewall.nft_tool}}) {
    *slot = FindTool(name);
    if (slot->empty()) missing.push_back(std::string(name) + " not found");
  }
  net.ip_tool = ip_tool;
  if (missing.empty()) {
    // Before runc, host-local or a node make anything beneath them.
    for (const char* sub : {"", "/by-uid", "/ipam", "/runc"}) {
      Status made = MakePrivateDir(options.data_dir + "/nodes" + sub);
      if (!made.ok()) missing.push_back(made.message());
    }
  }

  std::unique_ptr<HostCgroupFs> host_cgroups;
  if (missing.empty()) {
    auto detected = HostCgroupFs::Detect();
    if (!detected.ok()) {
      missing.push_back(detected.status().message());
    } else {
      host_cgroups = std::move(detected).value();
      if (fs::path(runtime_path).filename() == "crun" && !host_cgroups->unified()) {
        missing.push_back("crun needs a pure cgroup v2 host; select runc");
      }
    }
  }
  if (missing.empty()) {
    auto base = ProbeHostLayout(options.base_root);
    if (!base.ok()) {
      missing.push_back(base.status().message());
    } else {
      options.base = std::move(base).value();
      options.base.swap_limit = host_cgroups->swap_limit_supported();
    }
  }
  options.resolv_conf = NodeResolvConf(ReadSmallFile("/etc/resolv.conf"), net.ip_masq);

  Status availability;
  if (!missing.empty()) {
    std::string detail;
    for (const auto& m : missing) detail += (detail.empty() ? "" : "; ") + m;
    availability = UnavailableError(std::string(kUnavailableMessage) + " (" + detail + ")")
                       .set_reason(Reason::kNodesUnsupportedHere);
  }

  CgroupRoots roots;
  if (host_cgroups) {
    roots.unified = host_cgroups->unified();
    roots.memory = host_cgroups->controller_root("memory");
    roots.cpuacct = host_cgroups->controller_root("cpuacct");
    owned->cgroups = std::move(host_cgroups);
  } else {
    owned->cgroups = std::make_unique<NoCgroupFs>();
  }
  RuncOptions runc;
  runc.runc_path = runtime_path;
  runc.root = options.data_dir + "/nodes/runc";
  owned->runtime = std::make_unique<RuncRuntime>(runc, *owned->processes);
  owned->network = std::make_unique<CniNetwork>(net, *owned->processes);
  owned->firewall = std::make_unique<NftFirewall>(firewall, *owned->processes);
  owned->volumes = std::make_unique<LoopVolumeManager>(tools, *owned->processes);
  owned->reader = std::make_unique<CgroupStatsReader>(roots);
  owned->metrics = std::make_unique<MetricsSampler>(
      *owned->reader, clock,
      MetricsOptions{config.nodes.metrics_interval_seconds, config.nodes.metrics_history_seconds});
  owned->store = std::make_unique<NodeStore>(db);

  Deps deps{*owned->runtime, *owned->network, *owned->firewall, *owned->volumes,
            *owned->cgroups, *owned->store,   *owned->metrics,  clock};
  auto manager = std::make_unique<NodeManager>(std::move(options), deps, availability);
  MetricsSampler& sampler = *owned->metrics;
  manager->owned_ = std::move(owned);
  if (!availability.ok()) {
    spdlog::warn("nodes disabled: {}", availability.message());
    return manager;
  }
  auto report = manager->Reconcile();
  if (!report.ok()) {
    spdlog::warn("nodes: reconcile: {}", report.status().ToString());
  } else {
    for (const auto& r : report->restarted) spdlog::info("nodes: restarted {}", r);
    for (const auto& r : report->removed) spdlog::info("nodes: removed {}", r);
    for (const auto& r : report->failures) spdlog::warn("nodes: reconcile: {}", r);
  }
  sampler.Start();
  return manager;
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

  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> all, store_.ListAll());
  int64_t count = 0;
  int64_t memory_mb = 0;
  int64_t storage = 0;
  // What the disks could still take from the host's disk if every node
  // filled its own: the sparse images' sizes less what they hold already.
  int64_t owed = r.storage_bytes;
  for (const NodeRecord& n : all) {
    if (n.owner == r.owner) {
      ++count;
      memory_mb += n.memory_mb;
      storage += n.storage_bytes;
    }
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
    Status made = MakePrivateDir(parent);
    if (!made.ok()) return made.WithContext(what);
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return ErrnoError(StatusCode::kInternal, what + ": mkdir '" + dir + "'", errno);
  }
  undo.Add("node directory", [this, dir, volume]() -> Status {
    // Never recurse into a volume that is still mounted.
    if (volumes_.Mounted(volume))
      return InternalError("'" + dir + "' still holds a mounted volume");
    return RemoveTree(dir);
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
  Status populated = PopulateNodeRootfs(spec.rootfs, spec, r.ip, options_.resolv_conf);
  if (!populated.ok()) return populated.WithContext(what);
  Status bundled = WriteNodeBundle(BundleDir(r.uid), spec);
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
  Status container = WithRuntimeLog(runtime_.Create(id, BundleDir(r.uid), log), log);
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
  std::vector<NodeInfo> out;
  for (const auto& r : records) {
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
  NEXUS_RETURN_IF_ERROR(WriteNodeBundle(BundleDir(r.uid), SpecFor(r)));
  const std::string log = BundleDir(r.uid) + "/init.log";
  Status created = WithRuntimeLog(runtime_.Create(id, BundleDir(r.uid), log), log);
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
    Status s = RemoveTree(NodeDir(uid));
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

Result<ExecNodeResult> NodeManager::Exec(const ExecNodeRequest& request) {
  if (request.command.empty() || request.command[0].empty()) {
    return InvalidArgumentError("command must not be empty");
  }
  int64_t timeout = request.timeout_ms == 0 ? options_.exec_timeout_ms_default : request.timeout_ms;
  if (timeout < 0 || timeout > options_.exec_timeout_ms_max) {
    return InvalidArgumentError("timeout_ms must be between 1 and " +
                                std::to_string(options_.exec_timeout_ms_max));
  }
  NEXUS_RETURN_IF_ERROR(availability_);
  std::string container;
  std::string pid_file;
  {
    NEXUS_ASSIGN_OR_RETURN(Locked locked, Lock(request.owner, request.id));
    const NodeRecord& r = locked.record;
    if (r.state != kNodeRunning || !ContainerRunning(r.uid)) {
      return InvalidArgumentError("node '" + request.id + "' is not running");
    }
    container = ContainerId(r.uid);
    pid_file = NodeDir(r.uid) + "/exec-" + NewUid() + ".pid";
  }
  const std::string what = "exec in node '" + request.id + "'";
  auto child = runtime_.Exec(container, ExecOptions{request.command, pid_file});
  if (!child.ok()) return child.status().WithContext(what);
  CommunicateOptions io;
  io.timeout_ms = timeout;
  io.stdout_limit = static_cast<size_t>(options_.exec_output_limit_bytes);
  io.stderr_limit = static_cast<size_t>(options_.exec_output_limit_bytes);
  // Killing `runc exec` would leave the command running in the node: kill
  // the command itself, whose host pid runc wrote down. On a loaded host runc
  // may write it only after the timeout fired: then kill it once runc, killed
  // in turn, has returned (never twice: the pid could be another's by then).
  bool killed = false;
  auto kill_command = [&pid_file, &killed] {
    std::string text = ReadSmallFile(pid_file);
    long pid = std::strtol(text.c_str(), nullptr, 10);
    if (pid > 1 && !killed) {
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      killed = true;
    }
  };
  io.on_timeout = kill_command;
  auto outcome = (*child)->Communicate(io);
  if (outcome.ok() && outcome->timed_out) kill_command();
  ::unlink(pid_file.c_str());
  if (!outcome.ok()) return outcome.status().WithContext(what);
  ExecNodeResult result;
  result.stdout_data = std::move(outcome->stdout_data);
  result.stderr_data = std::move(outcome->stderr_data);
  result.exit_code = outcome->ShellExitCode();
  result.stdout_truncated = outcome->stdout_truncated;
  result.stderr_truncated = outcome->stderr_truncated;
  result.timed_out = outcome->timed_out;
  if (result.timed_out) {
    result.exit_code = 128 + SIGKILL;
  } else {
    TranslateRuncExecFailure(result);
  }
  return result;
}

Result<NodeMetrics> NodeManager::GetMetrics(const std::string& owner, const std::string& id,
                                            bool history) {
  NEXUS_RETURN_IF_ERROR(availability_);
  auto r = store_.Get(owner, id);
  if (!r.ok()) {
    return r.status().code() == StatusCode::kNotFound ? NotFoundError(NodeNotFound(id))
                                                      : r.status();
  }
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

Status NodeManager::Isolate(const NodeRecord& r, std::string host_interface) {
  if (host_interface.empty()) {
    auto found = network_.HostInterface(ContainerId(r.uid));
    if (!found.ok()) return found.status().WithContext("isolate node '" + r.name + "'");
    host_interface = std::move(found).value();
  }
  std::lock_guard<std::mutex> lock(firewall_mu_);
  auto previous = ports_.find(r.uid);
  std::optional<FirewallPort> before;
  if (previous != ports_.end()) before = previous->second;
  ports_[r.uid] = {r.owner, host_interface};
  Status applied = ApplyFirewallLocked();
  if (!applied.ok()) {
    if (before) {
      ports_[r.uid] = *before;
    } else {
      ports_.erase(r.uid);
    }
  }
  return applied;
}

Status NodeManager::Unisolate(const std::string& uid) {
  std::lock_guard<std::mutex> lock(firewall_mu_);
  if (ports_.erase(uid) == 0) return Status::Ok();
  return ApplyFirewallLocked();
}

Status NodeManager::ApplyFirewallLocked() {
  std::vector<FirewallPort> ports;
  ports.reserve(ports_.size());
  for (const auto& [uid, port] : ports_) ports.push_back(port);
  return firewall_.Apply(ports);
}

Result<ReconcileReport> NodeManager::Reconcile() {
  NEXUS_RETURN_IF_ERROR(availability_);
  ReconcileReport report;
  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> records, store_.ListAll());
  {
    // Rules first, from the database and the kernel's interfaces: they may be
    // gone (a reboot, a flush) or stale, and nodes that still run must not be
    // left open while the others are brought back.
    std::lock_guard<std::mutex> lock(firewall_mu_);
    ports_.clear();
    for (const NodeRecord& r : records) {
      const std::string id = ContainerId(r.uid);
      if (r.state == kNodeCreating || !network_.Attached(id)) continue;
      auto port = network_.HostInterface(id);
      if (port.ok()) {
        ports_[r.uid] = {r.owner, *port};
      } else {
        report.failures.push_back("firewall rules for node " + r.owner + "/" + r.name + ": " +
                                  port.status().ToString());
      }
    }
    Status applied = ApplyFirewallLocked();
    if (!applied.ok()) report.failures.push_back("rebuild the firewall: " + applied.ToString());
  }
  std::set<std::string> known_ids;
  std::set<std::string> known_uids;
  for (NodeRecord& r : records) {
    const std::string who = r.owner + "/" + r.name;
    auto mu = NodeMutex(r.uid);
    std::lock_guard<std::mutex> lock(*mu);
    if (r.state == kNodeCreating) {
      // A create that never finished: nexusd died in the middle.
      Status torn = TearDown(r.uid);
      if (torn.ok()) torn = store_.Delete(r.uid);
      if (torn.ok()) {
        report.removed.push_back("half-created node " + who + " (" + ContainerId(r.uid) + ")");
        continue;
      }
      report.failures.push_back("remove half-created node " + who + ": " + torn.ToString());
    } else if (r.state == kNodeRunning) {
      bool was_running = ContainerRunning(r.uid);
      Status running = was_running ? Status::Ok() : EnsureRunning(r);
      if (running.ok() && !was_running) {
        running = store_.Update(r.uid, r.state, r.ip);
        report.restarted.push_back(who);
      }
      if (running.ok()) {
        metrics_.Track(r.uid, CgroupPath(r.uid));
      } else {
        report.failures.push_back("restart node " + who + ": " + running.ToString());
      }
    } else {
      // Stopped: no container may be left (a Stop cut short).
      auto state = runtime_.State(ContainerId(r.uid));
      if (state.ok()) {
        Status s = StopContainer(r);
        if (!s.ok()) report.failures.push_back("stop node " + who + ": " + s.ToString());
      }
    }
    known_ids.insert(ContainerId(r.uid));
    known_uids.insert(r.uid);
  }

  // Strays: this instance's containers, namespaces, leases and node
  // directories that no row owns.
  const std::string prefix = options_.instance + "-n-";
  auto uid_of = [&](const std::string& id) { return id.substr(prefix.size()); };
  auto containers = runtime_.List();
  if (!containers.ok()) {
    report.failures.push_back("list containers: " + containers.status().ToString());
  } else {
    for (const auto& c : *containers) {
      if (known_ids.count(c.id)) continue;
      // The runtime root is this instance's alone: whatever is in it is ours.
      Status s = runtime_.Destroy(c.id);
      if (s.ok() && c.id.rfind(prefix, 0) == 0 && cgroups_.Exists(CgroupPath(uid_of(c.id)))) {
        s = cgroups_.Remove(CgroupPath(uid_of(c.id)));
      }
      if (s.ok()) {
        report.removed.push_back("stray container " + c.id);
      } else {
        report.failures.push_back("remove stray container " + c.id + ": " + s.ToString());
      }
    }
  }
  auto names = network_.ListNames(prefix);
  if (!names.ok()) {
    report.failures.push_back("list network namespaces: " + names.status().ToString());
  } else {
    for (const auto& name : *names) {
      if (known_ids.count(name)) continue;
      Status s = network_.Detach(name);
      if (s.ok()) {
        report.removed.push_back("stray network namespace or lease " + name);
      } else {
        report.failures.push_back("remove stray network " + name + ": " + s.ToString());
      }
    }
  }
  std::error_code ec;
  const fs::path by_uid = options_.data_dir + "/nodes/by-uid";
  if (fs::is_directory(by_uid, ec)) {
    std::vector<std::string> stray_dirs;
    for (const auto& entry : fs::directory_iterator(by_uid, ec)) {
      std::string uid = entry.path().filename().string();
      if (!known_uids.count(uid)) stray_dirs.push_back(uid);
    }
    for (const auto& uid : stray_dirs) {
      Status s = volumes_.Remove(VolumeFor(uid));
      if (s.ok() && !volumes_.Mounted(VolumeFor(uid))) s = RemoveTree(NodeDir(uid));
      if (s.ok()) {
        report.removed.push_back("stray node directory " + NodeDir(uid));
      } else {
        report.failures.push_back("remove stray node directory " + NodeDir(uid) + ": " +
                                  s.ToString());
      }
    }
  }
  return report;
}

}  // namespace nexus::daemon::runtime
