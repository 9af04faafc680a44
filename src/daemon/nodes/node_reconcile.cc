// NodeManager's isolation (each node's port in the firewall) and Reconcile
// (the host made to match the database at start).
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/nodes/node_files.h"
#include "daemon/nodes/node_manager.h"

namespace nexus::daemon::runtime {

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
  NEXUS_ASSIGN_OR_RETURN(std::vector<NodeRecord> records, store_.ListOnHost());
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
  if (auto by_uid = files_.ListDir(options_.data_dir + "/nodes/by-uid"); by_uid.ok()) {
    std::vector<std::string> stray_dirs;
    for (const auto& uid : *by_uid) {
      if (!known_uids.count(uid)) stray_dirs.push_back(uid);
    }
    for (const auto& uid : stray_dirs) {
      Status s = volumes_.Remove(VolumeFor(uid));
      if (s.ok() && !volumes_.Mounted(VolumeFor(uid))) s = RemoveDirTree(files_, NodeDir(uid));
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
