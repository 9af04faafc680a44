// Fakes for the nodes engine (daemon/nodes/node_manager.h): an OCI
// runtime with detached containers and exec, a CNI network, the firewall,
// and loop volumes, all in memory, each able to fail a chosen step so that
// rollbacks can be tested.
//
// The runtime is FakeOciRuntime (runtime_fake_oci.h) given a FakeCgroupFs.
// FakeNodeNetwork hands out addresses from 10.0.42.2 up like host-local and
// keeps a lease per name until Detach(); a namespace's host interface is
// "veth-<name>".
// FakeNodeFirewall keeps the ports of its last Apply(). FakeVolumeManager
// makes the mount point a plain directory (so the manager can write the
// rootfs into it) and a one-byte image file, in the Env it is given (the
// real file system by default); images hold `allocated_bytes` each and the
// disk has `free_bytes`. All are thread-safe (one mutex each)
// and log their calls.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "daemon/nodes/network.h"
#include "daemon/nodes/node_firewall.h"
#include "daemon/nodes/volume.h"
#include "daemon/runtime/oci_runtime.h"
#include "support/runtime_fake_oci.h"
#include "support/runtime_fake_process.h"

namespace nexus::testing {

using daemon::runtime::FirewallPort;
using daemon::runtime::NetworkAttachment;
using daemon::runtime::NodeFirewall;
using daemon::runtime::NodeNetwork;
using daemon::runtime::VolumeManager;
using daemon::runtime::VolumePaths;

class FakeNodeNetwork final : public NodeNetwork {
 public:
  std::string prefix = "10.0.42.";  // a /24; addresses from .2
  Status fail_attach;               // non-ok: Attach() fails, leaving nothing

  Result<NetworkAttachment> Attach(const std::string& name,
                                   const std::string& requested_ip) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("attach " + name + (requested_ip.empty() ? "" : " " + requested_ip));
    if (!fail_attach.ok()) return fail_attach;
    std::set<std::string> taken;
    for (const auto& [n, ip] : leases_) {
      if (n != name) taken.insert(ip);
    }
    std::string ip = requested_ip;
    if (ip.empty()) {
      for (int host = 2; host < 255 && ip.empty(); ++host) {
        if (!taken.count(prefix + std::to_string(host))) ip = prefix + std::to_string(host);
      }
    } else if (taken.count(ip)) {
      return InternalError("requested IP address " + ip + " is not available");
    }
    netns_.insert(name);
    leases_[name] = ip;
    return NetworkAttachment{ip, 24, prefix + "1", "veth-" + name};
  }

  Status Detach(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("detach " + name);
    leases_.erase(name);
    netns_.erase(name);
    return Status::Ok();
  }

  bool Attached(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return netns_.count(name) > 0;
  }

  Result<std::string> HostInterface(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("host interface " + name);
    if (!netns_.count(name)) return NotFoundError("no network namespace '" + name + "'");
    return "veth-" + name;
  }

  std::string NetnsPath(const std::string& name) const override { return "/run/netns/" + name; }

  Result<std::vector<std::string>> ListNames(const std::string& p) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> names;
    for (const auto& n : netns_) {
      if (n.rfind(p, 0) == 0) names.insert(n);
    }
    for (const auto& [n, ip] : leases_) {
      if (n.rfind(p, 0) == 0) names.insert(n);
    }
    return std::vector<std::string>(names.begin(), names.end());
  }

  // The namespace is gone (a reboot) but host-local's lease file remains.
  void DropNetns(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    netns_.erase(name);
  }
  void AddNetns(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    netns_.insert(name);
  }
  void AddLease(const std::string& name, const std::string& ip) {
    std::lock_guard<std::mutex> lock(mu_);
    leases_[name] = ip;
  }
  std::map<std::string, std::string> leases() {
    std::lock_guard<std::mutex> lock(mu_);
    return leases_;
  }
  std::set<std::string> netns() {
    std::lock_guard<std::mutex> lock(mu_);
    return netns_;
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> leases_;
  std::set<std::string> netns_;
  std::vector<std::string> calls_;
};

class FakeNodeFirewall final : public NodeFirewall {
 public:
  Status fail_apply;  // non-ok: Apply() fails and the rules stay as they were

