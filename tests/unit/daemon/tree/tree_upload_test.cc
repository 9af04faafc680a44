// TreeService uploads: to a path, replacing a file, and with a path that
// arrives after the bytes.
#include <gtest/gtest.h>

#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

// ---- upload ------------------------------------------------------------------

TEST_F(TreeServiceTest, UploadToAPathCreatesParentsAndDownloadsByPathAndById) {
  const std::string data = PseudoRandomBytes(20000, 1);
  auto file = UploadAt("alice", "/x/y/z.bin", data);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, "z.bin");
  EXPECT_EQ(file->size, 20000);
  EXPECT_EQ(Names("alice", "/"), Strings{"x/"});
  EXPECT_EQ(Names("alice", "/x"), Strings{"y/"});
  EXPECT_EQ(Names("alice", "/x/y"), Strings{"z.bin"});

  auto back = Download("alice", "/x/y/z.bin");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  auto resolved = tree_->Resolve("alice", "//x/y/./z.bin");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->id, file->id);
  // The same file in the raw Files API.
  auto raw = files_->List("alice");
  ASSERT_EQ(raw->size(), 1u);
  EXPECT_EQ((*raw)[0].id, file->id);
}

TEST_F(TreeServiceTest, UploadOntoAFolderOrBelowAFileIsAlreadyExistsBeforeAnyByteIsStored) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/dir").ok());
  ASSERT_TRUE(UploadAt("alice", "/file", "f").ok());
  const int chunk_files = ChunkFiles();
  for (const char* path : {"/dir", "/file/x", "/file/x/y"}) {
    EXPECT_EQ(tree_->BeginUpload("alice", path).status().code(), StatusCode::kAlreadyExists)
        << path;
  }
  EXPECT_EQ(tree_->BeginUpload("alice", "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ChunkFiles(), chunk_files);
}

TEST_F(TreeServiceTest, FolderCreatedDuringAnUploadFailsItsCommitAndRollsBackItsChunks) {
  auto upload = tree_->BeginUpload("alice", "/late/target");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(10000, 2)).ok());
  EXPECT_TRUE(Eventually([&] { return ChunkFiles() > 0; }));
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/late/target").ok());
  EXPECT_EQ((*upload)->Commit().status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_TRUE(files_->List("alice")->empty());
}

TEST_F(TreeServiceTest, AbortedUploadLeavesNoEntryNoParentsAndNoChunks) {
  auto upload = tree_->BeginUpload("alice", "/p/q/r");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(10000, 3)).ok());
  (*upload)->Abort();
  EXPECT_TRUE(Names("alice", "/").empty());
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(TreeServiceTest, ReplacingAFileKeepsOneEntryAndFreesExactlyTheOldChunks) {
  // Old and new share a block, so the shared chunks must survive.
  const std::string shared = PseudoRandomBytes(8000, 4);
  const std::string old_data = shared + PseudoRandomBytes(8000, 5);
  const std::string new_data = shared + PseudoRandomBytes(8000, 6);
  auto old_file = UploadAt("alice", "/doc", old_data);
  ASSERT_TRUE(old_file.ok());
  const std::set<std::string> old_chunks = ChunksOf(*old_file);
  clock_.AdvanceSeconds(30);
  auto new_file = UploadAt("alice", "/doc", new_data);
  ASSERT_TRUE(new_file.ok()) << new_file.status().ToString();

  EXPECT_EQ(ChunksOnDisk(), ChunksOf(*new_file));
  const std::set<std::string> new_chunks = ChunksOf(*new_file);
  std::set<std::string> old_only;
  for (const auto& h : old_chunks) {
    if (!new_chunks.count(h)) old_only.insert(h);
  }
  EXPECT_FALSE(old_only.empty());
  EXPECT_LT(old_only.size(), old_chunks.size()) << "the shared block's chunks stay";
  for (const auto& h : old_only) EXPECT_FALSE(*chunks_->Has(h)) << h;

  auto entries = tree_->List("alice", "/");
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].file_id, new_file->id);
  EXPECT_EQ((*entries)[0].modified, clock_.NowSeconds());
  EXPECT_EQ(files_->Get("alice", old_file->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(files_->List("alice")->size(), 1u);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, static_cast<int64_t>(new_data.size()));
  EXPECT_TRUE(*Download("alice", "/doc") == new_data);
}

TEST_F(TreeServiceTest, ReplacingAFileCountsItsBytesAsFreedInTheQuota) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAt("alice", "/f", std::string(8000, 'a')).ok());
  auto upload = tree_->BeginUpload("alice", "/f", 9000);
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(9000, 7)).ok());
  auto replaced = (*upload)->Commit();
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 9000);
  // Another path gets no such credit.
  EXPECT_EQ(tree_->BeginUpload("alice", "/g", 1001).status().code(), StatusCode::kQuotaExceeded);
}

