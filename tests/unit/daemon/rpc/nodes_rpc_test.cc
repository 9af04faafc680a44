// NodesRpc end to end through its stub, over a NodeManager on the nodes
// fakes (tests/support/nodes_fakes.h), plus NodeManager::ForHost without its
// runtime (UNAVAILABLE).
#include "daemon/rpc/nodes_rpc.h"

#include "unit/daemon/rpc/rpc_test_bench.h"

namespace nexus::daemon {
namespace {

using namespace rpc_bench;  // NOLINT: the bench of this folder

// ---- nodes -------------------------------------------------------------------------

// A NodeManager over the in-memory fakes of tests/support/nodes_fakes.h (runc,
// CNI, loop volumes), the real `nodes` table and a fake cgroup tree, served
// by NodesRpc: the adapters are checked end to end through the stub.
class NodeRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    health_ = std::make_unique<testing::TestHealth>(dir_);
    ASSERT_TRUE(health_->get());
    nodes_db_ = testing::OpenTestDatabase(dir_);
    ASSERT_TRUE(nodes_db_);
    nodes_conn_ = std::make_unique<sql::SqliteConnection>(*nodes_db_);
    auto store = runtime::NodeStore::Open(*nodes_conn_, "unit-host");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Serve(Status::Ok());
  }

  // (Re)starts the service over a manager whose availability is `availability`.
  void Serve(Status availability, const CallLimits& limits = CallLimits{}) {
    server_.reset();
    manager_.reset();
    runtime::NodeOptions o;
    o.data_dir = dir_.path();
    o.instance = "svc";
    o.base.entries = {{"usr", ""}, {"bin", "usr/bin"}};
    o.base.cgroup_namespace = true;
    o.resolv_conf = "nameserver 192.0.2.53\n";
    o.sleep_ms = [](int64_t) {};
    manager_ = std::make_unique<runtime::NodeManager>(
        o,
        runtime::NodeManager::Deps{runtime_, network_, firewall_, volumes_, cgroups_, *store_,
                                   metrics_, clock_},
        availability);
    server_ = std::make_unique<TestServer>(
        dir_.File("d.sock"), DomainObjects{.health = health_->get(), .nodes = manager_.get()},
        limits);
    ASSERT_TRUE(server_->started());
  }

  DaemonStubs& stub() { return server_->stub(); }

  grpc::Status Create(const std::string& owner, const std::string& name, v1::Node* out,
                      int64_t memory_mb = 256, const std::string& storage = "1G") {
    v1::CreateNodeRequest req;
    req.set_owner(owner);
    req.set_name(name);
    req.set_memory_mb(memory_mb);
    req.set_cpu_shares(512);
    req.set_storage_size(storage);
    grpc::ClientContext ctx;
    return stub().nodes->CreateNode(&ctx, req, out);
  }

  static v1::NodeRef Ref(const std::string& owner, const std::string& id) {
    v1::NodeRef r;
    r.set_owner(owner);
    r.set_id(id);
    return r;
  }

