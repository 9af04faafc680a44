// NodeManager with fakes for runc, CNI and volumes (tests/support/nodes_fakes.h),
// a real SQLite table in memory, a fake cgroup tree in a temp dir for
// metrics, and a FakeClock: validation, the create rollback at every step,
// ownership, stop/start, delete, exec, metrics and reconcile.
#include "daemon/nodes/node_manager.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <thread>

#include "daemon/database.h"
#include "support/auth_temp_dir.h"
#include "support/fake_clock.h"
#include "support/nodes_fakes.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;
using testing::AuthTempDir;
using testing::FakeCgroupFs;
using testing::FakeClock;
using testing::FakeNodeFirewall;
using testing::FakeNodeNetwork;
using testing::FakeNodeRuntime;
using testing::FakeProcessScript;
using testing::FakeVolumeManager;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

NodeOptions TestOptions(const std::string& data_dir) {
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
    if (fs::exists(by_uid)) EXPECT_TRUE(fs::is_empty(by_uid, ec)) << "node directories left";
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

// ---- Validation -----------------------------------------------------------------

TEST(ValidateCreateNodeTest, AcceptsGoodRequestsAndNamesTheFieldOfBadOnes) {
  NodeOptions o = TestOptions("/data");
  struct Case {
    CreateNodeRequest request;
    std::string error;  // "" = valid; else a substring of the message
  } cases[] = {
      {{"alice", "worker1", 256, 512, "1G"}, ""},
      {{"alice", "a", 16, 2, "64M"}, ""},
      {{"alice", "0-node-9", 2048, 262144, "4G"}, ""},
      {{"alice", std::string(32, 'x'), 0, 0, ""}, ""},  // defaults
      {{"alice", std::string(33, 'x'), 256, 512, "1G"}, "name"},
      {{"alice", "", 256, 512, "1G"}, "name"},
      {{"alice", "-lead", 256, 512, "1G"}, "name"},
      {{"alice", "Upper", 256, 512, "1G"}, "name"},
      {{"alice", "under_score", 256, 512, "1G"}, "name"},
      {{"alice", "dot.ted", 256, 512, "1G"}, "name"},
      {{"alice", "sp ace", 256, 512, "1G"}, "name"},
      // Bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) would let a
      // name show as something else: the name charset has no room for them.
      {{"alice", "evil\u202egpj", 256, 512, "1G"}, "name"},
      {{"alice", "\u202aworker", 256, 512, "1G"}, "name"},
      {{"alice", "worker\u2066", 256, 512, "1G"}, "name"},
      {{"alice", "wo\u2069rker", 256, 512, "1G"}, "name"},
      {{"alice", "worker1", 15, 512, "1G"}, "memory_mb"},
      {{"alice", "worker1", -1, 512, "1G"}, "memory_mb"},
      {{"alice", "worker1", 2049, 512, "1G"}, "memory_mb"},
      {{"alice", "worker1", 256, 1, "1G"}, "cpu_shares"},
      {{"alice", "worker1", 256, 262145, "1G"}, "cpu_shares"},
      {{"alice", "worker1", 256, -5, "1G"}, "cpu_shares"},
      {{"alice", "worker1", 256, 512, "63M"}, "storage_size"},
      {{"alice", "worker1", 256, 512, "5G"}, "storage_size"},
      {{"alice", "worker1", 256, 512, "lots"}, "storage_size"},
      {{"alice", "worker1", 256, 512, "-1G"}, "storage_size"},
      {{"", "worker1", 256, 512, "1G"}, "owner"},
  };
  for (const auto& c : cases) {
    auto v = ValidateCreateNode(c.request, o);
    if (c.error.empty()) {
      EXPECT_TRUE(v.ok()) << c.request.name << ": " << v.status().ToString();
    } else {
      ASSERT_FALSE(v.ok()) << c.request.name << " should fail on " << c.error;
      EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(v.status().message().rfind(c.error, 0), 0u)
          << "message should start with the field: " << v.status().message();
    }
  }
}

TEST(ValidateCreateNodeTest, FillsDefaultsForMissingFields) {
  auto v = ValidateCreateNode({"alice", "n", 0, 0, ""}, TestOptions("/data"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->memory_mb, 256);
  EXPECT_EQ(v->cpu_shares, 1024);
  EXPECT_EQ(v->storage_size, "1G");
  EXPECT_EQ(v->storage_bytes, 1LL << 30);
}

TEST(NodeOptionsFromConfigTest, ResolvesPathsAndRejectsBadBounds) {
  Config c;
  c.data_dir = "/srv/nexus/";
  c.instance = "prod";
  auto o = NodeOptionsFromConfig(c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->data_dir, "/srv/nexus");
  auto net = NetworkOptionsFromConfig(c);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  EXPECT_EQ(net->bridge, "nx-prod");
  EXPECT_EQ(net->name, "nexus-prod");
  EXPECT_EQ(net->ipam_dir, "/srv/nexus/nodes/ipam");
  EXPECT_EQ(net->subnet, "10.0.42.0/24");

  // The per-user limits' defaults, and the firewall of the instance.
  EXPECT_EQ(o->user_max_nodes, 10);
  EXPECT_EQ(o->user_max_memory_mb, 8192);
  EXPECT_EQ(o->user_max_storage_bytes, 50LL << 30);
  EXPECT_EQ(o->disk_reserve_bytes, 1LL << 30);
  auto firewall = FirewallOptionsFromConfig(c);
  ASSERT_TRUE(firewall.ok()) << firewall.status().ToString();
  EXPECT_EQ(firewall->table, "nexus-prod");
  EXPECT_EQ(firewall->bridge, "nx-prod");
  EXPECT_FALSE(firewall->outbound);
  EXPECT_TRUE(firewall->host_ports.empty());
  Config open = c;
  open.network.ip_masq = 1;
  open.network.host_ports = "8080,53";
  firewall = FirewallOptionsFromConfig(open);
  ASSERT_TRUE(firewall.ok()) << firewall.status().ToString();
  EXPECT_TRUE(firewall->outbound);
  EXPECT_EQ(firewall->host_ports, (std::vector<int>{53, 8080}));

  Config small = c;
  small.nodes.max_storage_bytes = 128LL << 20;
  auto clamped = NodeOptionsFromConfig(small);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->default_storage_size, "128M");

  struct Case {
    std::function<void(Config&)> change;
    std::string error;
  } cases[] = {
      {[](Config& x) { x.nodes.max_memory_mb = 8; }, "nodes.max_memory_mb"},
      {[](Config& x) { x.nodes.max_storage_bytes = 1 << 20; }, "nodes.max_storage_bytes"},
      {[](Config& x) { x.nodes.pids_limit = 0; }, "nodes.pids_limit"},
      {[](Config& x) { x.nodes.metrics_interval_seconds = 0; }, "nodes.metrics_interval"},
      {[](Config& x) { x.nodes.metrics_history_seconds = 1; }, "nodes.metrics_history"},
      {[](Config& x) { x.network.subnet = "10.0.42.1/24"; }, "network.subnet"},
      {[](Config& x) { x.network.bridge = "much-too-long-bridge"; }, "network.bridge"},
      {[](Config& x) { x.network.host_gateway = 0, x.network.ip_masq = 1; }, "network.ip_masq"},
      {[](Config& x) { x.network.host_ports = "53,http"; }, "network.host_ports"},
      {[](Config& x) { x.nodes.user_max_nodes = 0; }, "nodes.user_max_nodes"},
      {[](Config& x) { x.nodes.user_max_memory_mb = -1; }, "nodes.user_max_memory_mb"},
      {[](Config& x) { x.nodes.user_max_storage_bytes = 0; }, "nodes.user_max_storage_bytes"},
      {[](Config& x) { x.nodes.disk_reserve_bytes = -1; }, "nodes.disk_reserve_bytes"},
  };
  for (const auto& k : cases) {
    Config bad = c;
    k.change(bad);
    Status s = NodeOptionsFromConfig(bad).status();
    if (s.ok()) s = NetworkOptionsFromConfig(bad).status();
    if (s.ok()) s = FirewallOptionsFromConfig(bad).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << k.error;
    EXPECT_NE(s.message().find(k.error), std::string::npos) << s.message();
  }
}

// ---- Create ----------------------------------------------------------------------

TEST_F(NodeManagerTest, CreateStartsARunningNodeWithTheFirstAddress) {
  clock_.AdvanceSeconds(100);
  auto n = Create("alice", "worker1", 256, 512, "1G");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->id, "worker1");
  EXPECT_EQ(n->ip, "10.0.42.2");
  EXPECT_EQ(n->status, "Running");
  EXPECT_EQ(n->memory_mb, 256);
  EXPECT_EQ(n->cpu_shares, 512);
  EXPECT_EQ(n->storage_size, "1G");
  EXPECT_EQ(n->created_at, clock_.NowSeconds());

  NodeRecord r = Record("alice", "worker1");
  EXPECT_EQ(r.state, kNodeRunning);
  EXPECT_EQ(r.ip, "10.0.42.2");
  EXPECT_EQ(r.storage_bytes, 1LL << 30);
  const std::string id = manager_->ContainerId(r.uid);
  EXPECT_EQ(id, "test-n-" + r.uid);
  EXPECT_EQ(r.uid.size(), 10u);
  EXPECT_TRUE(runtime_.Has(id));
  EXPECT_EQ(network_.leases().at(id), "10.0.42.2");
  EXPECT_EQ(volumes_.size_of(manager_->NodeDir(r.uid) + "/disk.img"), 1LL << 30);
  EXPECT_TRUE(cgroups_.Exists("/nexus-test-nodes/" + r.uid));

  // The rootfs on the volume and the bundle beside it.
  const std::string rootfs = manager_->NodeDir(r.uid) + "/volume/rootfs";
  EXPECT_EQ(ReadFile(rootfs + "/etc/hostname"), "worker1\n");
  EXPECT_NE(ReadFile(rootfs + "/etc/hosts").find("10.0.42.2\tworker1\n"), std::string::npos);
  EXPECT_EQ(ReadFile(rootfs + "/etc/resolv.conf"), "nameserver 192.0.2.53\n");
  EXPECT_EQ(fs::read_symlink(rootfs + "/bin"), "usr/bin");
  EXPECT_TRUE(fs::is_directory(rootfs + "/usr"));
  auto config = nlohmann::json::parse(ReadFile(manager_->NodeDir(r.uid) + "/bundle/config.json"));
  EXPECT_EQ(config["root"]["path"], rootfs);
  EXPECT_EQ(config["linux"]["resources"]["memory"]["limit"], 256LL << 20);
  EXPECT_EQ(config["linux"]["resources"]["cpu"]["shares"], 512);
  EXPECT_EQ(config["linux"]["resources"]["pids"]["limit"], 512);
}

