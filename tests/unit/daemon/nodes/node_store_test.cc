// The nodes table on SQLite, and on PostgreSQL when the CTest entry
// nodes_store_test_postgres runs these tests there (tests/support/
// metadata_backend.h).
#include "daemon/nodes/node_store.h"

#include <gtest/gtest.h>

#include "common/sql/database.h"
#include "support/metadata_backend.h"

namespace nexus::daemon::runtime {
namespace {

class NodeStoreTest : public ::testing::Test {
 protected:
  NodeStoreTest() {
    auto db = testing::TestMetadataDb::Open(NodeMigrations());
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return;
    db_ = std::move(db).value();
    store_ = OpenStore("host-a");
  }

  std::unique_ptr<NodeStore> OpenStore(const std::string& host) {
    auto store = NodeStore::Open(db_->conn(), host);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  void SetUp() override { ASSERT_TRUE(store_) << "no database"; }

  static NodeRecord Node(std::string uid, std::string owner, std::string name) {
    return {std::move(uid), std::move(owner), std::move(name), kNodeCreating, "", 256, 1024,
            "1G",           1LL << 30,        1700000000};
  }

  std::unique_ptr<testing::TestMetadataDb> db_;
  std::unique_ptr<NodeStore> store_;
};

TEST_F(NodeStoreTest, MigrationsBelongToTheNodesRangeAndSpeakBothDialects) {
  for (const auto& m : NodeMigrations()) {
    EXPECT_GE(m.version, 200);
    EXPECT_LE(m.version, 299);
    EXPECT_FALSE(m.postgres_sql.empty()) << m.version;
  }
}

TEST_F(NodeStoreTest, KeepsANodeAndItsStateChanges) {
  NodeRecord n = Node("u1", "alice", "worker1");
  n.storage_bytes = 50LL << 30;  // beyond 32 bits
  ASSERT_TRUE(store_->Insert(n).ok());
  ASSERT_TRUE(store_->Update("u1", kNodeRunning, "10.0.42.2").ok());
  auto r = store_->Get("alice", "worker1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->uid, "u1");
  EXPECT_EQ(r->state, kNodeRunning);
  EXPECT_EQ(r->ip, "10.0.42.2");
  EXPECT_EQ(r->memory_mb, 256);
  EXPECT_EQ(r->cpu_shares, 1024);
  EXPECT_EQ(r->storage_size, "1G");
  EXPECT_EQ(r->storage_bytes, 50LL << 30);
  EXPECT_EQ(r->created_at, 1700000000);
  EXPECT_EQ(r->host, "host-a");
  EXPECT_EQ(store_->GetByUid("u1")->name, "worker1");
  EXPECT_EQ(store_->Update("nope", kNodeRunning, "").code(), StatusCode::kNotFound);
}

TEST_F(NodeStoreTest, NamesAreUniquePerOwnerOnly) {
  ASSERT_TRUE(store_->Insert(Node("u1", "alice", "worker1")).ok());
  Status dup = store_->Insert(Node("u2", "alice", "worker1"));
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("'worker1' already exists"), std::string::npos);
  EXPECT_TRUE(store_->Insert(Node("u3", "bob", "worker1")).ok());
  EXPECT_EQ(store_->Get("carol", "worker1").status().code(), StatusCode::kNotFound);
}

TEST_F(NodeStoreTest, ListsAnOwnersNodesByNameAndThisHostsForReconcile) {
  ASSERT_TRUE(store_->Insert(Node("u1", "alice", "zeta")).ok());
  ASSERT_TRUE(store_->Insert(Node("u2", "alice", "alpha")).ok());
  ASSERT_TRUE(store_->Insert(Node("u3", "bob", "beta")).ok());
  auto alice = store_->List("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].name, "alpha");
  EXPECT_EQ((*alice)[1].name, "zeta");
  EXPECT_EQ(store_->ListOnHost()->size(), 3u);
  ASSERT_TRUE(store_->Delete("u1").ok());
  ASSERT_TRUE(store_->Delete("u1").ok());  // absent is fine
  EXPECT_EQ(store_->List("alice")->size(), 1u);
}

TEST_F(NodeStoreTest, DaemonsSharingTheTableEachReconcileTheirOwnHost) {
  std::unique_ptr<NodeStore> b = OpenStore("host-b");
  ASSERT_TRUE(b);
  ASSERT_TRUE(store_->Insert(Node("u1", "alice", "on-a")).ok());
  ASSERT_TRUE(b->Insert(Node("u2", "alice", "on-b")).ok());
  ASSERT_TRUE(b->Insert(Node("u3", "bob", "also-on-b")).ok());

  auto here_a = store_->ListOnHost();
  auto here_b = b->ListOnHost();
  ASSERT_TRUE(here_a.ok() && here_b.ok());
  ASSERT_EQ(here_a->size(), 1u);
  EXPECT_EQ((*here_a)[0].uid, "u1");
  ASSERT_EQ(here_b->size(), 2u);

  // The API's view of a user spans hosts, and so do the names.
  auto alice = store_->List("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].host, "host-a");
  EXPECT_EQ((*alice)[1].host, "host-b");
  EXPECT_EQ(b->Insert(Node("u4", "alice", "on-a")).code(), StatusCode::kAlreadyExists);
}

TEST_F(NodeStoreTest, RowsFromBeforeTheHostColumnAreAdoptedByTheFirstDaemon) {
  {
    sql::Statement q = db_->conn().Prepare(
        "INSERT INTO nodes(uid, owner, name, state, ip, memory_mb, cpu_shares, storage_size, "
        "storage_bytes, created_at) VALUES('old', 'alice', 'legacy', 'running', '', 64, 512, "
        "'1G', 1073741824, 1700000000)");
    q.Exec();
  }
  std::unique_ptr<NodeStore> c = OpenStore("host-c");
  ASSERT_TRUE(c);
  auto here = c->ListOnHost();
  ASSERT_TRUE(here.ok());
  ASSERT_EQ(here->size(), 1u);
  EXPECT_EQ((*here)[0].uid, "old");
  EXPECT_EQ((*here)[0].host, "host-c");
  EXPECT_TRUE(store_->ListOnHost()->empty()) << "adopted once, by one daemon";
}

TEST(NodeStoreOpenTest, NeedsAHostName) {
  auto db = sql::OpenMetadataDatabase(":memory:", NodeMigrations());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(NodeStore::Open(**db, "").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::runtime
