// NodeManager::ForHost: the host probed (root, the OCI runtime, the CNI
// plugins, the disk and network tools, cgroups, the base root) and the real
// back-ends wired; what is missing makes nodes unavailable, never nexusd.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "daemon/nodes/node_files.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/runtime/oci_runtime_factory.h"

namespace nexus::daemon::runtime {
namespace {

const char kUnavailableMessage[] = "nodes need root, runc and the CNI plugins";

// A file root may run (nexusd probes as root: any execute bit will do).
bool IsExecutable(Env& host, const std::string& path) {
  auto info = host.Stat(path);
  return info.ok() && info->type == FileType::kRegular && (info->mode & 0111) != 0;
}

// Finds a host tool: on PATH, else in the system directories (nexusd's PATH
// may lack the sbin ones).
std::string FindTool(Env& host, const std::string& name) {
  std::string found = FindExecutable(name);
  if (!found.empty() && found[0] == '/') return found;
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    std::string path = dir + name;
    if (IsExecutable(host, path)) return path;
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<NodeManager>> NodeManager::ForHost(const Config& config, sql::Connection& db,
                                                          const Clock& clock, Env* files) {
  NEXUS_ASSIGN_OR_RETURN(NodeOptions options, NodeOptionsFromConfig(config));
  NEXUS_ASSIGN_OR_RETURN(NetworkOptions net, NetworkOptionsFromConfig(config));
  NEXUS_ASSIGN_OR_RETURN(FirewallOptions firewall, FirewallOptionsFromConfig(config));
  auto owned = std::make_unique<Owned>();
  owned->processes = NewPosixProcessRunner();
  Env& host = files != nullptr ? *files : owned->files;

  std::vector<std::string> missing;
  if (::geteuid() != 0) missing.push_back("nexusd is not root");
  std::string runtime_path = FindTool(host, config.nodes.runtime);
  if (runtime_path.empty()) missing.push_back(config.nodes.runtime + " not found");
  for (const char* plugin : {"bridge", "host-local"}) {
    std::string path = net.cni_path + "/" + plugin;
    if (!IsExecutable(host, path)) missing.push_back("no CNI plugin " + path);
  }
  VolumeTools tools;
  std::string ip_tool;
  for (auto [name, slot] : {std::pair<const char*, std::string*>{"mkfs.ext4", &tools.mkfs},
                            {"losetup", &tools.losetup},
                            {"mount", &tools.mount},
                            {"umount", &tools.umount},
                            {"ip", &ip_tool},
                            {"nft", &firewall.nft_tool}}) {
    *slot = FindTool(host, name);
    if (slot->empty()) missing.push_back(std::string(name) + " not found");
  }
  net.ip_tool = ip_tool;
  if (missing.empty()) {
    // Before runc, host-local or a node make anything beneath them.
    for (const char* sub : {"", "/by-uid", "/ipam", "/runc"}) {
      Status made = MakeRootOnlyDir(host, options.data_dir + "/nodes" + sub);
      if (!made.ok()) missing.push_back(made.message());
    }
  }

  const std::string engine = OciEngineFor(runtime_path);
  std::unique_ptr<CgroupFs> host_cgroups;
  if (missing.empty()) {
    auto detected = MakeCgroupFs(kCgroupAuto);
    if (!detected.ok()) {
      missing.push_back(detected.status().message());
    } else {
      host_cgroups = std::move(detected).value();
      Status fits = CheckOciEngineFits(engine, *host_cgroups);
      if (!fits.ok()) missing.push_back(fits.message());
    }
  }
  if (missing.empty()) {
    auto base = ProbeHostLayout(host, options.base_root);
    if (!base.ok()) {
      missing.push_back(base.status().message());
    } else {
      options.base = std::move(base).value();
      options.base.swap_limit = host_cgroups->swap_limit_supported();
    }
  }
  options.host_memory_bytes = HostMemoryBytes(host);
  options.resolv_conf = NodeResolvConf(ReadFileOrEmpty(host, "/etc/resolv.conf"), net.ip_masq);

  Status availability;
  if (!missing.empty()) {
    std::string detail;
    for (const auto& m : missing) detail += (detail.empty() ? "" : "; ") + m;
    availability = UnavailableError(std::string(kUnavailableMessage) + " (" + detail + ")")
                       .set_reason(Reason::kNodesUnsupportedHere);
  }

  if (host_cgroups) {
    owned->cgroups = std::move(host_cgroups);
  } else {
    NEXUS_ASSIGN_OR_RETURN(owned->cgroups, MakeCgroupFs("none"));
  }
  CgroupRoots roots;
  roots.unified = owned->cgroups->unified();
  roots.memory = owned->cgroups->controller_root("memory");
  roots.cpuacct = owned->cgroups->controller_root("cpuacct");
  RuncOptions runc;
  runc.runc_path = runtime_path;
  runc.root = options.data_dir + "/nodes/runc";
  NEXUS_ASSIGN_OR_RETURN(owned->runtime, MakeOciRuntime(engine, runc, *owned->processes));
  owned->network = std::make_unique<CniNetwork>(net, *owned->processes, host);
  owned->firewall = std::make_unique<NftFirewall>(firewall, *owned->processes);
  owned->volumes = std::make_unique<LoopVolumeManager>(tools, *owned->processes, host);
  owned->reader = std::make_unique<CgroupStatsReader>(roots, &host);
  owned->metrics = std::make_unique<MetricsSampler>(
      *owned->reader, clock,
      MetricsOptions{config.nodes.metrics_interval_seconds, config.nodes.metrics_history_seconds});
  NEXUS_ASSIGN_OR_RETURN(owned->store, NodeStore::Open(db, config.daemon.host_name));

  Deps deps{*owned->runtime, *owned->network, *owned->firewall,
            *owned->volumes, *owned->cgroups, *owned->store,
            *owned->metrics, clock,           &host};
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
  NodeManager& m = *manager;
  m.heartbeat_ = std::jthread([&m](std::stop_token stop) { m.HeartbeatLoop(std::move(stop)); });
  return manager;
}

}  // namespace nexus::daemon::runtime
