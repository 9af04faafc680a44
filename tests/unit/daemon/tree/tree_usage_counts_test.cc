// owner_usage (migration 103) against a recount from the rows themselves,
// after every kind of change that adds or removes files and folders:
// uploads, a replacing upload, copies, moves, a recursive delete, a delete
// through the Files API, and several owners at once.
#include <gtest/gtest.h>

#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

class TreeUsageCountsTest : public TreeServiceTest {
 protected:
  // What owner_usage should hold, counted the slow way.
  OwnerUsage Recount(const std::string& owner) {
    sql::Statement q = db_->Prepare(
        "SELECT (SELECT COALESCE(SUM(size), 0) FROM files WHERE owner = ?1),"
        " (SELECT COUNT(*) FROM files WHERE owner = ?1),"
        " (SELECT COUNT(*) FROM vfs_entries WHERE owner = ?1 AND kind = 'folder')");
    q.Bind(1, owner);
    q.Step();
    return {q.Int64(0), q.Int64(1), q.Int64(2)};
  }
  void ExpectCounted(const std::string& owner) {
    Result<TreeUsage> usage = tree_->Usage(owner);
    ASSERT_TRUE(usage.ok()) << usage.status().ToString();
    const OwnerUsage want = Recount(owner);
    EXPECT_EQ(usage->used_bytes, want.bytes) << owner;
    EXPECT_EQ(usage->files, want.files) << owner;
    EXPECT_EQ(usage->folders, want.folders) << owner;
  }
};

TEST_F(TreeUsageCountsTest, TheCountsFollowEveryChangeOfFilesAndFolders) {
  ExpectCounted("alice");  // nothing yet: zeros
  ASSERT_TRUE(UploadAt("alice", "/a/b/one.txt", std::string(1500, '1')).ok());
  ASSERT_TRUE(UploadAt("alice", "/a/two.txt", std::string(700, '2')).ok());
  ASSERT_TRUE(UploadAt("bob", "/x.txt", "bob").ok());
  ExpectCounted("alice");
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 2200);
  EXPECT_EQ(tree_->Usage("alice")->folders, 2);
  // A replacing upload: one file, the new size.
  ASSERT_TRUE(UploadAt("alice", "/a/two.txt", std::string(50, '3')).ok());
  ExpectCounted("alice");
  ASSERT_TRUE(tree_->Copy("alice", "/a", "/c", true, false).ok());
  ExpectCounted("alice");
  ASSERT_TRUE(tree_->Move("alice", "/c/b", "/d").ok());
  ExpectCounted("alice");
  ASSERT_TRUE(tree_->Delete("alice", "/a").ok());
  ExpectCounted("alice");
  // A file without a path, then one deleted through the Files API.
  Result<FileRecord> raw = UploadAs("alice", "raw.bin", std::string(10, 'r'));
  ASSERT_TRUE(raw.ok());
  ExpectCounted("alice");
  ASSERT_TRUE(files_->Delete("alice", raw->id).ok());
  Result<std::vector<TreeEntry>> in_d = tree_->List("alice", "/d");
  ASSERT_TRUE(in_d.ok() && !in_d->empty());
  ASSERT_TRUE(files_->Delete("alice", (*in_d)[0].file_id).ok());
  ExpectCounted("alice");
  ExpectCounted("bob");
  EXPECT_EQ(tree_->Usage("bob")->used_bytes, 3);
}

}  // namespace
}  // namespace nexus::daemon::storage
