#include "daemon/storage/metadata_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>

#include "common/sha256.h"
#include "support/fake_clock.h"
#include "support/metadata_backend.h"
#include "support/temp_dir.h"

namespace nexus::daemon::storage {
namespace {

std::string H(const std::string& seed) { return Sha256::HexDigest(seed); }

// A file record plus a chunk list built from (hash seed, size) pairs.
struct Spec {
  FileRecord file;
  std::vector<ChunkRef> chunks;
};

Spec MakeFile(const std::string& id, const std::string& owner,
              const std::vector<std::pair<std::string, int64_t>>& parts) {
  Spec s;
  s.file.id = id;
  s.file.owner = owner;
  s.file.name = id + ".bin";
  s.file.sha256 = H("content of " + id);
  s.file.status = "Uploaded";
  int64_t offset = 0;
  for (const auto& [seed, size] : parts) {
    s.chunks.push_back({H(seed), offset, size});
    offset += size;
  }
  s.file.size = offset;
  s.file.chunks_count = static_cast<int64_t>(s.chunks.size());
  return s;
}

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = nexus::testing::TestMetadataDb::Open(StorageMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    test_db_ = std::move(*db);
    db_ = &test_db_->conn();
    store_ = std::make_unique<MetadataStore>(*db_, clock_);
  }

  Result<FileRecord> Commit(const Spec& s, int64_t quota = kUnlimitedQuota) {
    return store_->CommitFile(s.file, s.chunks, quota);
  }

  int64_t Refcount(const std::string& hash) {
    sql::Statement q = db_->Prepare("SELECT refcount FROM chunks WHERE hash = ?");
    q.Bind(1, hash);
    return q.Step() ? q.Int64(0) : 0;
  }

  nexus::testing::FakeClock clock_;
  std::unique_ptr<nexus::testing::TestMetadataDb> test_db_;
  sql::Connection* db_ = nullptr;  // test_db_'s
  std::unique_ptr<MetadataStore> store_;
};

TEST_F(MetadataStoreTest, MigrationsUseTheStorageVersionRange) {
  for (const auto& m : StorageMigrations()) {
    EXPECT_GE(m.version, 100);
    EXPECT_LE(m.version, 199);
  }
}

TEST_F(MetadataStoreTest, CommittedFileCanBeReadBackByItsOwner) {
  auto committed = Commit(MakeFile("f1", "alice", {{"a", 10}, {"b", 5}}));
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->created_at, clock_.NowSeconds());

