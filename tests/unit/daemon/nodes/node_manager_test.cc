// NodeManager with fakes for runc, CNI and volumes (tests/support/nodes_fakes.h),
// a real SQLite table in memory, its files (and a fake cgroup tree for
// metrics) in a MemoryEnv, and a FakeClock: the create rollback at every step,
// ownership, stop/start, delete, metrics, limits and files.
#include "daemon/nodes/node_manager.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <limits>
#include <map>
#include <thread>

#include "node_manager_rig.h"

namespace nexus::daemon::runtime {
namespace {

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
  EXPECT_EQ(Read(rootfs + "/etc/hostname"), "worker1\n");
  EXPECT_NE(Read(rootfs + "/etc/hosts").find("10.0.42.2\tworker1\n"), std::string::npos);
  EXPECT_EQ(Read(rootfs + "/etc/resolv.conf"), "nameserver 192.0.2.53\n");
  auto bin = files_.ReadLink(rootfs + "/bin");
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(*bin, "usr/bin");
  EXPECT_TRUE(files_.IsDir(rootfs + "/usr"));
  auto config = nlohmann::json::parse(Read(manager_->NodeDir(r.uid) + "/bundle/config.json"));
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
         t.volumes_.on_create = [&t](const VolumePaths& p) {
           t.files_.PutFile(p.mount_dir + "/rootfs", "");
         };
       },
       "create directory"},
      {"bundle",
       [](NodesRig& t) {
         t.volumes_.on_create = [&t](const VolumePaths& p) {
           t.files_.PutFile(DirName(p.mount_dir) + "/bundle", "");
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

// The store of another daemon sharing the table, which has recorded alice's
// running node "far" (uid "remote-uid", meaningless on this host).
std::unique_ptr<NodeStore> OtherHostWithNodeFar(sql::Connection& db) {
  auto other = NodeStore::Open(db, "other-host");
  EXPECT_TRUE(other.ok());
  if (!other.ok()) return nullptr;
  NodeRecord r{"remote-uid", "alice", "far", kNodeRunning, "10.9.9.2",
               64,           512,     "1G",  1LL << 30,    1700000000};
  EXPECT_TRUE((*other)->Insert(r).ok());
  return std::move(other).value();
}

TEST_F(NodeManagerTest, AnotherHostsNodeIsListedFromItsRecordAndNeverTouchedHere) {
  std::unique_ptr<NodeStore> other = OtherHostWithNodeFar(*db_);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->MarkHostSeen(clock_.NowSeconds()).ok());  // its daemon is alive
  ASSERT_TRUE(Create("alice", "near").ok());

  auto list = manager_->List("alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "far");
  EXPECT_EQ((*list)[0].status, "Running") << "as its host recorded it";
  EXPECT_EQ((*list)[0].ip, "10.9.9.2");
  EXPECT_EQ(manager_->Get("alice", "far")->status, "Running");

  for (const Status& s :
       {manager_->Stop("alice", "far").status(), manager_->Start("alice", "far").status(),
        manager_->Exec({"alice", "far", {"true"}, 0}).status(), manager_->Delete("alice", "far"),
        manager_->GetMetrics("alice", "far", false).status()}) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    EXPECT_EQ(s.message(), "node 'far' runs on host other-host");
    // What a gateway routes by (daemon_router.h).
    EXPECT_EQ(s.reason(), Reason::kNodeOnOtherHost);
    EXPECT_EQ(s.node_host(), "other-host");
  }
  EXPECT_EQ(Create("alice", "far").status().code(), StatusCode::kAlreadyExists)
      << "names are unique across hosts";
  ASSERT_TRUE(store_->GetByUid("remote-uid").ok()) << "the record is left alone";
  // Reconcile sees only this host's nodes: the remote one is not a stray.
  EXPECT_TRUE(manager_->Reconcile().ok());
  ASSERT_TRUE(store_->GetByUid("remote-uid").ok());
  EXPECT_EQ(store_->GetByUid("remote-uid")->state, kNodeRunning);
}

TEST_F(NodeManagerTest, AHostNotSeenForThreeBeatsHasItsNodesShownUnknown) {
  std::unique_ptr<NodeStore> other = OtherHostWithNodeFar(*db_);
  ASSERT_TRUE(other);
  EXPECT_EQ(manager_->Get("alice", "far")->status, "Unknown") << "never seen";

  ASSERT_TRUE(other->MarkHostSeen(clock_.NowSeconds()).ok());
  EXPECT_EQ(manager_->Get("alice", "far")->status, "Running");
  clock_.AdvanceSeconds(TestOptions(data_dir_).host_stale_seconds - 1);
  EXPECT_EQ((*manager_->List("alice"))[0].status, "Running");
  clock_.AdvanceSeconds(2);  // the other daemon went silent
  EXPECT_EQ(manager_->Get("alice", "far")->status, "Unknown");
  EXPECT_EQ((*manager_->List("alice"))[0].status, "Unknown");
  EXPECT_EQ((*manager_->List("alice"))[0].ip, "10.9.9.2") << "what was recorded stays";

  // This daemon's own beats say nothing about the other host.
  ASSERT_TRUE(manager_->Heartbeat().ok());
  EXPECT_EQ(manager_->Get("alice", "far")->status, "Unknown");
  auto seen = store_->HostsSeen();
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->at(kTestHost), clock_.NowSeconds());
  // It comes back.
  ASSERT_TRUE(other->MarkHostSeen(clock_.NowSeconds()).ok());
  EXPECT_EQ(manager_->Get("alice", "far")->status, "Running");
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
  NodeManager off(TestOptions(data_dir_), Deps(),
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

// ---- Per-user limits and the host's disk ------------------------------------------

class NodeLimitsTest : public NodeManagerTest {
 protected:
  NodeLimitsTest() {
    NodeOptions o = TestOptions(data_dir_);
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
  EXPECT_EQ(store_->ListOnHost()->size(), 4u) << "refused creates leave no row";
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

class HostMemoryTest : public NodeManagerTest {
 protected:
  HostMemoryTest() {
    NodeOptions o = TestOptions(data_dir_);
    o.sleep_ms = [](int64_t) {};
    o.host_memory_bytes = 2048LL << 20;
    o.host_memory_reserve_bytes = 512LL << 20;
    manager_ = std::make_unique<NodeManager>(o, Deps());
  }
};

TEST_F(HostMemoryTest, NodesTakeTheHostsMemoryLessTheReserveAndNoMore) {
  // 2048 MiB less 512 kept back: 1536 MiB for the limits of this host's nodes.
  ASSERT_TRUE(Create("alice", "a1", 1024).ok());
  auto host = manager_->Host();
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  EXPECT_EQ(host->host, kTestHost);
  EXPECT_TRUE(host->nodes_available);
  EXPECT_EQ(host->memory_bytes, 2048LL << 20);
  EXPECT_EQ(host->memory_reserved_bytes, 512LL << 20);
  EXPECT_EQ(host->memory_committed_bytes, 1024LL << 20);
  EXPECT_EQ(host->memory_free_bytes, 512LL << 20);

  auto refused = Create("bob", "b1", 513);
  EXPECT_EQ(refused.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(refused.status().message(), "not enough memory on the host for a node of this size");
  EXPECT_EQ(store_->ListOnHost()->size(), 1u) << "a refused create leaves no row";
  ASSERT_TRUE(Create("bob", "b1", 512).ok());
  EXPECT_EQ(manager_->Host()->memory_free_bytes, 0);
  ASSERT_TRUE(manager_->Delete("alice", "a1").ok());
  EXPECT_EQ(manager_->Host()->memory_free_bytes, 1024LL << 20) << "deleting gives it back";
}

TEST_F(HostMemoryTest, AnotherHostsNodesTakeNothingFromThisOne) {
  std::unique_ptr<NodeStore> other = OtherHostWithNodeFar(*db_);  // 64 MiB, elsewhere
  ASSERT_TRUE(other);
  EXPECT_EQ(manager_->Host()->memory_committed_bytes, 0);
  EXPECT_TRUE(Create("alice", "a1", 1536).ok());
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

// ---- Files ---------------------------------------------------------------------------

TEST_F(NodeManagerTest, NodeDirectoriesAreClosedToOtherUsersEvenWhenMadeOpenBefore) {
  // An older version left them 0755.
  ASSERT_TRUE(files_.MakeDirs(data_dir_ + "/nodes/by-uid", 0755).ok());
  ASSERT_TRUE(Create("alice", "a1").ok());
  const std::string node = manager_->NodeDir(Record("alice", "a1").uid);
  auto mode = [this](const std::string& p) {
    auto info = files_.Stat(p);
    return info.ok() ? info->mode : mode_t{07777};
  };
  EXPECT_EQ(mode(data_dir_ + "/nodes"), 0700u);
  EXPECT_EQ(mode(data_dir_ + "/nodes/by-uid"), 0700u);
  EXPECT_EQ(mode(node), 0700u);
  EXPECT_EQ(mode(node + "/bundle"), 0700u);
  EXPECT_EQ(mode(node + "/bundle/config.json"), 0600u);
}

}  // namespace
}  // namespace nexus::daemon::runtime
