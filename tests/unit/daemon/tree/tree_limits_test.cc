// TreeService's rules for names (no bidirectional controls) and its limit
// on how many entries an owner may have.
#include <gtest/gtest.h>

#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

// ---- names and limits ----------------------------------------------------------

TEST_F(TreeServiceTest, NamesWithBidirectionalControlsAreRefusedWhereverTheyAreCreated) {
  const std::string rlo = "\xe2\x80\xae";  // U+202E
  const std::string lri = "\xe2\x81\xa6";  // U+2066
  ASSERT_TRUE(UploadAt("alice", "/ok.txt", "x").ok());
  EXPECT_EQ(tree_->MakeDirectory("alice", "/a" + rlo + "b").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->MakeDirectory("alice", "/clean/" + lri + "/deeper").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->BeginUpload("alice", "/invoice" + rlo + "fdp.exe").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Move("alice", "/ok.txt", "/gpj." + rlo + "exe").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->BeginUploadPathLater("alice", "a" + rlo, -1, std::make_shared<LatePath>())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  LatePath late;
  EXPECT_EQ(SetLatePath(late, "alice", "/x" + lri).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(late.has_value());
  EXPECT_EQ(Names("alice", "/"), Strings{"ok.txt"}) << "nothing was created";
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

TEST_F(TreeServiceTest, AnEntryStoredBeforeTheRuleCanStillBeListedMovedAndDeleted) {
  const std::string old_name = "old\xe2\x80\xae";
  db_->ExecScript(
      "INSERT INTO vfs_entries(owner, parent, name, kind, modified)"
      " VALUES('alice', 0, '" +
      old_name + "', 'folder', 1)");
  EXPECT_TRUE(tree_->List("alice", "/" + old_name).ok());
  ASSERT_TRUE(tree_->Move("alice", "/" + old_name, "/renamed").ok());
  ASSERT_TRUE(tree_->Move("alice", "/renamed", "/renamed2").ok());
  db_->ExecScript(
      "INSERT INTO vfs_entries(owner, parent, name, kind, modified)"
      " VALUES('alice', 0, '" +
      old_name + "', 'folder', 1)");
  EXPECT_TRUE(tree_->Delete("alice", "/" + old_name).ok());
  EXPECT_EQ(Names("alice", "/"), Strings{"renamed2/"});
}

// An owner may have at most limits_.max_entries files and folders.
class TreeEntryLimitTest : public TreeServiceTest {
 protected:
  TreeEntryLimitTest() { limits_.max_entries = 4; }
  int64_t Entries(const std::string& owner) {
    auto u = tree_->Usage(owner);
    EXPECT_TRUE(u.ok());
    return u->files + u->folders;
  }
};

TEST_F(TreeEntryLimitTest, MakeDirectoryPastTheLimitCreatesNothing) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/a/b/c").ok());
  auto refused = tree_->MakeDirectory("alice", "/a/x/y");
  EXPECT_EQ(refused.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_NE(refused.status().message().find("at most 4"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Names("alice", "/a"), Strings{"b/"}) << "not even /a/x";
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/a/x").ok()) << "the fourth fits";
  EXPECT_TRUE(tree_->MakeDirectory("alice", "/a/b/c").ok()) << "an existing folder adds none";
  EXPECT_EQ(Entries("alice"), 4);
  EXPECT_TRUE(tree_->MakeDirectory("bob", "/a/b/c/d").ok()) << "bob has his own limit";
}

TEST_F(TreeEntryLimitTest, FilesCountWithOrWithoutAPathAndAReplacementAddsNone) {
  ASSERT_TRUE(UploadAt("alice", "/d/f1", "1").ok());  // a folder and a file
  auto raw = files_->Begin("alice", "raw.bin");
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Write("r").ok());
  ASSERT_TRUE((*raw)->Commit().ok());
  ASSERT_TRUE(UploadAt("alice", "/d/f2", "2").ok());
  EXPECT_EQ(Entries("alice"), 4);
  const int chunk_files = ChunkFiles();

  // At the limit: a new file fails before any byte is stored, however it comes.
  EXPECT_EQ(tree_->BeginUpload("alice", "/d/f3").status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(files_->Begin("alice", "raw2.bin").status().code(), StatusCode::kQuotaExceeded);
  // A path that arrives after the bytes can only be checked at the commit.
  auto to = std::make_shared<LatePath>();
  auto late = tree_->BeginUploadPathLater("alice", "x", -1, to);
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE((*late)->Write(PseudoRandomBytes(5000, 70)).ok());
  ASSERT_TRUE(to->Set("/d/f3").ok());
  EXPECT_EQ((*late)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), chunk_files) << "the refused upload's chunks are gone";
  // Replacing a file adds no entry.
  ASSERT_TRUE(UploadAt("alice", "/d/f1", "new").ok());
  EXPECT_EQ(*Download("alice", "/d/f1"), "new");
  EXPECT_EQ(Entries("alice"), 4);
  // Deleting makes room again.
  ASSERT_TRUE(tree_->Delete("alice", "/d/f2").ok());
  EXPECT_TRUE(UploadAt("alice", "/d/f3", "3").ok());
}

TEST_F(TreeEntryLimitTest, AMoveThatCreatesParentsPastTheLimitIsRefused) {
  ASSERT_TRUE(UploadAt("alice", "/f", "1").ok());
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/a/b").ok());
  EXPECT_EQ(tree_->Move("alice", "/f", "/x/y/f").status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(Names("alice", "/"), (Strings{"a/", "f"}));
  ASSERT_TRUE(tree_->Move("alice", "/f", "/a/b/f").ok())
      << "a move into existing folders adds none";
  ASSERT_TRUE(tree_->Move("alice", "/a/b/f", "/x/f").ok()) << "one new parent: the fourth entry";
  EXPECT_EQ(Entries("alice"), 4);
}

}  // namespace
}  // namespace nexus::daemon::storage