  // Every node RPC but CreateNode and ListNodes, for (owner, id).
  std::vector<std::pair<std::string, grpc::Status>> EveryNodeRpc(const std::string& owner,
                                                                 const std::string& id) {
    std::vector<std::pair<std::string, grpc::Status>> out;
    v1::Node node;
    {
      grpc::ClientContext c;
      out.emplace_back("GetNode", stub().nodes->GetNode(&c, Ref(owner, id), &node));
    }
    {
      grpc::ClientContext c;
      out.emplace_back("StopNode", stub().nodes->StopNode(&c, Ref(owner, id), &node));
    }
    {
      grpc::ClientContext c;
      out.emplace_back("StartNode", stub().nodes->StartNode(&c, Ref(owner, id), &node));
    }
    {
      v1::ExecNodeRequest req;
      req.set_owner(owner);
      req.set_id(id);
      req.add_command("true");
      v1::ExecNodeResponse resp;
      grpc::ClientContext c;
      out.emplace_back("ExecNode", stub().nodes->ExecNode(&c, req, &resp));
    }
    {
      v1::GetNodeMetricsRequest req;
      req.set_owner(owner);
      req.set_id(id);
      v1::NodeMetrics resp;
      grpc::ClientContext c;
      out.emplace_back("GetNodeMetrics", stub().nodes->GetNodeMetrics(&c, req, &resp));
    }
    {
      v1::DeleteNodeResponse resp;
      grpc::ClientContext c;
      out.emplace_back("DeleteNode", stub().nodes->DeleteNode(&c, Ref(owner, id), &resp));
    }
    return out;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<SQLite::Database> nodes_db_;
  std::unique_ptr<sql::SqliteConnection> nodes_conn_;
  std::unique_ptr<testing::TestHealth> health_;
  std::unique_ptr<runtime::NodeStore> store_;
  testing::FakeCgroupFs cgroups_;
  testing::FakeOciRuntime runtime_{cgroups_};
  testing::FakeNodeNetwork network_;
  testing::FakeNodeFirewall firewall_;
  testing::FakeVolumeManager volumes_;
  runtime::CgroupStatsReader reader_{
      {false, dir_.path() + "/cgroup/memory", dir_.path() + "/cgroup/cpuacct"}};
  runtime::MetricsSampler metrics_{reader_, clock_, {5, 3600}};
  std::unique_ptr<runtime::NodeManager> manager_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(NodeRpcTest, CreateAnswersTheNodeAndListAndGetShowIt) {
  v1::Node created;
  grpc::Status s = Create("alice", "worker1", &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.id(), "worker1");
  EXPECT_EQ(created.ip(), "10.0.42.2");
  EXPECT_EQ(created.status(), "Running");
  EXPECT_EQ(created.memory_mb(), 256);
  EXPECT_EQ(created.cpu_shares(), 512);
  EXPECT_EQ(created.storage_size(), "1G");
  EXPECT_EQ(created.created_at(), clock_.NowSeconds());

  v1::Node second;
  ASSERT_TRUE(Create("alice", "worker2", &second).ok());
  EXPECT_EQ(second.ip(), "10.0.42.3");

  v1::ListNodesRequest list_req;
  list_req.set_owner("alice");
  v1::ListNodesResponse list;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub().nodes->ListNodes(&c1, list_req, &list).ok());
  ASSERT_EQ(list.nodes_size(), 2);

  v1::Node got;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().nodes->GetNode(&c2, Ref("alice", "worker2"), &got).ok());
  EXPECT_EQ(got.ip(), "10.0.42.3");
  EXPECT_EQ(got.status(), "Running");
}

TEST_F(NodeRpcTest, StopAndStartKeepTheAddressAndDeleteForgetsTheNode) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  v1::Node stopped;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub().nodes->StopNode(&c1, Ref("alice", "worker1"), &stopped).ok());
  EXPECT_EQ(stopped.status(), "Stopped");
  v1::Node started;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().nodes->StartNode(&c2, Ref("alice", "worker1"), &started).ok());
  EXPECT_EQ(started.status(), "Running");
  EXPECT_EQ(started.ip(), node.ip());

  v1::DeleteNodeResponse deleted;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub().nodes->DeleteNode(&c3, Ref("alice", "worker1"), &deleted).ok());
  v1::Node gone;
  grpc::ClientContext c4;
  grpc::Status s = stub().nodes->GetNode(&c4, Ref("alice", "worker1"), &gone);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_.container_count(), 0u);
  EXPECT_TRUE(network_.leases().empty());
}

TEST_F(NodeRpcTest, ExecCarriesArgvOutputExitCodeAndTimeout) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  runtime_.exec_script = [](const std::string&, const runtime::ExecOptions& o) {
    testing::FakeProcessScript s;
    if (o.args[0] == "sleep") {
      s.runs_until_killed = true;
      s.outcome.term_signal = SIGKILL;
      return s;
    }
    s.outcome.exit_code = 3;
    s.outcome.stdout_data = "out:" + o.args[1] + std::string("\xff", 1);
    s.outcome.stderr_data = "err";
    return s;
  };
  v1::ExecNodeRequest req;
  req.set_owner("alice");
  req.set_id("worker1");
  req.add_command("echo");
  req.add_command("hi");
  v1::ExecNodeResponse resp;
  grpc::ClientContext c1;
  grpc::Status s = stub().nodes->ExecNode(&c1, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), std::string("out:hi\xff", 7)) << "output is bytes, not UTF-8";
  EXPECT_EQ(resp.stderr(), "err");
  EXPECT_EQ(resp.exit_code(), 3);
  EXPECT_FALSE(resp.timed_out());

  req.clear_command();
  req.add_command("sleep");
  req.set_timeout_ms(100);
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().nodes->ExecNode(&c2, req, &resp).ok());
  EXPECT_TRUE(resp.timed_out());
  EXPECT_EQ(resp.exit_code(), 137);
}