TEST_F(NodeManagerTest, SecondNodeGetsTheNextAddressAndNamesAreUniquePerOwner) {
  auto a = Create("alice", "worker1");
  auto b = Create("alice", "worker2");
  auto c = Create("bob", "worker1");  // the same name, another owner
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->ip, "10.0.42.2");
  EXPECT_EQ(b->ip, "10.0.42.3");
  EXPECT_EQ(c->ip, "10.0.42.4");
  EXPECT_NE(Cid("alice", "worker1"), Cid("bob", "worker1"));

  auto again = Create("alice", "worker1");
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(runtime_.container_count(), 3u) << "the refused create made nothing";
  EXPECT_EQ(volumes_.count(), 3u);
}

TEST_F(NodeManagerTest, FailingCreateUndoesEveryEarlierStep) {
  struct Case {
    const char* step;
    std::function<void(NodesRig&)> break_it;
    const char* error;  // a substring of the message
  } cases[] = {
      {"volume", [](NodesRig& t) { t.volumes_.fail_create = InternalError("mkfs.ext4 failed"); },
       "mkfs.ext4 failed"},
      {"network", [](NodesRig& t) { t.network_.fail_attach = InternalError("CNI ADD failed"); },
       "CNI ADD failed"},
      {"rootfs",
       [](NodesRig& t) {
         t.volumes_.on_create = [](const VolumePaths& p) {
           WriteFile(p.mount_dir + "/rootfs", "");
         };
       },
       "mkdir"},
      {"bundle",
       [](NodesRig& t) {
         t.volumes_.on_create = [](const VolumePaths& p) {
           WriteFile(fs::path(p.mount_dir).parent_path().string() + "/bundle", "");
         };
       },
       "bundle"},
      {"runc create",
       [](NodesRig& t) { t.runtime_.fail_create = InternalError("runc create failed"); },
       "runc create failed"},
      {"runc start",
       [](NodesRig& t) { t.runtime_.fail_start = InternalError("runc start failed"); },
       "runc start failed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.step);
    NodesRig t;
    c.break_it(t);
    auto n = t.Create("alice", "worker1");
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.status().message().find(c.error), std::string::npos) << n.status().message();
    EXPECT_EQ(n.status().message().rfind("create node 'worker1'", 0), 0u) << n.status().message();
    t.ExpectNothingHeld();
    auto rows = t.store_->List("alice");
    ASSERT_TRUE(rows.ok());
    EXPECT_TRUE(rows->empty()) << "the name is free again";

    // Once the fault is gone, the same name can be created.
    t.volumes_.fail_create = Status::Ok();
    t.volumes_.on_create = nullptr;
    t.network_.fail_attach = Status::Ok();
    t.runtime_.fail_create = Status::Ok();
    t.runtime_.fail_start = Status::Ok();
    auto retry = t.Create("alice", "worker1");
    ASSERT_TRUE(retry.ok()) << retry.status().ToString();
    EXPECT_EQ(retry->ip, "10.0.42.2") << "the failed attempt's lease was released";
  }
}

