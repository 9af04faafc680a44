// TreeRpc end to end through its stub, with uploads into the tree through
// FilesRpc.
#include "daemon/rpc/tree_rpc.h"

#include "unit/daemon/rpc/rpc_test_bench.h"

namespace nexus::daemon {
namespace {

using namespace rpc_bench;  // NOLINT: the bench of this folder

// ---- the file tree ------------------------------------------------------------------

TEST_F(DaemonRpcTest, UploadIntoTheTreeThenListDownloadMoveUsageAndDelete) {
  const std::string data = RandomBytes(120 << 10, 12);
  UploadOutcome up = Upload(Header("alice", "ignored.txt", "/docs//report.txt"), Split(data, 3));
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  EXPECT_EQ(up.info.vfs_path(), "/docs/report.txt");
  EXPECT_EQ(up.info.name(), "report.txt");
  EXPECT_EQ(up.info.size(), static_cast<int64_t>(data.size()));

  {  // mkdir -p
    grpc::ClientContext ctx;
    v1::MakeDirectoryRequest req;
    req.set_owner("alice");
    req.set_path("/photos/2024/");
    v1::MakeDirectoryResponse resp;
    ASSERT_TRUE(stub().tree->MakeDirectory(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.path(), "/photos/2024");
  }
  {  // ls /
    grpc::ClientContext ctx;
    v1::ListDirectoryRequest req;
    req.set_owner("alice");
    req.set_path("/");
    v1::ListDirectoryResponse resp;
    ASSERT_TRUE(stub().tree->ListDirectory(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.entries_size(), 2);
    EXPECT_EQ(resp.entries(0).name(), "docs");
    EXPECT_EQ(resp.entries(0).type(), "folder");
    EXPECT_EQ(resp.entries(1).name(), "photos");
  }
  {  // ls /docs
    grpc::ClientContext ctx;
    v1::ListDirectoryRequest req;
    req.set_owner("alice");
    req.set_path("/docs");
    v1::ListDirectoryResponse resp;
    ASSERT_TRUE(stub().tree->ListDirectory(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.entries_size(), 1);
    EXPECT_EQ(resp.entries(0).name(), "report.txt");
    EXPECT_EQ(resp.entries(0).type(), "file");
    EXPECT_EQ(resp.entries(0).size(), static_cast<int64_t>(data.size()));
    EXPECT_EQ(resp.entries(0).modified(), clock_.NowSeconds());
    EXPECT_EQ(resp.entries(0).id(), up.info.id());
  }
  {  // the same file through the Files API
    DownloadOutcome by_id = DownloadFile("alice", up.info.id());
    ASSERT_TRUE(by_id.status.ok());
    EXPECT_EQ(by_id.data, data);
  }
  {  // download by path, with a range
    v1::ByteRange range = Range(-1000, -1);
    DownloadOutcome down = DownloadPath("alice", "/docs/./report.txt", &range);
    ASSERT_TRUE(down.status.ok()) << down.status.error_message();
    EXPECT_EQ(down.header.file().vfs_path(), "/docs/report.txt");
    EXPECT_EQ(down.header.file().id(), up.info.id());
    EXPECT_TRUE(down.header.partial());
    EXPECT_EQ(down.header.offset(), static_cast<int64_t>(data.size()) - 1000);
    EXPECT_EQ(down.data, data.substr(data.size() - 1000));
    EXPECT_EQ(DownloadPath("bob", "/docs/report.txt").status.error_code(),
              grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(DownloadPath("alice", "/docs").status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {  // mv /docs /archive/2023
    grpc::ClientContext ctx;
    v1::MovePathRequest req;
    req.set_owner("alice");
    req.set_old_path("/docs/");
    req.set_new_path("/archive//2023");
    v1::MovePathResponse resp;
    grpc::Status s = stub().tree->MovePath(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.old_path(), "/docs");
    EXPECT_EQ(resp.new_path(), "/archive/2023");
    EXPECT_EQ(DownloadPath("alice", "/docs/report.txt").status.error_code(),
              grpc::StatusCode::NOT_FOUND);
    DownloadOutcome moved = DownloadPath("alice", "/archive/2023/report.txt");
    ASSERT_TRUE(moved.status.ok());
    EXPECT_EQ(moved.data, data);
  }
  {  // usage: the file; folders archive, 2023, photos, 2024
    grpc::ClientContext ctx;
    v1::GetUsageRequest req;
    req.set_owner("alice");
    v1::Usage usage;
    ASSERT_TRUE(stub().tree->GetUsage(&ctx, req, &usage).ok());
    EXPECT_EQ(usage.used_bytes(), static_cast<int64_t>(data.size()));
    EXPECT_EQ(usage.quota_bytes(), storage::kUnlimitedQuota);
    EXPECT_EQ(usage.files(), 1);
    EXPECT_EQ(usage.folders(), 4);
  }
  {  // rm -r /archive
    grpc::ClientContext ctx;
    v1::DeletePathRequest req;
    req.set_owner("alice");
    req.set_path("/archive");
    v1::DeletePathResponse resp;
    ASSERT_TRUE(stub().tree->DeletePath(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.files_deleted(), 1);
    EXPECT_EQ(resp.folders_deleted(), 2);
    EXPECT_TRUE(FilesOf("alice").empty());
    EXPECT_EQ(CountFiles(chunks_dir_), 0u);
  }
}

TEST_F(DaemonRpcTest, TreeErrorsKeepTheirCodes) {
  MustUpload("alice", "f", "content", "/a/file.txt");
  auto mkdir = [&](const std::string& path) {
    grpc::ClientContext ctx;
    v1::MakeDirectoryRequest req;
    req.set_owner("alice");
    req.set_path(path);
    v1::MakeDirectoryResponse resp;
    return stub().tree->MakeDirectory(&ctx, req, &resp);
  };
  auto rm = [&](const std::string& path) {
    grpc::ClientContext ctx;
    v1::DeletePathRequest req;
    req.set_owner("alice");
    req.set_path(path);
    v1::DeletePathResponse resp;
    return stub().tree->DeletePath(&ctx, req, &resp);
  };
  struct Case {
    const char* name;
    grpc::Status status;
    StatusCode want;
  } cases[] = {
      {"mkdir over a file", mkdir("/a/file.txt"), StatusCode::kAlreadyExists},
      {"mkdir with ..", mkdir("/a/../b"), StatusCode::kInvalidArgument},
      {"relative path", mkdir("a"), StatusCode::kInvalidArgument},
      {"rm of a missing path", rm("/nope"), StatusCode::kNotFound},
      {"rm of the root", rm("/"), StatusCode::kInvalidArgument},
      {"upload onto a folder", Upload(Header("alice", "x", "/a"), {"x"}).status,
       StatusCode::kAlreadyExists},
      {"upload to a bad path", Upload(Header("alice", "x", "no-slash"), {"x"}).status,
       StatusCode::kInvalidArgument},
  };
  for (const Case& tc : cases) {
    EXPECT_EQ(FromGrpcStatus(tc.status).code(), tc.want)
        << tc.name << ": " << tc.status.error_message();
  }
}

TEST_F(DaemonRpcTest, UploadToAPathReplacesTheFileThere) {
  v1::FileInfo old_file = MustUpload("alice", "x", "old content", "/same.txt");
  v1::FileInfo new_file = MustUpload("alice", "x", "new content!", "/same.txt");
  EXPECT_NE(old_file.id(), new_file.id());
  DownloadOutcome down = DownloadPath("alice", "/same.txt");
  ASSERT_TRUE(down.status.ok());
  EXPECT_EQ(down.data, "new content!");
  EXPECT_EQ(DownloadFile("alice", old_file.id()).status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DaemonRpcTest, UploadWhosePathFollowsTheDataLandsAtThatPath) {
  v1::UploadHeader header = Header("alice", "client.bin");
  header.set_path_follows(true);
  const std::string data = RandomBytes(100 << 10, 30);
  std::vector<v1::UploadFileRequest> messages(1);
  *messages[0].mutable_header() = header;
  for (const std::string& part : Split(data, 3)) messages.emplace_back().set_data(part);
  messages.emplace_back().set_vfs_path("/inbox//late.bin");
  UploadOutcome up = SendMessages(messages);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  EXPECT_EQ(up.info.vfs_path(), "/inbox/late.bin");
  EXPECT_EQ(up.info.name(), "late.bin");
  DownloadOutcome down = DownloadPath("alice", "/inbox/late.bin");
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_TRUE(down.data == data);
}

TEST_F(DaemonRpcTest, MisplacedOrMissingLatePathsAreInvalidAndLeaveNothing) {
  v1::UploadHeader follows = Header("alice", "x");
  follows.set_path_follows(true);
  v1::UploadHeader both = Header("alice", "x", "/a");
  both.set_path_follows(true);
  auto header = [](const v1::UploadHeader& h) {
    v1::UploadFileRequest m;
    *m.mutable_header() = h;
    return m;
  };
  auto data = [](const std::string& bytes) {
    v1::UploadFileRequest m;
    m.set_data(bytes);
    return m;
  };
  auto path = [](const std::string& p) {
    v1::UploadFileRequest m;
    m.set_vfs_path(p);
    return m;
  };
  const std::string bytes = RandomBytes(64 << 10, 31);
  struct Case {
    const char* what;
    std::vector<v1::UploadFileRequest> messages;
  } cases[] = {
      {"the path never arrives", {header(follows), data(bytes)}},
      {"a path without path_follows", {header(Header("alice", "x")), data(bytes), path("/b")}},
      {"data after the path", {header(follows), data(bytes), path("/b"), data(bytes)}},
      {"two paths", {header(follows), data(bytes), path("/b"), path("/c")}},
      {"a bad path", {header(follows), data(bytes), path("/a/../b")}},
      {"a header path and path_follows", {header(both), data(bytes)}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    UploadOutcome up = SendMessages(c.messages);
    EXPECT_EQ(up.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << up.status.error_message();
    EXPECT_TRUE(FilesOf("alice").empty());
    EXPECT_EQ(CountFiles(chunks_dir_), 0u);
  }
}

}  // namespace
}  // namespace nexus::daemon
