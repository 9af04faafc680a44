// FileService and the per-owner quota: checked as bytes stream, shared by
// uploads in flight, and given back by abandoned ones.
#include <gtest/gtest.h>

#include "unit/daemon/storage/file_service_rig.h"

namespace nexus::daemon::storage {
namespace {

// Two uploads that began while nothing was used cannot both store their
// bytes: the second fails as its bytes arrive, not at its commit, and leaves
// nothing in the store.
TEST_F(FileServiceTest, ConcurrentUploadsShareTheQuotaWhileTheyStream) {
  quotas_["alice"] = 30000;
  auto a = files_->Begin("alice", "a");
  auto b = files_->Begin("alice", "b");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  const std::string data_a = PseudoRandomBytes(20000, 9);
  const std::string data_b = PseudoRandomBytes(20000, 10);
  ASSERT_TRUE((*a)->Write(data_a).ok());
  EXPECT_EQ(files_->ReservedBytes("alice"), 20000);
  Status s;
  for (size_t i = 0; i < data_b.size() && s.ok(); i += 1000)
    s = (*b)->Write(data_b.substr(i, 1000));
  EXPECT_EQ(s.code(), StatusCode::kQuotaExceeded);
  EXPECT_LE((*b)->bytes_written(), 10000) << "b stored no more than the quota left it";
  EXPECT_EQ(files_->ReservedBytes("alice"), 20000) << "b's reservation went with its chunks";
  // a's chunks are written behind it; b's are gone.
  EXPECT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data_a); }))
      << StoredChunks() << " chunk files, a completed " << CompleteChunks(data_a);

  auto committed = (*a)->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(files_->ReservedBytes("alice"), 0) << "a's reservation became its file";
  EXPECT_EQ((*b)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), committed->chunks_count);
  auto files = files_->List("alice");
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(*Download("alice", committed->id), data_a);
}

TEST_F(FileServiceTest, AnAbandonedUploadGivesItsRoomBack) {
  quotas_["alice"] = 10000;
  {
    auto gone = files_->Begin("alice", "gone");
    ASSERT_TRUE(gone.ok());
    ASSERT_TRUE((*gone)->Write(PseudoRandomBytes(8000, 40)).ok());
    EXPECT_EQ(files_->ReservedBytes("alice"), 8000);
  }  // dropped unfinished, as when the client goes away
  EXPECT_EQ(files_->ReservedBytes("alice"), 0);
  auto failed = files_->Begin("alice", "failed");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ((*failed)->Write(PseudoRandomBytes(10001, 41)).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(files_->ReservedBytes("alice"), 0);
  ASSERT_TRUE(UploadAs("alice", "fits", PseudoRandomBytes(10000, 42)).ok());
  EXPECT_EQ(files_->ReservedBytes("alice"), 0);
  EXPECT_EQ(ChunkFiles(), StoredChunks());
}

TEST_F(FileServiceTest, UploadLargerThanQuotaFailsWhileStreaming) {
  quotas_["alice"] = 10000;
  auto upload = files_->Begin("alice", "big");
  ASSERT_TRUE(upload.ok());
  Status s;
  const std::string data = PseudoRandomBytes(50000, 11);
  for (size_t i = 0; i < data.size() && s.ok(); i += 1000)
    s = (*upload)->Write(data.substr(i, 1000));
  EXPECT_EQ(s.code(), StatusCode::kQuotaExceeded);
  EXPECT_LE((*upload)->bytes_written(), 10000);
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_EQ((*upload)->Commit().status().code(), StatusCode::kQuotaExceeded);
}

TEST_F(FileServiceTest, DeclaredSizeOverQuotaFailsAtBegin) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAs("alice", "small", std::string(6000, 's')).ok());
  EXPECT_EQ(files_->Begin("alice", "big", 5000).status().code(), StatusCode::kQuotaExceeded);
  EXPECT_TRUE(files_->Begin("alice", "fits", 4000).ok());
}

}  // namespace
}  // namespace nexus::daemon::storage