TEST_F(NodeManagerTest, InvalidRequestTouchesNothing) {
  auto n = Create("alice", "Bad_Name");
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(runtime_.calls().empty());
  EXPECT_TRUE(network_.calls().empty());
  EXPECT_TRUE(volumes_.calls().empty());
}

// ---- Ownership, list, get --------------------------------------------------------

TEST_F(NodeManagerTest, AnotherUsersNodeIsNotFound) {
  ASSERT_TRUE(Create("alice", "secret").ok());
  EXPECT_EQ(manager_->Get("bob", "secret").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Stop("bob", "secret").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Start("bob", "secret").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Delete("bob", "secret").code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Exec({"bob", "secret", {"true"}, 0}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->GetMetrics("bob", "secret", false).status().code(), StatusCode::kNotFound);
  auto bobs = manager_->List("bob");
  ASSERT_TRUE(bobs.ok());
  EXPECT_TRUE(bobs->empty());
  EXPECT_EQ(manager_->Get("alice", "secret")->status, "Running");
}

TEST_F(NodeManagerTest, ListShowsTheOwnersNodesByNameWithLiveStatus) {
  ASSERT_TRUE(Create("alice", "b-node").ok());
  ASSERT_TRUE(Create("alice", "a-node").ok());
  ASSERT_TRUE(Create("bob", "c-node").ok());
  runtime_.SetStatus(Cid("alice", "b-node"), ContainerStatus::kStopped);  // its init died
  auto list = manager_->List("alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "a-node");
  EXPECT_EQ((*list)[0].status, "Running");
  EXPECT_EQ((*list)[1].id, "b-node");
  EXPECT_EQ((*list)[1].status, "Stopped");
  EXPECT_EQ(manager_->Get("alice", "b-node")->status, "Stopped");
}

// ---- Stop, start, delete ---------------------------------------------------------

TEST_F(NodeManagerTest, StopKeepsAddressAndDiskAndStartBringsTheSameIpBack) {
  auto n = Create("alice", "worker1");
  ASSERT_TRUE(n.ok());
  const std::string id = Cid("alice", "worker1");
  auto stopped = manager_->Stop("alice", "worker1");
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(stopped->status, "Stopped");
  EXPECT_EQ(stopped->ip, n->ip);
  EXPECT_FALSE(runtime_.Has(id));
  EXPECT_FALSE(cgroups_.Exists(manager_->CgroupPath(Record("alice", "worker1").uid)));
  EXPECT_EQ(network_.leases().at(id), n->ip) << "the lease is kept while stopped";
  EXPECT_EQ(volumes_.count(), 1u);
  EXPECT_EQ(Record("alice", "worker1").state, kNodeStopped);
  EXPECT_EQ(slept_ms_, 0) << "the init exits on SIGTERM at once";
  auto calls = runtime_.calls();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "kill " + id + " 15"), calls.end());

  // Idempotent.
  EXPECT_EQ(manager_->Stop("alice", "worker1")->status, "Stopped");
  EXPECT_EQ(manager_->Exec({"alice", "worker1", {"true"}, 0}).status().code(),
            StatusCode::kInvalidArgument);

  ASSERT_TRUE(Create("alice", "other").ok());  // must not take the stopped node's address
  auto started = manager_->Start("alice", "worker1");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->status, "Running");
  EXPECT_EQ(started->ip, n->ip);
  EXPECT_TRUE(runtime_.Has(id));
  EXPECT_EQ(Record("alice", "worker1").state, kNodeRunning);
  EXPECT_EQ(manager_->Start("alice", "worker1")->status, "Running");  // idempotent
}

