// The NodeManager test rig: a manager over fakes for runc, CNI, the firewall
// and volumes (tests/support/nodes_fakes.h), a real SQLite table in memory,
// its data dir (node directories, rootfs, bundles, and a fake cgroup tree for
// metrics) in a MemoryEnv, and a FakeClock. Shared by the node_*_test.cc
// files.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/memory_env.h"
#include "common/sql/database.h"
#include "daemon/nodes/node_manager.h"
#include "support/fake_clock.h"
#include "support/nodes_fakes.h"

namespace nexus::daemon::runtime {

using testing::FakeCgroupFs;
using testing::FakeClock;
using testing::FakeNodeFirewall;
using testing::FakeNodeNetwork;
using testing::FakeOciRuntime;
using testing::FakeProcessScript;
using testing::FakeVolumeManager;

// The host the rig's store records its nodes under.
inline constexpr const char* kTestHost = "unit-host";

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
    EXPECT_TRUE(files_.MakeDirs(data_dir_, 0755).ok());  // as nexusd's data dir exists
    auto db = sql::OpenMetadataDatabase(":memory:", NodeMigrations());
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto store = NodeStore::Open(*db_, kTestHost);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    NodeOptions options = TestOptions(data_dir_);
    options.sleep_ms = [this](int64_t ms) { slept_ms_ += ms; };
    manager_ = std::make_unique<NodeManager>(options, Deps());
  }

  NodeManager::Deps Deps() {
    return {runtime_, network_, firewall_, volumes_, cgroups_, *store_, metrics_, clock_, &files_};
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
    auto node_dirs = files_.ListDir(data_dir_ + "/nodes/by-uid");
    if (node_dirs.ok()) {
      EXPECT_TRUE(node_dirs->empty()) << "node directories left";
    }
    for (const auto& removed : cgroups_.removed()) EXPECT_FALSE(cgroups_.Exists(removed));
  }

  // A file in the rig's file system; "" when there is none.
  std::string Read(const std::string& path) {
    auto text = files_.ReadFile(path, 1 << 20);
    return text.ok() ? *text : "";
  }

  // The fake cgroup tree (v1 layout) the metrics reader looks at.
  std::string CgroupFile(const std::string& controller, const std::string& uid,
                         const std::string& file) {
    return data_dir_ + "/cgroup/" + controller + manager_->CgroupPath(uid) + "/" + file;
  }
  void SetCounters(const std::string& uid, int64_t memory, int64_t limit, int64_t cpu_ns) {
    files_.PutFile(CgroupFile("memory", uid, "memory.usage_in_bytes"),
                   std::to_string(memory) + "\n");
    files_.PutFile(CgroupFile("memory", uid, "memory.limit_in_bytes"),
                   std::to_string(limit) + "\n");
    files_.PutFile(CgroupFile("cpuacct", uid, "cpuacct.usage"), std::to_string(cpu_ns) + "\n");
  }

  const std::string data_dir_ = "/var/lib/nexus";
  MemoryEnv files_;
  FakeClock clock_;
  std::unique_ptr<sql::Connection> db_;
  std::unique_ptr<NodeStore> store_;
  FakeCgroupFs cgroups_;
  FakeOciRuntime runtime_{cgroups_, &files_};
  FakeNodeNetwork network_;
  FakeNodeFirewall firewall_;
  FakeVolumeManager volumes_{files_};
  CgroupStatsReader reader_{{false, data_dir_ + "/cgroup/memory", data_dir_ + "/cgroup/cpuacct"},
                            &files_};
  MetricsSampler metrics_{reader_, clock_, {5, 3600}};
  int64_t slept_ms_ = 0;
  std::unique_ptr<NodeManager> manager_;
};

class NodeManagerTest : public ::testing::Test, public NodesRig {};

}  // namespace nexus::daemon::runtime