// ---- upload whose path arrives after its bytes ------------------------------

TEST_F(TreeServiceTest, UploadWithALatePathLandsAtThatPathNamedByItsLastSegment) {
  auto destination = std::make_shared<LatePath>();
  auto upload = tree_->BeginUploadPathLater("alice", "client-name.bin", -1, destination);
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  const std::string data = PseudoRandomBytes(9000, 20);
  ASSERT_TRUE((*upload)->Write(data).ok());
  ASSERT_TRUE(SetLatePath(*destination, "alice", "/docs//late.txt/").ok());
  auto file = (*upload)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, "late.txt");
  EXPECT_TRUE(*Download("alice", "/docs/late.txt") == data);
  EXPECT_EQ(Names("alice", "/"), Strings{"docs/"});
}

TEST_F(TreeServiceTest, UploadWhosePathNeverArrivesOrIsBadKeepsNothing) {
  struct Case {
    const char* path;  // nullptr: never set
    StatusCode code;
  } cases[] = {
      {nullptr, StatusCode::kInvalidArgument},
      {"/a/../b", StatusCode::kInvalidArgument},
      {"/", StatusCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path ? c.path : "(none)");
    auto destination = std::make_shared<LatePath>();
    auto upload = tree_->BeginUploadPathLater("alice", "x", -1, destination);
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(5000, 21)).ok());
    Status set = c.path ? SetLatePath(*destination, "alice", c.path) : Status::Ok();
    Result<FileRecord> file = set.ok() ? (*upload)->Commit() : Result<FileRecord>(set);
    EXPECT_EQ(file.status().code(), c.code);
    (*upload)->Abort();
    EXPECT_TRUE(Names("alice", "/").empty());
    EXPECT_EQ(ChunkFiles(), 0);
  }
}

TEST_F(TreeServiceTest, UploadWithALatePathReplacesAFileAndHonoursTheQuotaAtCommit) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAt("alice", "/f", std::string(8000, 'a')).ok());
  // 9000 bytes fit only as a replacement of /f, which is not known until the
  // path arrives: the early check must not refuse it.
  auto replace_to = std::make_shared<LatePath>();
  auto replacing = tree_->BeginUploadPathLater("alice", "f", -1, replace_to);
  ASSERT_TRUE(replacing.ok());
  ASSERT_TRUE((*replacing)->Write(PseudoRandomBytes(9000, 22)).ok());
  ASSERT_TRUE(replace_to->Set("/f").ok());
  ASSERT_TRUE((*replacing)->Commit().ok());
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 9000);

  auto other_to = std::make_shared<LatePath>();
  auto other = tree_->BeginUploadPathLater("alice", "g", -1, other_to);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Write(PseudoRandomBytes(2000, 23)).ok());
  ASSERT_TRUE(other_to->Set("/g").ok());
  EXPECT_EQ((*other)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 9000);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
  // More than the quota with the largest file freed is refused while the
  // bytes arrive.
  auto too_big = tree_->BeginUploadPathLater("alice", "h", -1, std::make_shared<LatePath>());
  ASSERT_TRUE(too_big.ok());
  EXPECT_EQ((*too_big)->Write(PseudoRandomBytes(10001, 24)).code(), StatusCode::kQuotaExceeded);
}

TEST_F(TreeServiceTest, UploadWithALatePathMayStoreOnlyWhatReplacingTheLargestFileWouldFree) {
  quotas_["bob"] = 10000;
  auto raw = files_->Begin("bob", "raw.bin");
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Write(PseudoRandomBytes(9000, 25)).ok());
  ASSERT_TRUE((*raw)->Commit().ok());
  ASSERT_TRUE(UploadAt("bob", "/small", std::string(500, 's')).ok());
  // 500 bytes left, plus at most /small's 500 if the path turns out to be it.
  auto late = tree_->BeginUploadPathLater("bob", "x", -1, std::make_shared<LatePath>());
  ASSERT_TRUE(late.ok());
  EXPECT_EQ((*late)->Write(PseudoRandomBytes(1001, 26)).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), static_cast<int>(ReferencedChunks().size()));
  EXPECT_EQ(
      tree_->BeginUploadPathLater("bob", "x", 1001, std::make_shared<LatePath>()).status().code(),
      StatusCode::kQuotaExceeded);
}

}  // namespace
}  // namespace nexus::daemon::storage
