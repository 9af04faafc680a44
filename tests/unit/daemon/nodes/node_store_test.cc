#include "daemon/nodes/node_store.h"

#include <gtest/gtest.h>

#include "daemon/database.h"

namespace nexus::daemon::runtime {
namespace {

class NodeStoreTest : public ::testing::Test {
 protected:
  NodeStoreTest() {
    auto db = OpenDatabase(":memory:", NodeMigrations());
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    store_ = std::make_unique<NodeStore>(*db_);
  }

  static NodeRecord Node(std::string uid, std::string owner, std::string name) {
    return {std::move(uid), std::move(owner), std::move(name), kNodeCreating, "", 256, 1024,
            "1G",           1LL << 30,        1700000000};
  }

  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<NodeStore> store_;
};

TEST_F(NodeStoreTest, MigrationsBelongToTheNodesRange) {
  for (const auto& m : NodeMigrations()) {
    EXPECT_GE(m.version, 200);
    EXPECT_LE(m.version, 299);
  }
}

TEST_F(NodeStoreTest, KeepsANodeAndItsStateChanges) {
  ASSERT_TRUE(store_->Insert(Node("u1", "alice", "worker1")).ok());
  ASSERT_TRUE(store_->Update("u1", kNodeRunning, "10.0.42.2").ok());
  auto r = store_->Get("alice", "worker1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, "u1");
  EXPECT_EQ(r->state, kNodeRunning);
  EXPECT_EQ(r->ip, "10.0.42.2");
  EXPECT_EQ(r->memory_mb, 256);
  EXPECT_EQ(r->cpu_shares, 1024);
  EXPECT_EQ(r->storage_size, "1G");
  EXPECT_EQ(r->storage_bytes, 1LL << 30);
  EXPECT_EQ(r->created_at, 1700000000);
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

TEST_F(NodeStoreTest, ListsAnOwnersNodesByNameAndAllForReconcile) {
  ASSERT_TRUE(store_->Insert(Node("u1", "alice", "zeta")).ok());
  ASSERT_TRUE(store_->Insert(Node("u2", "alice", "alpha")).ok());
  ASSERT_TRUE(store_->Insert(Node("u3", "bob", "beta")).ok());
  auto alice = store_->List("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].name, "alpha");
  EXPECT_EQ((*alice)[1].name, "zeta");
  EXPECT_EQ(store_->ListAll()->size(), 3u);
  ASSERT_TRUE(store_->Delete("u1").ok());
  ASSERT_TRUE(store_->Delete("u1").ok());  // absent is fine
  EXPECT_EQ(store_->List("alice")->size(), 1u);
}

}  // namespace
}  // namespace nexus::daemon::runtime