TEST_F(NodeManagerTest, StopKillsANodeThatIgnoresSigtermAfterTheTimeout) {
  ASSERT_TRUE(Create("alice", "stubborn").ok());
  runtime_.ignores_sigterm = true;
  auto stopped = manager_->Stop("alice", "stubborn");
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_FALSE(runtime_.Has(Cid("alice", "stubborn")));
  EXPECT_GE(slept_ms_, manager_->options().stop_timeout_ms);
  EXPECT_LT(slept_ms_, manager_->options().stop_timeout_ms + 100);
}

TEST_F(NodeManagerTest, DeleteFreesEverything) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  ASSERT_TRUE(Create("alice", "worker2").ok());
  ASSERT_TRUE(manager_->Stop("alice", "worker2").ok());
  const std::string uid = Record("alice", "worker1").uid;
  ASSERT_TRUE(manager_->Delete("alice", "worker1").ok());
  ASSERT_TRUE(manager_->Delete("alice", "worker2").ok());
  ExpectNothingHeld();
  EXPECT_FALSE(cgroups_.Exists(manager_->CgroupPath(uid)));
  EXPECT_EQ(manager_->Get("alice", "worker1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Delete("alice", "worker1").code(), StatusCode::kNotFound);
  auto again = Create("alice", "worker1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ip, "10.0.42.2");
}

// ---- Exec -------------------------------------------------------------------------

TEST_F(NodeManagerTest, ExecRunsTheCommandAndReturnsItsOutput) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  runtime_.exec_script = [](const std::string&, const ExecOptions& o) {
    FakeProcessScript s;
    s.outcome.exit_code = 3;
    s.outcome.stdout_data = "out:" + o.args[1];
    s.outcome.stderr_data = "err";
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"echo", "hi"}, 0});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stdout_data, "out:hi");
  EXPECT_EQ(r->stderr_data, "err");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  auto execs = runtime_.execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].args, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(execs[0].pid_file.rfind(manager_->NodeDir(Record("alice", "worker1").uid), 0), 0u);
  auto io = runtime_.log()->communicated;
  ASSERT_EQ(io.size(), 1u);
  EXPECT_EQ(io[0].timeout_ms, manager_->options().exec_timeout_ms_default);
  EXPECT_EQ(io[0].stdout_limit, static_cast<size_t>(manager_->options().exec_output_limit_bytes));
  EXPECT_TRUE(io[0].on_timeout) << "a timeout kills the command, not just runc exec";
}

TEST_F(NodeManagerTest, ExecCapsOutputAndReportsTimeouts) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  runtime_.exec_script = [](const std::string&, const ExecOptions&) {
    FakeProcessScript s;
    s.runs_until_killed = true;
    s.outcome.term_signal = SIGKILL;
    s.outcome.stdout_data = std::string(3 << 20, 'x');
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"yes"}, 500});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 137);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stdout_data.size(), static_cast<size_t>(1 << 20));
}

