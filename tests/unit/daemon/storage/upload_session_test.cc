// UploadSession over a real FileService on an in-memory database: the order
// of header, bytes, late path and commit, the declared size, and what it
// hands to the tree (a recording UploadPlacement that stores plain files).
#include "daemon/storage/upload_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/sql/database.h"
#include "common/vfs_path.h"
#include "daemon/storage/fs_chunk_store.h"
#include "support/fake_clock.h"
#include "support/metadata_backend.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::TempDir;

// Records what the session asks of the tree; the uploads it starts are plain
// Files API uploads. Paths are checked as the tree does (only NormalizeVfsPath).
class RecordingPlacement final : public UploadPlacement {
 public:
  explicit RecordingPlacement(FileService& files) : files_(files) {}

  Result<std::string> UploadPath(const std::string& owner, std::string_view path) override {
    checked.emplace_back(owner + ":" + std::string(path));
    Result<std::string> normalized = NormalizeVfsPath(path);
    if (!normalized.ok()) return normalized.status().WithContext("upload");
    return normalized;
  }
  Result<std::unique_ptr<Upload>> BeginUploadAt(const std::string& owner, const std::string& path,
                                                int64_t declared_size) override {
    paths.emplace_back(path);
    return files_.Begin(owner, "placed", declared_size);
  }
  Result<std::unique_ptr<Upload>> BeginUploadPathLater(
      const std::string& owner, std::string_view file_name, int64_t declared_size,
      std::shared_ptr<const LatePath> destination) override {
    late = destination;
    return files_.Begin(owner, file_name, declared_size);
  }
  Result<std::unique_ptr<Upload>> BeginPartUpload(const std::string& owner, const std::string& path,
                                                  const std::string& upload_id, int part_number,
                                                  int64_t declared_size,
                                                  std::shared_ptr<const PartMd5> md5) override {
    parts.push_back(path + "#" + upload_id + "." + std::to_string(part_number));
    part_md5 = md5;
    return files_.Begin(owner, "part", declared_size);
  }

  std::vector<std::string> checked;  // "owner:path" as the client sent it
  std::vector<std::string> paths;
  std::shared_ptr<const LatePath> late;
  std::vector<std::string> parts;  // "path#upload.number"
  std::shared_ptr<const PartMd5> part_md5;

 private:
  FileService& files_;
};

class UploadSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = FsChunkStore::Open(dir_.path() + "/chunks");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    chunks_ = std::move(*store);
    auto db = nexus::testing::TestMetadataDb::Open(StorageMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    test_db_ = std::move(*db);
    db_ = &test_db_->conn();
    metadata_ = std::make_unique<MetadataStore>(*db_, clock_);
    files_ = std::make_unique<FileService>(*chunks_, *metadata_,
                                           FileServiceOptions{.chunker = {256, 1024, 4096}});
    placement_ = std::make_unique<RecordingPlacement>(*files_);
  }

  Result<std::unique_ptr<UploadSession>> Begin(UploadHeader header) {
    return UploadSession::Begin(*files_, placement_.get(), header);
  }

  TempDir dir_;
  nexus::testing::FakeClock clock_;
  std::unique_ptr<FsChunkStore> chunks_;
  std::unique_ptr<nexus::testing::TestMetadataDb> test_db_;
  sql::Connection* db_ = nullptr;  // test_db_'s
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<FileService> files_;
  std::unique_ptr<RecordingPlacement> placement_;
};

TEST_F(UploadSessionTest, AnUploadWithoutAPathIsAPlainFile) {
  auto session = Begin({.owner = "alice", .file_name = "a.txt", .declared_size = 5});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*session)->Write("hello").ok());
  Result<FileRecord> file = (*session)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, "a.txt");
  EXPECT_EQ(file->size, 5);
  EXPECT_EQ((*session)->vfs_path(), "");
  EXPECT_TRUE(placement_->paths.empty());
}

TEST_F(UploadSessionTest, SharedPiecesArriveInOrder) {
  auto session = Begin({.owner = "alice", .file_name = "a.txt"});
  ASSERT_TRUE(session.ok());
  auto owner = std::make_shared<std::string>("hello, world");
  const std::string_view whole(*owner);
  const std::string_view pieces[] = {whole.substr(0, 5), "", whole.substr(5)};
  ASSERT_TRUE((*session)->WriteShared(pieces, owner).ok());
  Result<FileRecord> file = (*session)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->size, 12);
}

