#include "auth/app_password_store.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/auth_app_password_stores.h"
#include "support/metadata_backend.h"
#include "support/temp_dir.h"

namespace nexus::auth {
namespace {

// On the backend the run chose (support/metadata_backend.h).
class AppPasswordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = nexus::testing::TestMetadataDb::Open({}, dir_ / "auth.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_NO_FATAL_FAILURE(stores_.Open(db_->target()));
    store_ = stores_.app_passwords.get();
  }

  static AppPasswordRecord Record(const std::string& id, const std::string& user, int64_t created) {
    return {id, user, "name of " + id, "hash-" + id, created, 0};
  }

  nexus::testing::TempDir dir_;
  std::unique_ptr<nexus::testing::TestMetadataDb> db_;
  nexus::testing::AuthStores stores_;
  AppPasswordStore* store_ = nullptr;
};

TEST_F(AppPasswordStoreTest, ListsAUsersOwnOldestFirstWithoutHashes) {
  ASSERT_TRUE(*store_->InsertIfUnderCap(Record("p2", "id-alice", 200), 100));
  ASSERT_TRUE(*store_->InsertIfUnderCap(Record("p1", "id-alice", 100), 100));
  ASSERT_TRUE(*store_->InsertIfUnderCap(Record("p3", "id-bob", 50), 100));
  auto list = store_->ListForUser("id-alice");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "p1");
  EXPECT_EQ((*list)[0].name, "name of p1");
  EXPECT_EQ((*list)[0].created_at, 100);
  EXPECT_EQ((*list)[0].last_used_at, 0);
  EXPECT_TRUE((*list)[0].secret_hash.empty());
  EXPECT_EQ((*list)[1].id, "p2");
  EXPECT_TRUE(store_->ListForUser("id-nobody")->empty());
}

TEST_F(AppPasswordStoreTest, ThoseCreatedInOneSecondAreListedInTheOrderOfCreation) {
  for (const char* id : {"zz", "aa", "mm"}) {
    ASSERT_TRUE(*store_->InsertIfUnderCap(Record(id, "id-alice", 100), 100));
  }
  auto list = store_->ListForUser("id-alice");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, "zz");
  EXPECT_EQ((*list)[1].id, "aa");
  EXPECT_EQ((*list)[2].id, "mm");
}

TEST_F(AppPasswordStoreTest, FindsBySecretHashWithTheOwnersAccount) {
  ASSERT_TRUE(*store_->InsertIfUnderCap(Record("p1", "id-alice", 100), 100));
  auto found = store_->FindBySecretHash("hash-p1");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  const AppPasswordOwner& o = **found;
  EXPECT_EQ(o.app_password_id, "p1");
  EXPECT_EQ(o.user_id, "id-alice");
  EXPECT_EQ(o.username, "Alice");
  EXPECT_EQ(o.email, "alice@example.com");
  EXPECT_EQ(o.user_created_at, 10);
  EXPECT_FALSE(store_->FindBySecretHash("hash-p2")->has_value());
}

TEST_F(AppPasswordStoreTest, DeleteTakesOnlyTheUsersOwnAndTheNextLookupMissesIt) {
  ASSERT_TRUE(*store_->InsertIfUnderCap(Record("p1", "id-alice", 100), 100));
  ASSERT_TRUE(store_->FindBySecretHash("hash-p1")->has_value());  // the reader has seen it
  EXPECT_EQ(store_->Delete("id-bob", "p1").code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindBySecretHash("hash-p1")->has_value());
  ASSERT_TRUE(store_->Delete("id-alice", "p1").ok());
  EXPECT_FALSE(store_->FindBySecretHash("hash-p1")->has_value());
  EXPECT_EQ(store_->Delete("id-alice", "p1").code(), StatusCode::kNotFound);
}

TEST_F(AppPasswordStoreTest, TheCapIsPerUserAndHoldsUnderConcurrentInserts) {
  constexpr int kCap = 5;
  std::vector<std::jthread> threads;
  std::atomic<int> stored{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      auto r = store_->InsertIfUnderCap(Record("a" + std::to_string(i), "id-alice", i), kCap);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (*r) ++stored;
    });
  }
  threads.clear();
  EXPECT_EQ(stored.load(), kCap);
  EXPECT_EQ(store_->ListForUser("id-alice")->size(), static_cast<size_t>(kCap));
  EXPECT_TRUE(*store_->InsertIfUnderCap(Record("b1", "id-bob", 1), kCap));  // bob has his own
  EXPECT_FALSE(*store_->InsertIfUnderCap(Record("late", "id-alice", 99), kCap));
  // Deleting one makes room for one.
  ASSERT_TRUE(store_->Delete("id-alice", (*store_->ListForUser("id-alice"))[0].id).ok());
  EXPECT_TRUE(*store_->InsertIfUnderCap(Record("late", "id-alice", 99), kCap));
}

TEST_F(AppPasswordStoreTest, NoteUsedIsListedAndSurvivesReopening) {
  ASSERT_TRUE(*store_->InsertIfUnderCap(Record("p1", "id-alice", 100), 100));
  ASSERT_TRUE(store_->NoteUsed("p1", 12345).ok());
  EXPECT_EQ((*store_->ListForUser("id-alice"))[0].last_used_at, 12345);
  EXPECT_EQ((**store_->FindBySecretHash("hash-p1")).last_used_at, 12345);
  stores_.app_passwords.reset();
  auto again = AppPasswordStore::Open(db_->target());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*(*again)->ListForUser("id-alice"))[0].last_used_at, 12345);
}

TEST_F(AppPasswordStoreTest, AnAppPasswordOfAnUnknownUserIsRefusedByTheForeignKey) {
  EXPECT_FALSE(store_->InsertIfUnderCap(Record("p1", "id-nobody", 1), 100).ok());
}

TEST_F(AppPasswordStoreTest, OpeningAFileUserStoreNeverMigratedFails) {
  if (nexus::testing::MetadataTestsOnPostgres()) GTEST_SKIP() << "SQLite files only";
  const std::string other = dir_ / "other.db";
  { SQLite::Database db(other, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE); }
  EXPECT_FALSE(AppPasswordStore::Open(other).ok());
  EXPECT_FALSE(AppPasswordStore::Open(dir_ / "missing.db").ok());
}

}  // namespace
}  // namespace nexus::auth
