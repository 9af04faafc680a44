// NodeManager::Reconcile and the nodes' isolation over fakes
// (node_manager_rig.h): restarts, strays, and the firewall rules rebuilt.
#include <gtest/gtest.h>

#include "node_manager_rig.h"

namespace nexus::daemon::runtime {
namespace {

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
  ASSERT_TRUE(files_.MakeDirs(data_dir_ + "/nodes/by-uid/straydir00", 0700).ok());

  auto report = manager_->Reconcile();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->failures.empty()) << report->failures[0];
  EXPECT_EQ(report->removed.size(), 5u);
  EXPECT_EQ(manager_->Get("alice", "half").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(runtime_.Has(manager_->ContainerId(half.uid)));
  EXPECT_FALSE(runtime_.Has("test-n-strayctr00"));
  EXPECT_FALSE(files_.Exists(manager_->NodeDir(half.uid)));
  EXPECT_FALSE(files_.Exists(data_dir_ + "/nodes/by-uid/straydir00"));
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
  NodeOptions o = TestOptions(data_dir_);
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

}  // namespace
}  // namespace nexus::daemon::runtime
