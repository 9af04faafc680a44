// The NodeManager test rig: a manager over fakes for runc, CNI, the firewall
// and volumes (tests/support/nodes_fakes.h), a real SQLite table in memory,
// a fake cgroup tree in a temp dir for metrics, and a FakeClock. Shared by
// the node_*_test.cc files.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "daemon/database.h"
#include "daemon/nodes/node_manager.h"
#include "support/auth_temp_dir.h"
#include "support/fake_clock.h"
#include "support/nodes_fakes.h"

namespace nexus::daemon::runtime {

namespace fs = std::filesystem;
using testing::AuthTempDir;
using testing::FakeCgroupFs;
using testing::FakeClock;
using testing::FakeNodeFirewall;
using testing::FakeNodeNetwork;
using testing::FakeNodeRuntime;
using testing::FakeProcessScript;
using testing::FakeVolumeManager;

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

inline NodeOptions TestOptions(const std::string& data_dir) {
  NodeOptions o;
  o.data_dir = data_dir;
  o.instance = "test";
  o.max_memory_mb = 2048;
  o.max_storage_bytes = 4LL << 30;
  o.pids_limit = 512;
  o.base_root = "/";
  o.base.entries = {{"usr", ""}, {"bin", "usr/bin"}, {"lib", "usr/lib"}};
  o.base.cgroup_namespace = true;
  o.base.swap_limit = true;
  o.resolv_conf = "nameserver 192.0.2.53\n";
  return o;
}

// Everything a NodeManager drives, faked; a fixture base, and on its own
// for table cases that need a fresh one per row.
struct NodesRig {
  NodesRig() {
    auto db = OpenDatabase(":memory:", NodeMigrations());
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    store_ = std::make_unique<NodeStore>(*db_);
    NodeOptions options = TestOptions(dir_.path());
    options.sleep_ms = [this](int64_t ms) { slept_ms_ += ms; };
    manager_ = std::make_unique<NodeManager>(options, Deps());
  }

  NodeManager::Deps Deps() {
    return {runtime_, network_, firewall_, volumes_, cgroups_, *store_, metrics_, clock_};
  }

  Result<NodeInfo> Create(const std::string& owner, const std::string& name,
                          int64_t memory_mb = 256, int64_t cpu_shares = 512,
                          const std::string& storage = "1G") {
    return manager_->Create({owner, name, memory_mb, cpu_shares, storage});
  }

  NodeRecord Record(const std::string& owner, const std::string& name) {
    auto r = store_->Get(owner, name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : NodeRecord{};
  }

  std::string Cid(const std::string& owner, const std::string& name) {
    return manager_->ContainerId(Record(owner, name).uid);
  }

  // Everything a node can hold on the host is gone.
  void ExpectNothingHeld() {
    EXPECT_EQ(runtime_.container_count(), 0u);
    EXPECT_TRUE(network_.leases().empty());
    EXPECT_TRUE(network_.netns().empty());
    EXPECT_EQ(volumes_.count(), 0u);
    std::error_code ec;
    const fs::path by_uid = dir_.path() + "/nodes/by-uid";
    if (fs::exists(by_uid)) {
      EXPECT_TRUE(fs::is_empty(by_uid, ec)) << "node directories left";
    }
    for (const auto& removed : cgroups_.removed()) EXPECT_FALSE(cgroups_.Exists(removed));
  }

  // The fake cgroup tree (v1 layout) the metrics reader looks at.
  std::string CgroupFile(const std::string& controller, const std::string& uid,
                         const std::string& file) {
    return dir_.path() + "/cgroup/" + controller + manager_->CgroupPath(uid) + "/" + file;
  }
  void SetCounters(const std::string& uid, int64_t memory, int64_t limit, int64_t cpu_ns) {
    WriteFile(CgroupFile("memory", uid, "memory.usage_in_bytes"), std::to_string(memory) + "\n");
    WriteFile(CgroupFile("memory", uid, "memory.limit_in_bytes"), std::to_string(limit) + "\n");
    WriteFile(CgroupFile("cpuacct", uid, "cpuacct.usage"), std::to_string(cpu_ns) + "\n");
  }

  AuthTempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<NodeStore> store_;
  FakeCgroupFs cgroups_;
  FakeNodeRuntime runtime_{cgroups_};
  FakeNodeNetwork network_;
  FakeNodeFirewall firewall_;
  FakeVolumeManager volumes_;
  CgroupStatsReader reader_{
      {false, dir_.path() + "/cgroup/memory", dir_.path() + "/cgroup/cpuacct"}};
  MetricsSampler metrics_{reader_, clock_, {5, 3600}};
  int64_t slept_ms_ = 0;
  std::unique_ptr<NodeManager> manager_;
};

class NodeManagerTest : public ::testing::Test, public NodesRig {};

}  // namespace nexus::daemon::runtime
