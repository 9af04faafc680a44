// NodeManager against the real host: runc, the CNI bridge and host-local
// plugins, loop-mounted ext4 volumes, cgroups. Needs root and those tools;
// skips with a reason otherwise, but fails when CI=true so that CI always
// runs it.
//
// Each test has its own instance name, data dir, bridge and a random
// 10.240.<n>.0/24 subnet that no route on the host uses, so it never meets a
// running instance; traffic goes only between the test's own nodes. TearDown
// deletes every node through the manager, then checks — and forcibly
// removes — everything a node can leave behind (container, netns, veth,
// lease, mount, loop device, cgroup, files, nftables tables), deletes the bridge, and puts
// the host's IPv4 forwarding setting back as it found it (the bridge plugin
// turns it on for a network with a gateway).
//
// The fixture and its host helpers, shared by the nodes_real_*_test.cc files
// (one theme each).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/sql/database.h"
#include "daemon/nodes/network.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/nodes/node_spec.h"
#include "daemon/nodes/node_store.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/process.h"
#include "support/read_file.h"
#include "support/temp_dir.h"

namespace nexus::daemon::runtime {

namespace fs = std::filesystem;

using ::nexus::testing::ReadFileToString;

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

struct Cmd {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a host command; with `output_file`, its stdio goes there instead of
// pipes (for `runc run -d`, whose container would hold our pipes open).
inline Cmd Host(std::vector<std::string> argv, const std::string& output_file = "") {
  static auto processes = NewPosixProcessRunner();
  SpawnOptions spawn;
  spawn.argv = std::move(argv);
  spawn.output_file = output_file;
  spawn.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  CommunicateOptions io;
  io.timeout_ms = 20000;
  auto outcome = processes->Run(spawn, io);
  if (!outcome.ok()) return {-1, "", outcome.status().ToString()};
  return {outcome->exit_code, outcome->stdout_data, outcome->stderr_data};
}

inline std::string Missing() {
  if (::geteuid() != 0) return "not root";
  if (FindExecutable("runc").empty() && ::access("/usr/sbin/runc", X_OK) != 0) {
    return "runc is not installed";
  }
  for (const char* p : {"/usr/lib/cni/bridge", "/usr/lib/cni/host-local"}) {
    if (::access(p, X_OK) != 0) return std::string("no CNI plugin ") + p;
  }
  for (const char* p :
       {"/usr/sbin/mkfs.ext4", "/usr/sbin/losetup", "/usr/sbin/ip", "/usr/sbin/nft"}) {
    if (::access(p, X_OK) != 0) return std::string("no ") + p;
  }
  return "";
}

inline std::string RandomName(std::mt19937& rng, size_t n) {
  const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name = "t";
  for (size_t i = 1; i < n; ++i) name += alphabet[rng() % 36];
  return name;
}

class NodesRealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = Missing();
    if (!why.empty()) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true") FAIL() << "nodes need root, runc and CNI: " << why;
      GTEST_SKIP() << "nodes need root, runc and CNI: " << why;
    }
    std::mt19937 rng{std::random_device{}()};
    dir_ = std::make_unique<testing::TempDir>("nexus-nodes-test");
    data_dir_ = dir_->path();
    config_.data_dir = data_dir_;
    config_.instance = RandomName(rng, 9);
    config_.network.bridge = "nx-" + config_.instance;
    const std::string routes = Host({"/usr/sbin/ip", "-4", "route", "show"}).out;
    do {
      third_octet_ = static_cast<int>(rng() % 256);
      subnet_prefix_ = "10.240." + std::to_string(third_octet_) + ".";
    } while (routes.find(subnet_prefix_) != std::string::npos);
    config_.network.subnet = subnet_prefix_ + "0/24";
    config_.nodes.metrics_interval_seconds = 1;
    ip_forward_before_ = ReadFileToString("/proc/sys/net/ipv4/ip_forward");
    config_.daemon.host_name = "unit-host";
    auto db = sql::OpenMetadataDatabase(data_dir_ + "/nexus.db", NodeMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    OpenManager();
  }