TEST_F(UploadSessionTest, ThePathIsCheckedOnceByTheTreeAndItsNormalFormKept) {
  auto session = Begin({.owner = "alice", .file_name = "x", .vfs_path = "/docs//./a.txt/"});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(placement_->checked, std::vector<std::string>{"alice:/docs//./a.txt/"});
  EXPECT_EQ(placement_->paths, std::vector<std::string>{"/docs/a.txt"});
  EXPECT_EQ((*session)->vfs_path(), "/docs/a.txt");
}

TEST_F(UploadSessionTest, RefusesBadHeadersBeforeAnythingBegins) {
  struct Case {
    const char* name;
    UploadHeader header;
    StatusCode code;
  } cases[] = {
      {"a declared size below -1",
       {.owner = "alice", .file_name = "a", .declared_size = -2},
       StatusCode::kInvalidArgument},
      {"a path and path_follows",
       {.owner = "alice", .file_name = "a", .vfs_path = "/a", .path_follows = true},
       StatusCode::kInvalidArgument},
      {"a path that does not normalise",
       {.owner = "alice", .file_name = "a", .vfs_path = "a/b"},
       StatusCode::kInvalidArgument},
      {"an empty owner", {.owner = "", .file_name = "a"}, StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    auto session = Begin(c.header);
    EXPECT_EQ(session.status().code(), c.code) << c.name;
  }
  EXPECT_TRUE(placement_->paths.empty());
}

TEST_F(UploadSessionTest, AServerWithoutATreeRefusesPathsAsUnimplemented) {
  auto to_path = UploadSession::Begin(*files_, nullptr, {.owner = "alice", .vfs_path = "/a"});
  EXPECT_EQ(to_path.status().code(), StatusCode::kUnimplemented);
  auto later = UploadSession::Begin(*files_, nullptr, {.owner = "alice", .path_follows = true});
  EXPECT_EQ(later.status().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(UploadSession::Begin(*files_, nullptr, {.owner = "alice", .file_name = "a"}).ok());
}

TEST_F(UploadSessionTest, ALatePathComesAfterTheBytesAndBeforeTheCommit) {
  auto session = Begin({.owner = "alice", .file_name = "a.txt", .path_follows = true});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*session)->Write("abc").ok());
  ASSERT_TRUE((*session)->SetPath("/in//here.txt").ok());
  EXPECT_EQ(placement_->checked, std::vector<std::string>{"alice:/in//here.txt"});
  EXPECT_EQ((*session)->vfs_path(), "/in/here.txt");
  ASSERT_NE(placement_->late, nullptr);
  EXPECT_EQ(placement_->late->path(), "/in/here.txt");
  Status more = (*session)->Write("d");
  EXPECT_EQ(more.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(more.message(), "upload 'a.txt': data after the path");
}

TEST_F(UploadSessionTest, CommitRefusesAMissingLatePathOrAShortBody) {
  auto late = Begin({.owner = "alice", .file_name = "a.txt", .path_follows = true});
  ASSERT_TRUE(late.ok());
  Result<FileRecord> no_path = (*late)->Commit();
  EXPECT_EQ(no_path.status().message(), "upload 'a.txt': the path never arrived");
  (*late)->Abort();

  auto sized = Begin({.owner = "alice", .file_name = "b.txt", .declared_size = 4});
  ASSERT_TRUE(sized.ok());
  ASSERT_TRUE((*sized)->Write("abc").ok());
  Result<FileRecord> short_body = (*sized)->Commit();
  EXPECT_EQ(short_body.status().message(),
            "upload 'b.txt': received 3 bytes, the header declared 4");
  (*sized)->Abort();
  auto list = files_->List("alice");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(UploadSessionTest, APartNeedsItsUploadsPathAndItsMd5AfterTheBytes) {
  auto no_path =
      Begin({.owner = "alice", .file_name = "p", .multipart_upload_id = "u1", .part_number = 1});
  EXPECT_EQ(no_path.status().code(), StatusCode::kInvalidArgument);

  auto part = Begin({.owner = "alice",
                     .file_name = "p",
                     .vfs_path = "/b//k",
                     .multipart_upload_id = "u1",
                     .part_number = 2});
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(placement_->parts, std::vector<std::string>{"/b/k#u1.2"});
  ASSERT_TRUE((*part)->Write("abc").ok());
  EXPECT_EQ((*part)->Commit().status().message(), "upload 'part': the part MD5 never arrived");

  auto again = Begin({.owner = "alice",
                      .file_name = "p",
                      .vfs_path = "/b/k",
                      .multipart_upload_id = "u1",
                      .part_number = 3});
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Write("abc").ok());
  EXPECT_EQ((*again)->SetS3Etag("not hex").code(), StatusCode::kInvalidArgument);
  // A multipart ETag is no part's MD5.
  EXPECT_EQ((*again)->SetS3Etag("900150983cd24fb0d6963f7d28e17f72-2").code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE((*again)->SetS3Etag("900150983cd24fb0d6963f7d28e17f72").ok());
  EXPECT_EQ(placement_->part_md5->hex(), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ((*again)->Write("d").message(), "upload 'part': data after the S3 ETag");
}

TEST_F(UploadSessionTest, APathWithoutPathFollowsIsRefused) {
  auto session = Begin({.owner = "alice", .file_name = "a.txt"});
  ASSERT_TRUE(session.ok());
  EXPECT_EQ((*session)->SetPath("/a").message(),
            "upload 'a.txt': a path message, but the header did not say path_follows");
}

TEST_F(UploadSessionTest, ABadLatePathIsRefusedAndTheUploadStillWaitsForOne) {
  auto session = Begin({.owner = "alice", .file_name = "a.txt", .path_follows = true});
  ASSERT_TRUE(session.ok());
  EXPECT_EQ((*session)->SetPath("a/../b").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*session)->SetPath("/").message(), "upload: the path is the root folder");
  ASSERT_NE(placement_->late, nullptr);
  EXPECT_FALSE(placement_->late->has_value());
  EXPECT_TRUE((*session)->SetPath("/b").ok());
}

TEST_F(UploadSessionTest, AnS3EtagAfterTheBytesIsKeptWithTheFile) {
  const std::string etag = "5d41402abc4b2a76b9719d911017c592";
  auto session = Begin({.owner = "alice", .file_name = "a.txt", .declared_size = 5});
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Write("hello").ok());
  ASSERT_TRUE((*session)->SetS3Etag(etag).ok());
  EXPECT_EQ((*session)->Write("more").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*session)->SetS3Etag(etag).code(), StatusCode::kInvalidArgument);
  Result<FileRecord> file = (*session)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->s3_etag, etag);
  Result<FileRecord> stored = files_->Get("alice", file->id);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->s3_etag, etag);
}

