// The bounds on WebDAV dead properties: bytes per entry, bytes per owner
// (kept exact in vfs_prop_usage by triggers, whatever adds or removes the
// rows: PROPPATCH, COPY, a delete's cascade), and bytes per listing.
#include <gtest/gtest.h>

#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

class TreePropsLimitsTest : public TreeServiceTest {
 protected:
  int64_t PropBytes(const std::string& owner) {
    sql::Statement q = db_->Prepare("SELECT bytes FROM vfs_prop_usage WHERE owner = ?");
    q.Bind(1, owner);
    return q.Step() ? q.Int64(0) : 0;
  }
  static DeadPropertyChange Set(std::string name, size_t value_bytes) {
    return {{"urn:t", std::move(name), std::string(value_bytes, 'v')}};
  }
};

TEST_F(TreePropsLimitsTest, EachOwnersBytesStayExactThroughPatchCopyReplaceAndDelete) {
  ASSERT_TRUE(UploadAt("alice", "/d/a.txt", "a").ok());
  ASSERT_TRUE(UploadAt("bob", "/b.txt", "b").ok());
  const int64_t one = 5 + 4 + 100;  // namespace, name, value
  ASSERT_TRUE(tree_->PatchProps("alice", "/d/a.txt", {Set("tag1", 100)}).ok());
  EXPECT_EQ(PropBytes("alice"), one);
  ASSERT_TRUE(tree_->Copy("alice", "/d", "/e", true, false).ok());
  EXPECT_EQ(PropBytes("alice"), 2 * one);
  ASSERT_TRUE(tree_->PatchProps("alice", "/e/a.txt", {Set("tag1", 10)}).ok());
  EXPECT_EQ(PropBytes("alice"), one + one - 90);
  // The file's files row goes, and its entry and properties by cascade.
  ASSERT_TRUE(tree_->Delete("alice", "/e/a.txt").ok());
  EXPECT_EQ(PropBytes("alice"), one);
  ASSERT_TRUE(tree_->Delete("alice", "/d").ok());
  EXPECT_EQ(PropBytes("alice"), 0);
  ASSERT_TRUE(tree_->PatchProps("bob", "/b.txt", {Set("x", 7)}).ok());
  EXPECT_EQ(PropBytes("bob"), 5 + 1 + 7);
  EXPECT_EQ(PropBytes("alice"), 0);
}

TEST_F(TreePropsLimitsTest, AnEntrysPropertiesAreBoundedInBytesAndAFailedPatchChangesNothing) {
  ASSERT_TRUE(UploadAt("alice", "/a.txt", "a").ok());
  Status both = tree_->PatchProps("alice", "/a.txt", {Set("p1", 40000), Set("p2", 40000)});
  EXPECT_EQ(both.code(), StatusCode::kQuotaExceeded) << both.ToString();
  EXPECT_TRUE(tree_->ListProps("alice", "/a.txt", false)->empty());
  EXPECT_EQ(PropBytes("alice"), 0);
  ASSERT_TRUE(tree_->PatchProps("alice", "/a.txt", {Set("p1", 40000)}).ok());
  EXPECT_EQ(tree_->PatchProps("alice", "/a.txt", {Set("p2", 30000)}).code(),
            StatusCode::kQuotaExceeded);
  // Replacing a value counts the new one only.
  EXPECT_TRUE(tree_->PatchProps("alice", "/a.txt", {Set("p1", 60000)}).ok());
}

TEST_F(TreePropsLimitsTest, AnOwnerPastTheTotalCanNeitherSetNorCopyProperties) {
  ASSERT_TRUE(UploadAt("alice", "/a.txt", "a").ok());
  ASSERT_TRUE(tree_->PatchProps("alice", "/a.txt", {Set("p", 1000)}).ok());
  // As if the owner's other entries held all but 500 bytes of the total.
  db_->ExecScript("UPDATE vfs_prop_usage SET bytes = " +
                  std::to_string(kMaxPropBytesPerOwner - 500) + " WHERE owner = 'alice'");
  EXPECT_EQ(tree_->PatchProps("alice", "/a.txt", {Set("q", 600)}).code(),
            StatusCode::kQuotaExceeded);
  EXPECT_EQ(tree_->Copy("alice", "/a.txt", "/b.txt", false, false).status().code(),
            StatusCode::kQuotaExceeded);
  EXPECT_EQ(tree_->Stat("alice", "/b.txt").status().code(), StatusCode::kNotFound);
  // Removing properties is always allowed.
  EXPECT_TRUE(tree_->PatchProps("alice", "/a.txt", {{{"urn:t", "p", ""}, true}}).ok());
}

TEST_F(TreePropsLimitsTest, AListingStopsAtItsByteBudget) {
  const size_t each = 60000;
  const size_t files = kMaxListedPropBytes / each + 2;
  for (size_t i = 0; i < files; ++i) {
    const std::string path = "/many/f" + std::to_string(i);
    ASSERT_TRUE(UploadAt("alice", path, "x").ok());
    ASSERT_TRUE(tree_->PatchProps("alice", path, {Set("big", each)}).ok());
  }
  EXPECT_EQ(tree_->ListProps("alice", "/many", true).status().code(), StatusCode::kQuotaExceeded);
  EXPECT_TRUE(tree_->ListProps("alice", "/many/f0", false).ok());
}

}  // namespace
}  // namespace nexus::daemon::storage
