// TreeService and the per-owner byte quota: exact fills, streaming checks,
// races between uploads, and commits on two database connections.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/sha256.h"
#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

// ---- quota -------------------------------------------------------------------

TEST_F(TreeServiceTest, UploadExactlyFillingTheQuotaSucceedsAndOneByteMoreDoesNot) {
  quotas_["alice"] = 20000;
  ASSERT_TRUE(UploadAt("alice", "/a", PseudoRandomBytes(15000, 20)).ok());
  auto exact = UploadAt("alice", "/b", PseudoRandomBytes(5000, 21));
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  const int chunk_files = ChunkFiles();

  auto over = UploadAt("alice", "/c", "1");
  EXPECT_EQ(over.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_NE(over.status().message().find("quota exceeded"), std::string::npos);
  auto usage = tree_->Usage("alice");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->used_bytes, 20000);
  EXPECT_EQ(usage->quota_bytes, 20000);
  EXPECT_EQ(usage->files, 2);
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(Names("alice", "/"), (Strings{"a", "b"}));
}

TEST_F(TreeServiceTest, AnUploadThatWouldOverfillTheQuotaBesideAnotherFailsAsItStreams) {
  quotas_["alice"] = 20000;
  // Both begin while nothing is used; the second cannot store its bytes
  // beside the first's.
  auto first = tree_->BeginUpload("alice", "/first");
  auto second = tree_->BeginUpload("alice", "/dir/second");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*first)->Write(PseudoRandomBytes(12000, 22)).ok());
  EXPECT_EQ((*second)->Write(PseudoRandomBytes(8001, 23)).code(), StatusCode::kQuotaExceeded);
  auto committed = (*first)->Commit();
  ASSERT_TRUE(committed.ok());
  const int chunk_files = static_cast<int>(ChunksOf(*committed).size());

  EXPECT_EQ((*second)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 12000);
  EXPECT_EQ(Names("alice", "/"), Strings{"first"}) << "no parent folder is left behind";
}

TEST_F(TreeServiceTest, RawUploadsAndTreeUploadsShareOneQuota) {
  quotas_["alice"] = 10000;
  auto raw = files_->Begin("alice", "raw.bin");
  ASSERT_TRUE((*raw)->Write(PseudoRandomBytes(8000, 24)).ok());
  ASSERT_TRUE((*raw)->Commit().ok());
  EXPECT_EQ(UploadAt("alice", "/t", PseudoRandomBytes(3000, 25)).status().code(),
            StatusCode::kQuotaExceeded);
  ASSERT_TRUE(UploadAt("alice", "/t", PseudoRandomBytes(2000, 26)).ok());
  // And the other way round.
  auto raw2 = files_->Begin("alice", "raw2.bin");
  ASSERT_TRUE(raw2.ok());
  EXPECT_EQ((*raw2)->Write("x").code(), StatusCode::kQuotaExceeded);
  auto usage = tree_->Usage("alice");
  EXPECT_EQ(usage->used_bytes, 10000);
  EXPECT_EQ(usage->files, 2);
}

TEST_F(TreeServiceTest, UsageIsUnlimitedWithoutAQuota) {
  auto usage = tree_->Usage("nobody-yet");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->used_bytes, 0);
  EXPECT_EQ(usage->quota_bytes, kUnlimitedQuota);
  EXPECT_EQ(usage->files, 0);
  EXPECT_EQ(usage->folders, 0);
}

// Ten uploads that together need more than the quota race to commit: the
// committed sum never exceeds it, and the losers leave no chunk behind.
TEST_F(TreeServiceTest, ConcurrentUploadsCannotTogetherExceedTheQuota) {
  constexpr int kThreads = 10;
  constexpr int kSize = 6000;
  quotas_["alice"] = 25000;  // room for 4
  std::atomic<int> committed{0}, rejected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto file =
          UploadAt("alice", "/race/f" + std::to_string(t), PseudoRandomBytes(kSize, 100 + t));
      if (file.ok()) {
        ++committed;
      } else {
        EXPECT_EQ(file.status().code(), StatusCode::kQuotaExceeded) << file.status().ToString();
        ++rejected;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(committed.load(), 4);
  EXPECT_EQ(rejected.load(), kThreads - 4);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 4 * kSize);
  EXPECT_EQ(Names("alice", "/race").size(), 4u);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

// Two replacements of one file may both stream what replacing it frees,
// but not twice that: the replaced file's bytes are credited once.
TEST_F(TreeServiceTest, ConcurrentReplacementsOfOneFileShareWhatItFrees) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAt("alice", "/f", PseudoRandomBytes(9000, 60)).ok());
  auto a = tree_->BeginUpload("alice", "/f");
  auto b = tree_->BeginUpload("alice", "/f");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->Write(PseudoRandomBytes(6000, 61)).ok());
  EXPECT_EQ((*b)->Write(PseudoRandomBytes(5000, 62)).code(), StatusCode::kQuotaExceeded)
      << "1000 left + 9000 freed once = 10000, 6000 of it held by a";
  ASSERT_TRUE((*a)->Commit().ok());
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 6000);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

// ---- two connections ---------------------------------------------------------

// nexusd may open more than one connection to nexus.db (and several daemons
// one each to a PostgreSQL database); the write lock must keep the quota
// check and the insert atomic across them too.
TEST(TreeStoreAcrossConnectionsTest, CommitsOnTwoConnectionsCannotTogetherExceedTheQuota) {
  TempDir dir;
  nexus::testing::FakeClock clock;
  auto test_db =
      nexus::testing::TestMetadataDb::Open(StorageMigrations(), dir.path() + "/nexus.db");
  ASSERT_TRUE(test_db.ok()) << test_db.status().ToString();
  std::vector<std::unique_ptr<sql::Connection>> dbs;
  std::vector<std::unique_ptr<MetadataStore>> metas;
  std::vector<std::unique_ptr<TreeStore>> trees;
  for (int i = 0; i < 2; ++i) {
    auto db = (*test_db)->Connect();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    dbs.push_back(std::move(*db));
    metas.push_back(std::make_unique<MetadataStore>(*dbs.back(), clock));
    trees.push_back(std::make_unique<TreeStore>(*metas.back()));
  }
  constexpr int kThreads = 6;
  constexpr int kCommitsPerThread = 10;
  constexpr int64_t kQuota = 1000;  // room for 10 of the 60 files of 100 bytes
  std::atomic<int> committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        const std::string id = "f" + std::to_string(t) + "-" + std::to_string(i);
        FileRecord f{id, "alice", id, 100, Sha256::HexDigest(id), 1, "Uploaded", 0, ""};
        auto out =
            trees[t % 2]->CommitFileAt("/d/" + id, f, {{Sha256::HexDigest(id), 0, 100}}, kQuota);
        if (out.ok()) {
          ++committed;
        } else {
          EXPECT_EQ(out.status().code(), StatusCode::kQuotaExceeded) << out.status().ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(committed.load(), 10);
  EXPECT_EQ(*metas[0]->UsedBytes("alice"), kQuota);
  EXPECT_EQ(trees[1]->List("alice", "/d")->size(), 10u);
}

}  // namespace
}  // namespace nexus::daemon::storage