  Status Apply(const std::vector<FirewallPort>& ports) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++applies_;
    if (!fail_apply.ok()) return fail_apply;
    ports_ = ports;
    installed_ = !ports.empty();
    return Status::Ok();
  }

  // Interface -> owner in the rules as last applied.
  std::map<std::string, std::string> rules() {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, std::string> out;
    for (const auto& p : ports_) out[p.interface] = p.owner;
    return out;
  }
  bool installed() {
    std::lock_guard<std::mutex> lock(mu_);
    return installed_;
  }
  // As after a reboot or `nft flush ruleset`.
  void Flush() {
    std::lock_guard<std::mutex> lock(mu_);
    ports_.clear();
    installed_ = false;
  }
  int applies() {
    std::lock_guard<std::mutex> lock(mu_);
    return applies_;
  }

 private:
  std::mutex mu_;
  std::vector<FirewallPort> ports_;
  bool installed_ = false;
  int applies_ = 0;
};

class FakeVolumeManager final : public VolumeManager {
 public:
  FakeVolumeManager() : files_(host_files_) {}
  // `files` must outlive the fake.
  explicit FakeVolumeManager(Env& files) : files_(files) {}

  Status fail_create;  // non-ok: Create() fails, leaving nothing
  // Called at the end of a successful Create(), e.g. to plant an obstacle.
  std::function<void(const VolumePaths&)> on_create;

  Status Create(const VolumePaths& paths, int64_t bytes) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("create " + paths.image + " " + std::to_string(bytes));
      if (!fail_create.ok()) return fail_create;
      if (volumes_.count(paths.image)) return AlreadyExistsError(paths.image + " exists");
      NEXUS_RETURN_IF_ERROR(files_.MakeDirs(paths.mount_dir, 0755));
      NEXUS_RETURN_IF_ERROR(
          files_.WriteFileAtomically(paths.image, std::string(1, '\0'), 0600, WriteMode::kReplace));
      volumes_[paths.image] = {paths.mount_dir, true, bytes};
    }
    if (on_create) on_create(paths);
    return Status::Ok();
  }

  Status Mount(const VolumePaths& paths) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("mount " + paths.image);
    auto it = volumes_.find(paths.image);
    if (it == volumes_.end()) return InternalError("mount '" + paths.image + "': no image");
    it->second.mounted = true;
    return Status::Ok();
  }

  Status Unmount(const VolumePaths& paths) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("unmount " + paths.image);
    auto it = volumes_.find(paths.image);
    if (it != volumes_.end()) it->second.mounted = false;
    return Status::Ok();
  }

  Status Remove(const VolumePaths& paths) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("remove " + paths.image);
    volumes_.erase(paths.image);
    (void)files_.RemoveTree(paths.mount_dir);
    (void)files_.RemoveTree(paths.image);
    return Status::Ok();
  }

  bool Mounted(const VolumePaths& paths) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = volumes_.find(paths.image);
    return it != volumes_.end() && it->second.mounted;
  }

  Result<int64_t> AllocatedBytes(const VolumePaths& paths) override {
    std::lock_guard<std::mutex> lock(mu_);
    return volumes_.count(paths.image) ? allocated_bytes_ : 0;
  }

  Result<int64_t> FreeBytes(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("free " + dir);
    return free_bytes_;
  }

  void set_free_bytes(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    free_bytes_ = bytes;
  }
  void set_allocated_bytes(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    allocated_bytes_ = bytes;
  }

  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return volumes_.size();
  }
  int64_t size_of(const std::string& image) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = volumes_.find(image);
    return it == volumes_.end() ? -1 : it->second.bytes;
  }
  // As after a reboot: nothing is mounted.
  void UnmountAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [image, v] : volumes_) v.mounted = false;
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  struct Volume {
    std::string mount_dir;
    bool mounted = false;
    int64_t bytes = 0;
  };
  PosixEnv host_files_;
  Env& files_;
  std::mutex mu_;
  std::map<std::string, Volume> volumes_;
  std::vector<std::string> calls_;
  int64_t free_bytes_ = int64_t{1} << 50;  // a disk that never fills unless a test says so
  int64_t allocated_bytes_ = 0;
};

}  // namespace nexus::testing