TEST_F(NodeManagerTest, ExecKillsATimedOutCommandWhosePidArrivesAfterTheTimeout) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  // A stand-in for the node's command: a real process that waits forever.
  pid_t command = ::fork();
  ASSERT_GE(command, 0);
  if (command == 0) {
    ::pause();
    ::_exit(0);
  }
  // runc, slow on a loaded host, writes the pid file only after the timeout.
  runtime_.exec_script = [command](const std::string&, const ExecOptions& o) {
    FakeProcessScript s;
    s.runs_until_killed = true;
    s.outcome.term_signal = SIGKILL;
    s.after_timeout = [command, pid_file = o.pid_file] { std::ofstream(pid_file) << command; };
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"sleep", "30"}, 500});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  int status = 0;
  pid_t reaped = 0;
  for (int i = 0; i < 200 && reaped == 0; ++i) {
    reaped = ::waitpid(command, &status, WNOHANG);
    if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (reaped == 0) {
    ::kill(command, SIGKILL);
    ::waitpid(command, &status, 0);
    FAIL() << "the command outlived its timeout";
  }
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST_F(NodeManagerTest, ExecTurnsRuncsOwnFailureIntoTheShellsExitCodes) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  runtime_.exec_script = [](const std::string&, const ExecOptions&) {
    FakeProcessScript s;
    s.outcome.exit_code = 255;
    s.outcome.stderr_data =
        "time=\"2024-01-01T00:00:00Z\" level=error msg=\"exec failed: unable to start container "
        "process: exec: \\\"nope\\\": executable file not found in $PATH\"\n";
    return s;
  };
  auto r = manager_->Exec({"alice", "worker1", {"nope"}, 0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_EQ(r->stderr_data.find("level=error"), std::string::npos) << r->stderr_data;
  EXPECT_NE(r->stderr_data.find("executable file not found"), std::string::npos);
}

TEST_F(NodeManagerTest, ExecValidatesCommandAndTimeout) {
  ASSERT_TRUE(Create("alice", "worker1").ok());
  struct Case {
    std::vector<std::string> command;
    int64_t timeout_ms;
    const char* error;
  } cases[] = {
      {{}, 0, "command"},
      {{""}, 0, "command"},
      {{"true"}, -1, "timeout_ms"},
      {{"true"}, manager_->options().exec_timeout_ms_max + 1, "timeout_ms"},
  };
  for (const auto& c : cases) {
    auto r = manager_->Exec({"alice", "worker1", c.command, c.timeout_ms});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.error;
    EXPECT_EQ(r.status().message().rfind(c.error, 0), 0u) << r.status().message();
  }
  EXPECT_TRUE(runtime_.execs().empty());
}

// ---- Metrics ----------------------------------------------------------------------

TEST_F(NodeManagerTest, MetricsComeFromTheNodesCgroup) {
  ASSERT_TRUE(Create("alice", "worker1", 256).ok());
  const std::string uid = Record("alice", "worker1").uid;
  SetCounters(uid, 50 << 20, 256 << 20, 0);
  metrics_.SampleAll();
  clock_.AdvanceSeconds(5);
  SetCounters(uid, 60 << 20, 256 << 20, 2'500'000'000);  // 2.5 s of CPU in 5 s
  metrics_.SampleAll();

  auto m = manager_->GetMetrics("alice", "worker1", /*history=*/true);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->node_id, "worker1");
  EXPECT_EQ(m->memory_usage, 60 << 20);
  EXPECT_EQ(m->memory_limit, 256 << 20);
  EXPECT_DOUBLE_EQ(m->cpu_percent, 50.0);
  ASSERT_EQ(m->history.size(), 2u);
  EXPECT_EQ(m->history[1].timestamp_ms, clock_.NowMillis());

  auto brief = manager_->GetMetrics("alice", "worker1", /*history=*/false);
  ASSERT_TRUE(brief.ok());
  EXPECT_TRUE(brief->history.empty());

  // Stopped: no usage, the limit from the record, history kept.
  ASSERT_TRUE(manager_->Stop("alice", "worker1").ok());
  auto stopped = manager_->GetMetrics("alice", "worker1", true);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->memory_usage, 0);
  EXPECT_EQ(stopped->cpu_percent, 0);
  EXPECT_EQ(stopped->memory_limit, 256 << 20);
  EXPECT_EQ(stopped->history.size(), 2u);
}

// ---- Availability -------------------------------------------------------------------

TEST_F(NodeManagerTest, WithoutRootRuncOrCniEveryOperationIsUnavailable) {
  NodeManager off(TestOptions(dir_.path()), Deps(),
                  UnavailableError("nodes need root, runc and the CNI plugins (not root)"));
  std::vector<Status> answers = {
      off.Create({"alice", "n", 0, 0, ""}).status(),
      off.List("alice").status(),
      off.Get("alice", "n").status(),
      off.Start("alice", "n").status(),
      off.Stop("alice", "n").status(),
      off.Delete("alice", "n"),
      off.Exec({"alice", "n", {"true"}, 0}).status(),
      off.GetMetrics("alice", "n", false).status(),
      off.Reconcile().status(),
  };
  for (const auto& s : answers) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_NE(s.message().find("nodes need root, runc and the CNI plugins"), std::string::npos);
  }
  // Bad input is a 400 all the same: the client's mistake, not the host's.
  std::vector<Status> refused = {
      off.Create({"alice", "n", 0, 0, "18446744073709551680M"}).status(),
      off.Create({"alice", "n", std::numeric_limits<int64_t>::max(), 0, ""}).status(),
      off.Exec({"alice", "n", {"true"}, std::numeric_limits<int64_t>::max()}).status(),
  };
  for (const auto& s : refused) EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(runtime_.calls().empty());
}