TEST_F(NodeRpcTest, ExecsBeyondAUsersShareAreRateLimitedWhileOtherUsersExec) {
  CallLimits limits;
  limits.execs = {3, 2};
  Serve(Status::Ok(), limits);
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  ASSERT_TRUE(Create("bob", "worker1", &node).ok());
  // Alice's two execs stay in `runc exec` until the gate opens.
  Gate gate(2);
  runtime_.exec_script = [&gate](const std::string&, const runtime::ExecOptions&) {
    gate.Pass();
    return testing::FakeProcessScript{};
  };
  auto exec = [this](const std::string& owner) {
    v1::ExecNodeRequest req;
    req.set_owner(owner);
    req.set_id("worker1");
    req.add_command("sleep");
    req.add_command("300");
    v1::ExecNodeResponse resp;
    grpc::ClientContext ctx;
    return stub().nodes->ExecNode(&ctx, req, &resp);
  };
  grpc::Status held[2];
  std::vector<std::thread> alice;
  for (grpc::Status& status : held) alice.emplace_back([&] { status = exec("alice"); });
  ASSERT_TRUE(gate.WaitForEntered(2));
  ExpectRateLimited(exec("alice"), "execs");
  grpc::Status bob = exec("bob");
  EXPECT_TRUE(bob.ok()) << bob.error_message();
  gate.Open();
  for (auto& t : alice) t.join();
  for (const grpc::Status& s : held) EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::Status again = exec("alice");
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(NodeRpcTest, NodeChangesBeyondAUsersShareAreRateLimitedWhileOtherUsersCreate) {
  CallLimits limits;
  limits.node_changes = {3, 2};
  Serve(Status::Ok(), limits);
  // Alice's two creates stay in making their volume until the gate opens.
  Gate gate(2);
  volumes_.on_create = [&gate](const runtime::VolumePaths&) { gate.Pass(); };
  grpc::Status held[2];
  std::vector<std::thread> alice;
  for (int i = 0; i < 2; ++i) {
    alice.emplace_back([&, i] {
      v1::Node node;
      held[i] = Create("alice", "worker" + std::to_string(i), &node);
    });
  }
  ASSERT_TRUE(gate.WaitForEntered(2));
  v1::Node node;
  ExpectRateLimited(Create("alice", "worker9", &node), "node changes");
  grpc::ClientContext stop_ctx;
  ExpectRateLimited(stub().nodes->StopNode(&stop_ctx, Ref("alice", "worker0"), &node),
                    "node changes");
  grpc::Status bob = Create("bob", "worker1", &node);
  EXPECT_TRUE(bob.ok()) << bob.error_message();
  gate.Open();
  for (auto& t : alice) t.join();
  for (const grpc::Status& s : held) EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::ClientContext delete_ctx;
  v1::DeleteNodeResponse deleted;
  grpc::Status again = stub().nodes->DeleteNode(&delete_ctx, Ref("alice", "worker0"), &deleted);
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(NodeRpcTest, MetricsAnswerTheLimitAndHistoryWhenAsked) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node, 128).ok());
  v1::GetNodeMetricsRequest req;
  req.set_owner("alice");
  req.set_id("worker1");
  req.set_history(true);
  v1::NodeMetrics m;
  grpc::ClientContext c1;
  grpc::Status s = stub().nodes->GetNodeMetrics(&c1, req, &m);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(m.node_id(), "worker1");
  EXPECT_EQ(m.memory_limit(), 128LL << 20);

  req.set_history(false);
  v1::NodeMetrics brief;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().nodes->GetNodeMetrics(&c2, req, &brief).ok());
  EXPECT_EQ(brief.history_size(), 0);
}