TEST_F(UploadSessionTest, AMalformedS3EtagIsRefusedAndAnUploadWithoutOneKeepsNone) {
  auto session = Begin({.owner = "alice", .file_name = "a.txt"});
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Write("x").ok());
  EXPECT_EQ((*session)->SetS3Etag("\"5d41402abc4b2a76b9719d911017c592\"").code(),
            StatusCode::kInvalidArgument);
  Result<FileRecord> file = (*session)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->s3_etag, "");
}

TEST(ValidS3EtagTest, IsAnMd5InHexWithAnOptionalPartCount) {
  EXPECT_TRUE(ValidS3Etag("5d41402abc4b2a76b9719d911017c592"));
  EXPECT_TRUE(ValidS3Etag("5d41402abc4b2a76b9719d911017c592-1"));
  EXPECT_TRUE(ValidS3Etag("5d41402abc4b2a76b9719d911017c592-10000"));
  EXPECT_FALSE(ValidS3Etag("5d41402abc4b2a76b9719d911017c592-10001"));
  EXPECT_FALSE(ValidS3Etag("5d41402abc4b2a76b9719d911017c592-0"));
  EXPECT_FALSE(ValidS3Etag("5d41402abc4b2a76b9719d911017c592-"));
  EXPECT_FALSE(ValidS3Etag("5D41402ABC4B2A76B9719D911017C592"));
  EXPECT_FALSE(ValidS3Etag("5d41402abc4b2a76b9719d911017c59"));
  EXPECT_FALSE(ValidS3Etag("5d41402abc4b2a76b9719d911017c5920"));
  EXPECT_FALSE(ValidS3Etag(""));
}

TEST(LatePathTest, TakesOnePathThatIsNotTheRoot) {
  LatePath root;
  EXPECT_EQ(root.Set("/").code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(root.has_value());
  LatePath p;
  ASSERT_TRUE(p.Set("/a/b").ok());
  EXPECT_EQ(p.path(), "/a/b");
  EXPECT_EQ(p.Set("/c").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.path(), "/a/b") << "a refused second path leaves the first";
}

}  // namespace
}  // namespace nexus::daemon::storage
