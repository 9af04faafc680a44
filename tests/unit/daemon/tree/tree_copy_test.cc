// Copies in the tree share chunks (no byte copied), count against the
// quota, replace only when asked; moves that replace; dead properties that
// follow their entry; an entry's time set by a client.
#include <gtest/gtest.h>

#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

TEST_F(TreeServiceTest, CopyOfAFileSharesItsChunksAndWritesNoChunkFile) {
  const std::string data = PseudoRandomBytes(20000, 7);
  ASSERT_TRUE(UploadAt("alice", "/a/big.bin", data).ok());
  const int chunk_files = ChunkFiles();
  Result<TreeCopyCounts> made = tree_->Copy("alice", "/a/big.bin", "/b/copy.bin", true, false);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->files, 1);
  EXPECT_FALSE(made->replaced);
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(*Download("alice", "/b/copy.bin"), data);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 40000);
  // Deleting the original leaves the copy whole: the chunks are referenced.
  ASSERT_TRUE(tree_->Delete("alice", "/a").ok());
  EXPECT_EQ(*Download("alice", "/b/copy.bin"), data);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

TEST_F(TreeServiceTest, CopyOfAFolderIsRecursiveOrShallowAsAsked) {
  ASSERT_TRUE(UploadAt("alice", "/src/x.txt", "x").ok());
  ASSERT_TRUE(UploadAt("alice", "/src/in/y.txt", "yy").ok());
  Result<TreeCopyCounts> deep = tree_->Copy("alice", "/src", "/deep", true, false);
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(deep->files, 2);
  EXPECT_EQ(deep->folders, 2);
  EXPECT_EQ(Names("alice", "/deep"), (Strings{"in/", "x.txt"}));
  EXPECT_EQ(*Download("alice", "/deep/in/y.txt"), "yy");
  ASSERT_TRUE(tree_->Copy("alice", "/src", "/shallow", false, false).ok());
  EXPECT_EQ(Names("alice", "/shallow"), Strings{});
}

TEST_F(TreeServiceTest, CopyOntoAnExistingEntryNeedsReplaceAndThenReplacesIt) {
  ASSERT_TRUE(UploadAt("alice", "/a.txt", "new").ok());
  ASSERT_TRUE(UploadAt("alice", "/b/old.txt", "old").ok());
  EXPECT_EQ(tree_->Copy("alice", "/a.txt", "/b", true, false).status().code(),
            StatusCode::kAlreadyExists);
  Result<TreeCopyCounts> made = tree_->Copy("alice", "/a.txt", "/b", true, true);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(made->replaced);
  EXPECT_EQ(*Download("alice", "/b"), "new");
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

TEST_F(TreeServiceTest, CopyThatWouldExceedTheQuotaChangesNothing) {
  quotas_["alice"] = 30000;
  ASSERT_TRUE(UploadAt("alice", "/a.bin", PseudoRandomBytes(20000, 3)).ok());
  EXPECT_EQ(tree_->Copy("alice", "/a.bin", "/b/c.bin", true, false).status().code(),
            StatusCode::kQuotaExceeded);
  EXPECT_EQ(ListCode("alice", "/b"), StatusCode::kNotFound);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 20000);
}

TEST_F(TreeServiceTest, CopyRefusesItsOwnSubtreeAndOtherOwnersPaths) {
  ASSERT_TRUE(UploadAt("alice", "/d/f.txt", "f").ok());
  EXPECT_EQ(tree_->Copy("alice", "/d", "/d/inside", true, false).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Copy("bob", "/d/f.txt", "/mine.txt", true, false).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(tree_->Copy("alice", "/d/../x", "/y", true, false).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TreeServiceTest, MoveReplacingDeletesTheTargetInTheSameStep) {
  ASSERT_TRUE(UploadAt("alice", "/from.txt", "from").ok());
  ASSERT_TRUE(UploadAt("alice", "/to.txt", "to").ok());
  Result<bool> replaced = tree_->MoveReplacing("alice", "/from.txt", "/to.txt");
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_TRUE(*replaced);
  EXPECT_EQ(*Download("alice", "/to.txt"), "from");
  EXPECT_EQ(Names("alice", "/"), Strings{"to.txt"});
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/p/q").ok());
  EXPECT_EQ(tree_->MoveReplacing("alice", "/p/q", "/p").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TreeServiceTest, DeadPropertiesFollowTheirEntryThroughMoveCopyAndDelete) {
  ASSERT_TRUE(UploadAt("alice", "/a.txt", "a").ok());
  std::vector<DeadPropertyChange> set = {{{"urn:z", "color", "<Z:color xmlns:Z=\"urn:z\"/>"}},
                                         {{"", "plain", "<plain>1</plain>"}}};
  ASSERT_TRUE(tree_->PatchProps("alice", "/a.txt", set).ok());
  ASSERT_TRUE(tree_->Move("alice", "/a.txt", "/d/b.txt").ok());
  ASSERT_TRUE(tree_->Copy("alice", "/d", "/e", true, false).ok());
  Result<std::vector<EntryProperties>> in_e = tree_->ListProps("alice", "/e", true);
  ASSERT_TRUE(in_e.ok());
  ASSERT_EQ(in_e->size(), 1u);
  EXPECT_EQ((*in_e)[0].name, "b.txt");
  EXPECT_EQ((*in_e)[0].props.size(), 2u);
  std::vector<DeadPropertyChange> remove = {{{"urn:z", "color", ""}, true}};
  ASSERT_TRUE(tree_->PatchProps("alice", "/e/b.txt", remove).ok());
  EXPECT_EQ((*tree_->ListProps("alice", "/e/b.txt", false))[0].props.size(), 1u);
  // The original's properties are its own.
  EXPECT_EQ((*tree_->ListProps("alice", "/d/b.txt", false))[0].props.size(), 2u);
  ASSERT_TRUE(tree_->Delete("alice", "/d").ok());
  ASSERT_TRUE(UploadAt("alice", "/d/b.txt", "again").ok());
  EXPECT_TRUE(tree_->ListProps("alice", "/d/b.txt", false)->empty());
  EXPECT_EQ(tree_->PatchProps("alice", "/", set).code(), StatusCode::kPermissionDenied);
}

TEST_F(TreeServiceTest, SetModifiedChangesWhatListingShows) {
  ASSERT_TRUE(UploadAt("alice", "/a.txt", "a").ok());
  ASSERT_TRUE(tree_->SetModified("alice", "/a.txt", 1234567890).ok());
  Result<TreeEntry> e = tree_->Stat("alice", "/a.txt");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->modified, 1234567890);
  EXPECT_FALSE(e->sha256.empty());
  EXPECT_EQ(tree_->SetModified("bob", "/a.txt", 1).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace nexus::daemon::storage