TEST(NodeManagerForHostTest, MissingPluginsOrRuntimeMakeNodesUnavailableNotNexusd) {
  AuthTempDir dir;
  Config config;
  config.data_dir = dir.path();
  config.instance = "unit";
  config.nodes.runtime = "no-such-oci-runtime";
  config.network.cni_path = dir / "cni";  // no plugins there
  auto db = OpenDatabase(":memory:", NodeMigrations());
  ASSERT_TRUE(db.ok());
  FakeClock clock;
  auto manager = NodeManager::ForHost(config, **db, clock);
  ASSERT_TRUE(manager.ok()) << "nexusd starts anyway: " << manager.status().ToString();
  const Status& why = (*manager)->availability();
  EXPECT_EQ(why.code(), StatusCode::kUnavailable);
  EXPECT_EQ(why.message().rfind("nodes need root, runc and the CNI plugins (", 0), 0u)
      << why.message();
  EXPECT_NE(why.message().find("no-such-oci-runtime not found"), std::string::npos);
  EXPECT_NE(why.message().find("no CNI plugin " + dir / "cni/bridge"), std::string::npos);
  EXPECT_EQ((*manager)->Create({"alice", "n", 0, 0, ""}).status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(fs::exists(dir / "nodes")) << "an unavailable engine touches nothing";
}

// ---- Reconcile ----------------------------------------------------------------------

TEST_F(NodeManagerTest, ReconcileRestartsNodesThatShouldRunWithTheSameAddress) {
  auto a = Create("alice", "phoenix");
  ASSERT_TRUE(Create("alice", "sleeper").ok());
  ASSERT_TRUE(manager_->Stop("alice", "sleeper").ok());
  const std::string id = Cid("alice", "phoenix");
  // A reboot: containers, namespaces and mounts are gone; leases and rows stay.
  ASSERT_TRUE(runtime_.Destroy(id).ok());
  network_.DropNetns(id);
  network_.DropNetns(Cid("alice", "sleeper"));
  volumes_.UnmountAll();

  auto report = manager_->Reconcile();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->restarted, (std::vector<std::string>{"alice/phoenix"}));
  EXPECT_TRUE(report->failures.empty()) << report->failures[0];
  EXPECT_TRUE(report->removed.empty());
  auto got = manager_->Get("alice", "phoenix");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "Running");
  EXPECT_EQ(got->ip, a->ip);
  EXPECT_TRUE(network_.Attached(id));
  EXPECT_TRUE(
      volumes_.Mounted({manager_->NodeDir(Record("alice", "phoenix").uid) + "/disk.img", ""}));
  EXPECT_EQ(manager_->Get("alice", "sleeper")->status, "Stopped") << "stopped nodes stay stopped";

  // A second reconcile finds nothing to do.
  auto quiet = manager_->Reconcile();
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->restarted.empty());
  EXPECT_TRUE(quiet->removed.empty());
}

TEST_F(NodeManagerTest, ReconcileRemovesHalfCreatedNodesAndStrays) {
  ASSERT_TRUE(Create("alice", "keeper").ok());
  // A create cut short by a crash: its row says "creating".
  ASSERT_TRUE(Create("alice", "half").ok());
  NodeRecord half = Record("alice", "half");
  ASSERT_TRUE(store_->Update(half.uid, kNodeCreating, half.ip).ok());
  // Strays: a container, a namespace, a lease and a directory no row owns.
  runtime_.AddContainer("test-n-strayctr00", ContainerStatus::kRunning);
  network_.AddNetns("test-n-strayns000");
  network_.AddLease("test-n-straylease", "10.0.42.99");
  network_.AddNetns("other-n-notours00");  // another instance's: left alone
  fs::create_directories(dir_.path() + "/nodes/by-uid/straydir00");

  auto report = manager_->Reconcile();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->failures.empty()) << report->failures[0];
  EXPECT_EQ(report->removed.size(), 5u);
  EXPECT_EQ(manager_->Get("alice", "half").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(runtime_.Has(manager_->ContainerId(half.uid)));
  EXPECT_FALSE(runtime_.Has("test-n-strayctr00"));
  EXPECT_FALSE(fs::exists(manager_->NodeDir(half.uid)));
  EXPECT_FALSE(fs::exists(dir_.path() + "/nodes/by-uid/straydir00"));
  EXPECT_EQ(network_.netns(), (std::set<std::string>{Cid("alice", "keeper"), "other-n-notours00"}));
  EXPECT_EQ(network_.leases().size(), 1u);
  EXPECT_EQ(manager_->Get("alice", "keeper")->status, "Running");
}

