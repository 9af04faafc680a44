// WebDAV write locks on tree paths: conflicts between exclusive and shared
// locks, deep locks over what lies below, refresh and unlock by token,
// expiry by the clock, and locks that go with a deleted or moved path.
#include <gtest/gtest.h>

#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

TEST_F(TreeServiceTest, AnExclusiveLockConflictsWithEveryOtherLockOnItsPath) {
  ASSERT_TRUE(UploadAt("alice", "/d/f.txt", "f").ok());
  Result<PathLock> first = tree_->Lock("alice", "/d/f.txt", false, false, "<o/>", 60);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->token.starts_with("opaquelocktoken:"));
  EXPECT_EQ(tree_->Lock("alice", "/d/f.txt", false, true, "", 60).status().code(),
            StatusCode::kAlreadyExists);
  // A deep lock above it conflicts too; bob's tree is his own.
  EXPECT_EQ(tree_->Lock("alice", "/d", true, false, "", 60).status().code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(UploadAt("bob", "/d/f.txt", "f").ok());
  EXPECT_TRUE(tree_->Lock("bob", "/d/f.txt", false, false, "", 60).ok());
}

TEST_F(TreeServiceTest, SharedLocksCoexistAndEachUnlocksByItsToken) {
  ASSERT_TRUE(UploadAt("alice", "/s.txt", "s").ok());
  Result<PathLock> a = tree_->Lock("alice", "/s.txt", false, true, "", 60);
  Result<PathLock> b = tree_->Lock("alice", "/s.txt", false, true, "", 60);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->token, b->token);
  EXPECT_EQ(tree_->LocksAt("alice", "/s.txt", false)->size(), 2u);
  EXPECT_EQ(tree_->Unlock("alice", "/s.txt", "opaquelocktoken:nope").code(), StatusCode::kNotFound);
  ASSERT_TRUE(tree_->Unlock("alice", "/s.txt", a->token).ok());
  EXPECT_EQ(tree_->LocksAt("alice", "/s.txt", false)->size(), 1u);
}

TEST_F(TreeServiceTest, ADeepLockCoversWhatLiesBelowAndExpiresWithTheClock) {
  ASSERT_TRUE(UploadAt("alice", "/c/in/x.txt", "x").ok());
  Result<PathLock> deep = tree_->Lock("alice", "/c", true, false, "", 60);
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(tree_->LocksAt("alice", "/c/in/x.txt", false)->size(), 1u);
  EXPECT_EQ(tree_->LocksAt("alice", "/", true)->size(), 1u);
  EXPECT_TRUE(tree_->LocksAt("alice", "/", false)->empty());
  Result<PathLock> refreshed = tree_->RefreshLock("alice", "/c/in/x.txt", deep->token, 120);
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->timeout_seconds, 120);
  clock_.AdvanceSeconds(121);
  EXPECT_TRUE(tree_->LocksAt("alice", "/c", false)->empty());
  EXPECT_TRUE(tree_->Lock("alice", "/c/in/x.txt", false, false, "", 60).ok());
}

TEST_F(TreeServiceTest, LocksGoWithTheirPathWhenItIsDeletedOrMoved) {
  ASSERT_TRUE(UploadAt("alice", "/m/a.txt", "a").ok());
  ASSERT_TRUE(UploadAt("alice", "/n.txt", "n").ok());
  ASSERT_TRUE(tree_->Lock("alice", "/m/a.txt", false, false, "", 60).ok());
  ASSERT_TRUE(tree_->Lock("alice", "/n.txt", false, false, "", 60).ok());
  ASSERT_TRUE(tree_->Move("alice", "/m", "/moved").ok());
  EXPECT_TRUE(tree_->LocksAt("alice", "/", true)->size() == 1u);
  ASSERT_TRUE(tree_->Delete("alice", "/n.txt").ok());
  EXPECT_TRUE(tree_->LocksAt("alice", "/", true)->empty());
  EXPECT_EQ(tree_->Lock("alice", "/missing", false, false, "", 60).status().code(),
            StatusCode::kNotFound);
}

TEST_F(TreeServiceTest, LocksAreBoundedInNumberAndHolderSizeAndTheRootIsNeverLocked) {
  ASSERT_TRUE(UploadAt("alice", "/s.txt", "s").ok());
  EXPECT_EQ(tree_->Lock("alice", "/", true, false, "", 60).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(tree_->Lock("alice", "/./", true, false, "", 60).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(
      tree_->Lock("alice", "/s.txt", false, true, std::string(kMaxLockHolderBytes + 1, 'o'), 60)
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  for (int64_t i = 0; i < kMaxLocksPerOwner; ++i) {
    ASSERT_TRUE(tree_->Lock("alice", "/s.txt", false, true, "", 60).ok()) << i;
  }
  EXPECT_EQ(tree_->Lock("alice", "/s.txt", false, true, "", 60).status().code(),
            StatusCode::kQuotaExceeded);
  // Expired locks make room again; another owner has room of his own.
  ASSERT_TRUE(UploadAt("bob", "/s.txt", "s").ok());
  EXPECT_TRUE(tree_->Lock("bob", "/s.txt", false, true, "", 60).ok());
  clock_.AdvanceSeconds(61);
  EXPECT_TRUE(tree_->Lock("alice", "/s.txt", false, true, "", 60).ok());
}

TEST_F(TreeServiceTest, ALockGoesWithItsFileWhenTheFilesApiDeletesIt) {
  Result<FileRecord> file = UploadAt("alice", "/f.txt", "f");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(tree_->Lock("alice", "/f.txt", false, false, "", 600).ok());
  ASSERT_TRUE(files_->Delete("alice", file->id).ok());
  EXPECT_TRUE(tree_->LocksAt("alice", "/", true)->empty());
  // The path is free again: a new file there takes a lock of its own.
  ASSERT_TRUE(UploadAt("alice", "/f.txt", "g").ok());
  EXPECT_TRUE(tree_->Lock("alice", "/f.txt", false, false, "", 600).ok());
}

}  // namespace
}  // namespace nexus::daemon::storage