  // The record of a node, read as the manager's store does.
  Result<NodeRecord> Record(const std::string& owner, const std::string& name) {
    NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store,
                           NodeStore::Open(*db_, config_.daemon.host_name));
    return store->Get(owner, name);
  }

  void OpenManager() {
    auto m = NodeManager::ForHost(config_, *db_, clock_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(m).value();
    ASSERT_TRUE(manager_->availability().ok()) << manager_->availability().ToString();
  }

  void TearDown() override {
    if (data_dir_.empty()) return;
    // Delete what the tests left through the manager first: that is the path under test.
    if (manager_ && manager_->availability().ok()) {
      for (const auto& owner : owners_) {
        auto list = manager_->List(owner);
        if (!list.ok()) continue;
        for (const auto& n : *list) {
          Status s = manager_->Delete(owner, n.id);
          EXPECT_TRUE(s.ok()) << "delete " << owner << "/" << n.id << ": " << s.ToString();
        }
      }
    }
    manager_.reset();
    ExpectNothingLeft(/*force=*/true);
    auto net = NetworkOptionsFromConfig(config_);
    if (net.ok()) {
      auto processes = NewPosixProcessRunner();
      PosixEnv files;
      CniNetwork network(*net, *processes, files);
      EXPECT_TRUE(network.RemoveBridge().ok());
    }
    EXPECT_FALSE(fs::exists("/sys/class/net/" + config_.network.bridge)) << "bridge left";
    WriteFile("/proc/sys/net/ipv4/ip_forward", ip_forward_before_);
    db_.reset();
    dir_.reset();
  }

  // Checks that no node of this instance left anything on the host; with
  // `force`, also removes what it finds, so a failed test cleans up too.
  void ExpectNothingLeft(bool force) {
    const std::string prefix = config_.instance + "-n-";
    const std::string runc_root = data_dir_ + "/nodes/runc";
    Cmd list = Host({"/usr/sbin/runc", "--root", runc_root, "list", "-q"});
    std::istringstream ids(list.out);
    for (std::string id; std::getline(ids, id);) {
      if (id.empty()) continue;
      ADD_FAILURE() << "container left: " << id;
      if (force) Host({"/usr/sbin/runc", "--root", runc_root, "delete", "-f", id});
    }
    std::error_code ec;
    if (fs::is_directory("/run/netns")) {
      for (const auto& e : fs::directory_iterator("/run/netns", ec)) {
        std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        ADD_FAILURE() << "network namespace left: " << name;
        if (force) Host({"/usr/sbin/ip", "netns", "delete", name});
      }
    }
    if (fs::exists("/sys/class/net/" + config_.network.bridge + "/brif")) {
      for (const auto& e :
           fs::directory_iterator("/sys/class/net/" + config_.network.bridge + "/brif", ec)) {
        ADD_FAILURE() << "veth left on the bridge: " << e.path().filename().string();
        if (force) Host({"/usr/sbin/ip", "link", "delete", e.path().filename().string()});
      }
    }
    const std::string leases = data_dir_ + "/nodes/ipam/nexus-" + config_.instance;
    if (fs::is_directory(leases)) {
      for (const auto& e : fs::directory_iterator(leases, ec)) {
        std::string name = e.path().filename().string();
        if (name.rfind(subnet_prefix_, 0) == 0) ADD_FAILURE() << "IP lease left: " << name;
      }
    }
    std::istringstream mounts(ReadFileToString("/proc/self/mountinfo"));
    std::vector<std::string> mounted;
    for (std::string line; std::getline(mounts, line);) {
      std::istringstream f(line);
      std::string a, b, c, d, point;
      f >> a >> b >> c >> d >> point;
      if (point.rfind(data_dir_, 0) == 0) mounted.push_back(point);
    }
    for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) {
      ADD_FAILURE() << "mount left: " << *it;
      if (force) Host({"/usr/bin/umount", "-l", *it});
    }
    Cmd loops = Host({"/usr/sbin/losetup", "-a"});
    std::istringstream loop_lines(loops.out);
    for (std::string line; std::getline(loop_lines, line);) {
      if (line.find(data_dir_) == std::string::npos) continue;
      ADD_FAILURE() << "loop device left: " << line;
      if (force) Host({"/usr/sbin/losetup", "-d", line.substr(0, line.find(':'))});
    }
    auto cgroups = MakeCgroupFs(kCgroupAuto);
    ASSERT_TRUE(cgroups.ok());
    const std::string parent = "/nexus-" + config_.instance + "-nodes";
    for (const auto& uid : uids_) {
      EXPECT_FALSE((*cgroups)->Exists(parent + "/" + uid)) << "cgroup left for " << uid;
      if (force) (void)(*cgroups)->Remove(parent + "/" + uid);
    }
    if (force) (void)(*cgroups)->Remove(parent);
    const std::string by_uid = data_dir_ + "/nodes/by-uid";
    if (fs::is_directory(by_uid)) {
      for (const auto& e : fs::directory_iterator(by_uid, ec)) {
        ADD_FAILURE() << "node directory left: " << e.path();
      }
    }
    for (const char* family : {"bridge", "inet"}) {
      if (Host({"/usr/sbin/nft", "list", "table", family, Table()}).exit_code != 0) continue;
      ADD_FAILURE() << "nftables table left: " << family << " " << Table();
      if (force) Host({"/usr/sbin/nft", "delete", "table", family, Table()});
    }
  }

  std::string Table() const { return "nexus-" + config_.instance; }

  NodeInfo MustCreate(const std::string& owner, const std::string& name, int64_t memory_mb,
                      const std::string& storage) {
    owners_.insert(owner);
    CreateNodeRequest r{owner, name, memory_mb, 512, storage};
    auto n = manager_->Create(r);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) return {};
    auto rec = Record(owner, name);
    if (rec.ok()) uids_.push_back(rec->uid);
    return *n;
  }

  ExecNodeResult MustExec(const std::string& owner, const std::string& id,
                          std::vector<std::string> command, int64_t timeout_ms = 20000) {
    auto r = manager_->Exec({owner, id, std::move(command), timeout_ms});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ExecNodeResult{"", "", -1};
  }

  std::string Ip(int host) { return subnet_prefix_ + std::to_string(host); }

  std::unique_ptr<testing::TempDir> dir_;  // made once the host is known to fit
  std::string data_dir_;
  std::string subnet_prefix_;
  int third_octet_ = 0;
  std::string ip_forward_before_;
  Config config_;
  SystemClock clock_;
  std::unique_ptr<sql::Connection> db_;
  std::unique_ptr<NodeManager> manager_;
  std::set<std::string> owners_;
  std::vector<std::string> uids_;
};

}  // namespace nexus::daemon::runtime