TEST_F(NodeManagerTest, ConcurrentCreatesOfOneNameMakeOneNode) {
  std::vector<std::thread> threads;
  std::atomic<int> made{0}, refused{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto n = Create("alice", "racer");
      if (n.ok()) ++made;
      if (n.status().code() == StatusCode::kAlreadyExists) ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(made.load(), 1);
  EXPECT_EQ(refused.load(), 7);
  EXPECT_EQ(runtime_.container_count(), 1u);
  EXPECT_EQ(volumes_.count(), 1u);
}

// ---- Per-user limits and the host's disk ------------------------------------------

class NodeLimitsTest : public NodeManagerTest {
 protected:
  NodeLimitsTest() {
    NodeOptions o = TestOptions(dir_.path());
    o.sleep_ms = [](int64_t) {};
    o.user_max_nodes = 2;
    o.user_max_memory_mb = 512;
    o.user_max_storage_bytes = 3LL << 30;
    o.disk_reserve_bytes = 1LL << 30;
    manager_ = std::make_unique<NodeManager>(o, Deps());
  }
};

TEST_F(NodeLimitsTest, EachLimitRefusesWith403AndMakesNothing) {
  ASSERT_TRUE(Create("alice", "a1", 256, 512, "1G").ok());
  ASSERT_TRUE(Create("alice", "a2", 128, 512, "1G").ok());
  const size_t containers = runtime_.container_count();
  auto third = Create("alice", "a3", 16, 512, "64M");
  EXPECT_EQ(third.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(third.status().message(), "node limit reached: at most 2 nodes per user");

  ASSERT_TRUE(Create("bob", "b1", 384, 512, "2G").ok());
  auto memory = Create("bob", "b2", 256, 512, "64M");
  EXPECT_EQ(memory.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(memory.status().message(),
            "node limit reached: a user's nodes may have at most 512 MB of memory together "
            "(384 MB in use)");
  auto storage = Create("bob", "b2", 128, 512, "2G");
  EXPECT_EQ(storage.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(storage.status().message(),
            "node limit reached: a user's nodes may have at most 3G of storage together "
            "(2G in use)");
  // Exactly at the limits is allowed.
  ASSERT_TRUE(Create("bob", "b2", 128, 512, "1G").ok());

  EXPECT_EQ(runtime_.container_count(), containers + 2);
  EXPECT_EQ(volumes_.count(), 4u);
  EXPECT_EQ(store_->ListAll()->size(), 4u) << "refused creates leave no row";
  EXPECT_EQ(manager_->Get("alice", "a3").status().code(), StatusCode::kNotFound);
}

TEST_F(NodeLimitsTest, ADuplicateNameIs409EvenAtTheLimitAndDeletingMakesRoom) {
  ASSERT_TRUE(Create("alice", "a1", 16, 512, "64M").ok());
  ASSERT_TRUE(Create("alice", "a2", 16, 512, "64M").ok());
  EXPECT_EQ(Create("alice", "a1", 16, 512, "64M").status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(manager_->Delete("alice", "a2").ok());
  EXPECT_TRUE(Create("alice", "a3", 16, 512, "64M").ok());
}

TEST_F(NodeLimitsTest, ConcurrentCreatesCannotPassTheLimitTogether) {
  std::vector<std::thread> threads;
  std::atomic<int> made{0}, refused{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto n = Create("alice", "racer" + std::to_string(i), 16, 512, "64M");
      if (n.ok()) ++made;
      if (n.status().code() == StatusCode::kPermissionDenied) ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(made.load(), 2);
  EXPECT_EQ(refused.load(), 6);
  EXPECT_EQ(runtime_.container_count(), 2u);
  EXPECT_EQ(volumes_.count(), 2u);
}

TEST_F(NodeLimitsTest, EveryDiskMustBeAbleToGrowToItsSizeBesideTheReserve) {
  // 4 GiB free, 1 GiB kept: room for 3 GiB of disks that may still grow.
  volumes_.set_free_bytes(4LL << 30);
  ASSERT_TRUE(Create("alice", "a1", 16, 512, "2G").ok());
  // bob's own limits allow 2G, but alice's sparse 2G disk may still fill.
  auto refused = Create("bob", "b1", 16, 512, "2G");
  EXPECT_EQ(refused.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(refused.status().message(),
            "not enough disk space on the host for a node of this size");
  EXPECT_EQ(volumes_.count(), 1u);
  ASSERT_TRUE(Create("bob", "b1", 16, 512, "1G").ok());
  // What a disk holds already is out of the free space and no longer owed:
  // the same free space now counts 1.5 GiB of each image as taken.
  volumes_.set_allocated_bytes(1536LL << 20);
  volumes_.set_free_bytes((4LL << 30) - 2 * (1536LL << 20));
  EXPECT_EQ(Create("bob", "b2", 16, 512, "64M").status().code(), StatusCode::kQuotaExceeded);
  volumes_.set_free_bytes(4LL << 30);
  EXPECT_TRUE(Create("bob", "b2", 16, 512, "1G").ok());
}

// ---- Firewall ------------------------------------------------------------------------

TEST_F(NodeManagerTest, EachNodesPortIsInTheRulesBeforeItsContainerIsCreated) {
  std::map<std::string, std::string> rules_at_create;
  runtime_.on_create = [&](const std::string&) { rules_at_create = firewall_.rules(); };
  ASSERT_TRUE(Create("alice", "a1").ok());
  const std::string a1 = "veth-" + Cid("alice", "a1");
  EXPECT_EQ(rules_at_create, (std::map<std::string, std::string>{{a1, "alice"}}));
  ASSERT_TRUE(Create("bob", "b1").ok());
  const std::string b1 = "veth-" + Cid("bob", "b1");
  EXPECT_EQ(firewall_.rules(), (std::map<std::string, std::string>{{a1, "alice"}, {b1, "bob"}}));

  // A stopped node keeps its network and its place in the rules; a start
  // (its container created again) puts it there again first.
  ASSERT_TRUE(manager_->Stop("bob", "b1").ok());
  EXPECT_EQ(firewall_.rules().count(b1), 1u);
  firewall_.Flush();
  rules_at_create.clear();
  ASSERT_TRUE(manager_->Start("bob", "b1").ok());
  EXPECT_EQ(rules_at_create.count(b1), 1u);
  EXPECT_EQ(rules_at_create.at(b1), "bob");

  ASSERT_TRUE(manager_->Delete("bob", "b1").ok());
  EXPECT_EQ(firewall_.rules(), (std::map<std::string, std::string>{{a1, "alice"}}));
  EXPECT_TRUE(firewall_.installed());
  ASSERT_TRUE(manager_->Delete("alice", "a1").ok());
  EXPECT_FALSE(firewall_.installed()) << "the last node takes the tables with it";
}

TEST_F(NodeManagerTest, ANodeWhoseRulesCannotBeAppliedIsNotCreatedOrStarted) {
  ASSERT_TRUE(Create("alice", "a1").ok());
  firewall_.fail_apply = InternalError("nft: Operation not permitted");
  auto n = Create("bob", "b1");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("Operation not permitted"), std::string::npos);
  EXPECT_EQ(runtime_.container_count(), 1u);
  EXPECT_EQ(volumes_.count(), 1u);
  EXPECT_EQ(network_.netns().size(), 1u);
  EXPECT_TRUE(store_->List("bob")->empty());

  firewall_.fail_apply = Status::Ok();
  ASSERT_TRUE(manager_->Stop("alice", "a1").ok());
  firewall_.fail_apply = InternalError("nft: Operation not permitted");
  EXPECT_FALSE(manager_->Start("alice", "a1").ok());
  EXPECT_FALSE(runtime_.Has(Cid("alice", "a1"))) << "no container runs without its rules";
}

TEST_F(NodeManagerTest, ReconcileRebuildsLostRulesBeforeRestartingAnyNode) {
  ASSERT_TRUE(Create("alice", "kept").ok());
  ASSERT_TRUE(Create("bob", "phoenix").ok());
  ASSERT_TRUE(Create("bob", "sleeper").ok());
  ASSERT_TRUE(manager_->Stop("bob", "sleeper").ok());
  const std::string kept = "veth-" + Cid("alice", "kept");
  const std::string phoenix = "veth-" + Cid("bob", "phoenix");
  const std::string sleeper = "veth-" + Cid("bob", "sleeper");
  // nexusd restarts after the rules were flushed and one container died.
  firewall_.Flush();
  ASSERT_TRUE(runtime_.Destroy(Cid("bob", "phoenix")).ok());
  std::map<std::string, std::string> rules_at_restart;
  runtime_.on_create = [&](const std::string&) { rules_at_restart = firewall_.rules(); };
  NodeOptions o = TestOptions(dir_.path());
  o.sleep_ms = [](int64_t) {};
  manager_ = std::make_unique<NodeManager>(o, Deps());

  auto report = manager_->Reconcile();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->failures.empty()) << report->failures[0];
  EXPECT_EQ(report->restarted, (std::vector<std::string>{"bob/phoenix"}));
  const std::map<std::string, std::string> all = {
      {kept, "alice"}, {phoenix, "bob"}, {sleeper, "bob"}};
  EXPECT_EQ(rules_at_restart, all) << "every node was isolated again before any restart";
  EXPECT_EQ(firewall_.rules(), all);
}

TEST_F(NodeManagerTest, ReconcileWithoutNodesRemovesLeftoverRules) {
  ASSERT_TRUE(Create("alice", "a1").ok());
  ASSERT_TRUE(store_->Delete(Record("alice", "a1").uid).ok());  // as if lost with its row
  auto report = manager_->Reconcile();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(firewall_.installed());
  ExpectNothingHeld();
}

// ---- Files ---------------------------------------------------------------------------

TEST_F(NodeManagerTest, NodeDirectoriesAreClosedToOtherUsersEvenWhenMadeOpenBefore) {
  // An older version left them 0755.
  fs::create_directories(dir_.path() + "/nodes/by-uid");
  fs::permissions(dir_.path() + "/nodes", fs::perms(0755));
  fs::permissions(dir_.path() + "/nodes/by-uid", fs::perms(0755));
  ASSERT_TRUE(Create("alice", "a1").ok());
  const std::string node = manager_->NodeDir(Record("alice", "a1").uid);
  auto mode = [](const std::string& p) { return fs::status(p).permissions() & fs::perms::all; };
  EXPECT_EQ(mode(dir_.path() + "/nodes"), fs::perms(0700));
  EXPECT_EQ(mode(dir_.path() + "/nodes/by-uid"), fs::perms(0700));
  EXPECT_EQ(mode(node), fs::perms(0700));
  EXPECT_EQ(mode(node + "/bundle"), fs::perms(0700));
  EXPECT_EQ(mode(node + "/bundle/config.json"), fs::perms(0600));
}

}  // namespace
}  // namespace nexus::daemon::runtime