TEST_F(NodeRpcTest, AnotherOwnersNodeIsNotFoundOnEveryRpc) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  for (const auto& [rpc, s] : EveryNodeRpc("bob", "worker1")) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << rpc << ": " << s.error_message();
  }
  v1::ListNodesRequest list_req;
  list_req.set_owner("bob");
  v1::ListNodesResponse list;
  grpc::ClientContext c;
  ASSERT_TRUE(stub().nodes->ListNodes(&c, list_req, &list).ok());
  EXPECT_EQ(list.nodes_size(), 0);
  v1::Node still;
  grpc::ClientContext c2;
  EXPECT_TRUE(stub().nodes->GetNode(&c2, Ref("alice", "worker1"), &still).ok()) << "bob deleted it";
}

TEST_F(NodeRpcTest, BadCreateFieldsAreInvalidArgumentsNamingTheField) {
  struct Case {
    const char* name;
    int64_t memory_mb;
    const char* storage;
    const char* field;
  } cases[] = {
      {"Bad_Name", 256, "1G", "name"},
      {"w", 1, "1G", "memory_mb"},
      {"w", 256, "10X", "storage_size"},
  };
  for (const auto& c : cases) {
    v1::Node node;
    grpc::Status s = Create("alice", c.name, &node, c.memory_mb, c.storage);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_NE(s.error_message().find(c.field), std::string::npos) << s.error_message();
  }
  v1::Node dup;
  ASSERT_TRUE(Create("alice", "w", &dup).ok());
  EXPECT_EQ(Create("alice", "w", &dup).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(NodeRpcTest, EveryNodeRpcRefusesAnEmptyOwner) {
  v1::Node node;
  EXPECT_EQ(Create("", "w", &node).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListNodesResponse list;
  grpc::ClientContext c;
  EXPECT_EQ(stub().nodes->ListNodes(&c, v1::ListNodesRequest(), &list).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  for (const auto& [rpc, s] : EveryNodeRpc("", "w")) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << rpc;
  }
}

TEST_F(NodeRpcTest, AnUnavailableEngineAnswersUnavailableWithItsReason) {
  Serve(UnavailableError("nodes need root, runc and the CNI plugins (nexusd is not root)"));
  v1::Node node;
  grpc::Status create = Create("alice", "w", &node);
  auto answers = EveryNodeRpc("alice", "w");
  answers.emplace_back("CreateNode", create);
  for (const auto& [rpc, s] : answers) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << rpc;
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnavailable) << rpc;
    EXPECT_NE(s.error_message().find("nodes need root"), std::string::npos) << s.error_message();
  }
  EXPECT_TRUE(runtime_.calls().empty());
}

// The real wiring nexusd uses: without its OCI runtime (here a name that does
// not exist, so the test means the same as root and not) ForHost still gives
// a manager, and the RPCs answer UNAVAILABLE instead of nexusd failing to start.
TEST(NodeRpcForHostTest, WithoutTheRuntimeNodeRpcsAreUnavailableAndNexusdStillServes) {
  testing::TempDir dir;
  testing::TestHealth health(dir);
  ASSERT_TRUE(health.get());
  auto nodes_db = testing::OpenTestDatabase(dir);
  ASSERT_TRUE(nodes_db);
  Config config;
  config.data_dir = dir.path();
  config.instance = "svcnort";
  config.nodes.runtime = "nexus-test-no-such-runtime";
  config.daemon.host_name = "unit-host";
  testing::FakeClock clock;
  sql::SqliteConnection nodes_conn(*nodes_db);
  auto manager = runtime::NodeManager::ForHost(config, nodes_conn, clock);
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  TestServer server(dir.File("d.sock"), {.health = health.get(), .nodes = manager->get()});
  ASSERT_TRUE(server.started());
  v1::CreateNodeRequest req;
  req.set_owner("alice");
  req.set_name("worker1");
  v1::Node node;
  grpc::ClientContext c1;
  grpc::Status s = server.stub().nodes->CreateNode(&c1, req, &node);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // What the host lacks stays in nexusd's log; the client reads the reason.
  EXPECT_EQ(FromGrpcStatus(s).reason(), Reason::kNodesUnsupportedHere);
  EXPECT_EQ(s.error_message().find("nexus-test-no-such-runtime"), std::string::npos)
      << s.error_message();
  v1::HealthResponse h;
  grpc::ClientContext c2;
  EXPECT_TRUE(server.stub().health->Check(&c2, v1::HealthRequest(), &h).ok());
}

}  // namespace
}  // namespace nexus::daemon