  auto got = store_->GetFile("alice", "f1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "f1.bin");
  EXPECT_EQ(got->size, 15);
  EXPECT_EQ(got->chunks_count, 2);
  EXPECT_EQ(got->status, "Uploaded");
  EXPECT_EQ(got->sha256, H("content of f1"));
  EXPECT_EQ(got->created_at, clock_.NowSeconds());
  EXPECT_EQ(Refcount(H("a")), 1);
}

TEST_F(MetadataStoreTest, AnotherOwnersFileIsNotFoundRatherThanForbidden) {
  ASSERT_TRUE(Commit(MakeFile("f1", "alice", {{"a", 10}})).ok());
  EXPECT_EQ(store_->GetFile("bob", "f1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetFile("alice", "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteFile("bob", "f1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetFile("alice", "f1").ok()) << "bob's delete must not touch it";
}

TEST_F(MetadataStoreTest, ListsOnlyTheOwnersFilesNewestFirst) {
  ASSERT_TRUE(Commit(MakeFile("old", "alice", {{"a", 1}})).ok());
  clock_.AdvanceSeconds(10);
  ASSERT_TRUE(Commit(MakeFile("bobs", "bob", {{"b", 1}})).ok());
  ASSERT_TRUE(Commit(MakeFile("mid", "alice", {{"c", 1}})).ok());
  ASSERT_TRUE(Commit(MakeFile("new", "alice", {{"d", 1}})).ok());  // same second as "mid"

  auto files = store_->ListFiles("alice");
  ASSERT_TRUE(files.ok());
  std::vector<std::string> ids;
  for (const auto& f : *files) ids.push_back(f.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"new", "mid", "old"}));
  EXPECT_TRUE(store_->ListFiles("carol")->empty());
}

TEST_F(MetadataStoreTest, SharedChunksAreRefcountedAndReleasedByTheLastDelete) {
  ASSERT_TRUE(Commit(MakeFile("f1", "alice", {{"shared", 10}, {"only1", 4}})).ok());
  ASSERT_TRUE(Commit(MakeFile("f2", "bob", {{"shared", 10}, {"shared", 10}, {"only2", 3}})).ok());
  EXPECT_EQ(Refcount(H("shared")), 3);

  auto released = store_->DeleteFile("alice", "f1");
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(*released, std::vector<std::string>{H("only1")});
  EXPECT_EQ(Refcount(H("shared")), 2);
  EXPECT_EQ(store_->GetFile("alice", "f1").status().code(), StatusCode::kNotFound);

  released = store_->DeleteFile("bob", "f2");
  ASSERT_TRUE(released.ok());
  std::vector<std::string> got = *released;
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {H("shared"), H("only2")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_TRUE(store_->AllReferencedHashes()->empty());
  EXPECT_FALSE(*store_->IsChunkReferenced(H("shared")));
}

TEST_F(MetadataStoreTest, RejectsCommitOverQuotaAndLeavesNoTrace) {
  ASSERT_TRUE(Commit(MakeFile("f1", "alice", {{"a", 60}}), 100).ok());
  auto over = Commit(MakeFile("f2", "alice", {{"a", 30}, {"b", 20}}), 100);
  EXPECT_EQ(over.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(store_->GetFile("alice", "f2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Refcount(H("a")), 1);
  EXPECT_EQ(Refcount(H("b")), 0);
  EXPECT_EQ(*store_->UsedBytes("alice"), 60);

  // Exactly filling the quota is allowed, and other owners have their own.
  EXPECT_TRUE(Commit(MakeFile("f3", "alice", {{"c", 40}}), 100).ok());
  EXPECT_TRUE(Commit(MakeFile("f4", "bob", {{"d", 100}}), 100).ok());
}

TEST_F(MetadataStoreTest, FindsTheChunksOverlappingARange) {
  ASSERT_TRUE(Commit(MakeFile("f", "alice", {{"c0", 10}, {"c1", 10}, {"c2", 10}})).ok());
  struct Case {
    int64_t offset, length;
    std::vector<std::string> seeds;
  };
  const Case cases[] = {
      {0, 30, {"c0", "c1", "c2"}}, {5, 10, {"c0", "c1"}}, {10, 10, {"c1"}},
      {9, 2, {"c0", "c1"}},        {29, 100, {"c2"}},     {30, 5, {}},
  };
  for (const auto& c : cases) {
    auto refs = store_->ChunksForRange("f", c.offset, c.length);
    ASSERT_TRUE(refs.ok());
    std::vector<std::string> got;
    for (const auto& r : *refs) got.push_back(r.hash);
    std::vector<std::string> want;
    for (const auto& s : c.seeds) want.push_back(H(s));
    EXPECT_EQ(got, want) << c.offset << "+" << c.length;
  }
}

TEST_F(MetadataStoreTest, RejectsAChunkListThatDoesNotTileTheFile) {
  Spec s = MakeFile("f", "alice", {{"a", 10}, {"b", 10}});
  s.chunks[1].offset = 11;
  EXPECT_EQ(Commit(s).status().code(), StatusCode::kInternal);
  s = MakeFile("g", "alice", {{"a", 10}});
  s.file.size = 11;
  EXPECT_EQ(Commit(s).status().code(), StatusCode::kInternal);
  EXPECT_TRUE(store_->ListFiles("alice")->empty());
}

TEST_F(MetadataStoreTest, EmptyFileHasNoChunks) {
  auto committed = Commit(MakeFile("empty", "alice", {}));
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->size, 0);
  EXPECT_TRUE(store_->DeleteFile("alice", "empty")->empty());
}

TEST_F(MetadataStoreTest, DuplicateIdIsAlreadyExists) {
  ASSERT_TRUE(Commit(MakeFile("f", "alice", {{"a", 1}})).ok());
  EXPECT_EQ(Commit(MakeFile("f", "alice", {{"b", 1}})).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Refcount(H("b")), 0);
}

TEST_F(MetadataStoreTest, TransactRollsBackEverythingWhenTheBodyFails) {
  Status s = store_->Transact("test", true, [&](MetadataTx& tx) -> Status {
    Spec spec = MakeFile("f", "alice", {{"a", 10}});
    if (!tx.InsertFile(spec.file, spec.chunks).ok()) return InternalError("insert failed");
    EXPECT_EQ(tx.UsedBytes("alice"), 10) << "visible inside the transaction";
    return NotFoundError("something the body looked for");
  });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetFile("alice", "f").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Refcount(H("a")), 0);
}

TEST_F(MetadataStoreTest, TransactTurnsADatabaseErrorIntoAStatusAndRollsBack) {
  Status s = store_->Transact("broken body", true, [&](MetadataTx& tx) -> Status {
    Spec spec = MakeFile("f", "alice", {{"a", 10}});
    if (!tx.InsertFile(spec.file, spec.chunks).ok()) return InternalError("insert failed");
    tx.db().ExecScript("INSERT INTO no_such_table VALUES(1)");
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("broken body"), std::string::npos) << s.message();
  EXPECT_TRUE(store_->ListFiles("alice")->empty());
}

TEST_F(MetadataStoreTest, DeletingFilesSumsSharedReferencesAcrossThem) {
  ASSERT_TRUE(Commit(MakeFile("f1", "alice", {{"shared", 10}, {"only1", 4}})).ok());
  ASSERT_TRUE(Commit(MakeFile("f2", "alice", {{"shared", 10}, {"shared", 10}})).ok());
  ASSERT_TRUE(Commit(MakeFile("f3", "bob", {{"shared", 10}})).ok());
  std::vector<std::string> released;
  ASSERT_TRUE(store_
                  ->Transact("delete two", true,
                             [&](MetadataTx& tx) {
                               released = tx.DeleteFiles({"f1", "f2"});
                               return Status::Ok();
                             })
                  .ok());
  EXPECT_EQ(released, std::vector<std::string>{H("only1")});
  EXPECT_EQ(Refcount(H("shared")), 1);
  EXPECT_TRUE(store_->ListFiles("alice")->empty());
}

// On a pool of connections a read is answered while a write transaction is
// open (SQLite in WAL mode and PostgreSQL both allow it); on a single
// connection it would wait for the commit.
TEST(MetadataStorePoolTest, AReadIsAnsweredWhileAWriteTransactionIsOpen) {
  nexus::testing::TempDir dir;
  auto db = nexus::testing::TestMetadataDb::Open(StorageMigrations(), dir.path() + "/nexus.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto pool = sql::OpenMetadataPool((*db)->target(), {}, 2);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  nexus::testing::FakeClock clock;
  MetadataStore store(**pool, clock);
  const Spec a = MakeFile("f1", "alice", {{"x", 10}});
  ASSERT_TRUE(store.CommitFile(a.file, a.chunks, kUnlimitedQuota).ok());

  Result<std::vector<FileRecord>> listed = InternalError("not answered");
  // Outside the transaction: a reader still waiting when it gives up goes
  // on once the write lock is let go, and the test fails instead of hanging.
  std::future<Result<std::vector<FileRecord>>> reader;
  Status held = store.Transact("hold the write lock", true, [&](MetadataTx& tx) -> Status {
    const Spec b = MakeFile("f2", "alice", {{"y", 20}});
    NEXUS_RETURN_IF_ERROR(tx.InsertFile(b.file, b.chunks).status());
    reader = std::async(std::launch::async, [&] { return store.ListFiles("alice"); });
    if (reader.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return InternalError("the read waited for the write transaction");
    }
    listed = reader.get();
    return Status::Ok();
  });
  ASSERT_TRUE(held.ok()) << held.ToString();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u) << "the uncommitted file is not seen";
  EXPECT_EQ((*listed)[0].id, "f1");
  auto after = store.ListFiles("alice");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 2u);
  EXPECT_EQ((*pool)->open_connections(), 2);
}

}  // namespace
}  // namespace nexus::daemon::storage
