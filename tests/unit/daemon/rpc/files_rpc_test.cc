// FilesRpc end to end through its stub: uploads and downloads that succeed
// (message sizes, ranges, empty files), listing, getting and deleting, and
// owners kept apart.
#include "daemon/rpc/files_rpc.h"

#include "unit/daemon/rpc/rpc_test_bench.h"

namespace nexus::daemon {
namespace {

using namespace rpc_bench;  // NOLINT: the bench of this folder

// ---- upload and download ----------------------------------------------------------

TEST_F(DaemonRpcTest, UploadInSeveralMessagesDownloadsByteIdentical) {
  const std::string data = RandomBytes(300 << 10, 1);
  UploadOutcome up =
      Upload(Header("alice", "../notes/report.bin", "", data.size()), Split(data, 7));
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  EXPECT_FALSE(up.info.id().empty());
  EXPECT_EQ(up.info.name(), "report.bin");
  EXPECT_EQ(up.info.size(), static_cast<int64_t>(data.size()));
  EXPECT_GT(up.info.chunks_count(), 1);
  EXPECT_EQ(up.info.status(), "Uploaded");
  EXPECT_EQ(up.info.sha256(), Sha256::HexDigest(data));
  EXPECT_EQ(up.info.created_at(), clock_.NowSeconds());
  EXPECT_TRUE(up.info.vfs_path().empty());

  DownloadOutcome down = DownloadFile("alice", up.info.id());
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_TRUE(down.header_first);
  EXPECT_EQ(down.headers, 1);
  EXPECT_EQ(down.header.file().id(), up.info.id());
  EXPECT_EQ(down.header.file().sha256(), up.info.sha256());
  EXPECT_EQ(down.header.offset(), 0);
  EXPECT_EQ(down.header.length(), static_cast<int64_t>(data.size()));
  EXPECT_FALSE(down.header.partial());
  EXPECT_EQ(Sha256::HexDigest(down.data), Sha256::HexDigest(data));
  EXPECT_EQ(down.data, data);
}

TEST_F(DaemonRpcTest, DataMessagesWithExtraFieldsAreParsedTheOrdinaryWay) {
  // nexusd takes a plain data message's payload straight from the received
  // slices; a data message that also carries an unknown field is not that
  // layout and must still count as its data alone.
  const std::string data = RandomBytes(200 << 10, 4);
  std::vector<v1::UploadFileRequest> messages(1);
  *messages[0].mutable_header() = Header("alice", "mixed.bin", "", data.size());
  for (const std::string& part : Split(data, 5)) {
    v1::UploadFileRequest m;
    m.set_data(part);
    if (messages.size() % 2 == 0) m.GetReflection()->MutableUnknownFields(&m)->AddVarint(15, 7);
    messages.push_back(std::move(m));
  }
  UploadOutcome up = SendMessages(messages);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  EXPECT_EQ(up.info.sha256(), Sha256::HexDigest(data));
  DownloadOutcome down = DownloadFile("alice", up.info.id());
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_EQ(down.data, data);
}

TEST_F(DaemonRpcTest, SmallChunksAreMergedIntoMessagesOfOneMebibyte) {
  const std::string data = RandomBytes((3 << 20) / 2, 2);  // 1.5 MiB in ~24 chunks
  v1::FileInfo info = MustUpload("alice", "merge.bin", data);
  ASSERT_GT(info.chunks_count(), 4);
  DownloadOutcome down = DownloadFile("alice", info.id());
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_EQ(down.data, data);
  EXPECT_EQ(down.data_sizes, (std::vector<size_t>{kDownloadMessageBytes, 512 << 10}));
}

TEST_F(DaemonRpcLargeChunkTest, LargeChunksAreSplitAndBigUploadMessagesAreAccepted) {
  // One 5 MiB data message: above gRPC's default 4 MiB receive limit.
  const std::string data = RandomBytes(6 << 20, 3);
  UploadOutcome up =
      Upload(Header("alice", "big.bin"), {data.substr(0, 5 << 20), data.substr(5 << 20)});
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  DownloadOutcome down = DownloadFile("alice", up.info.id());
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_EQ(down.data, data);
  EXPECT_EQ(down.data_sizes, std::vector<size_t>(6, kDownloadMessageBytes));
}

TEST_F(DaemonRpcTest, AnEmptyFileUploadsAndDownloadsWithNoDataMessage) {
  UploadOutcome up = Upload(Header("alice", "empty.txt", "", 0), {});
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  EXPECT_EQ(up.info.size(), 0);
  DownloadOutcome down = DownloadFile("alice", up.info.id());
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_EQ(down.headers, 1);
  EXPECT_EQ(down.header.length(), 0);
  EXPECT_TRUE(down.data_sizes.empty());
}

TEST_F(DaemonRpcTest, RangeDownloadsResolveTheRangeInTheHeader) {
  const std::string data = RandomBytes(100000, 4);
  v1::FileInfo info = MustUpload("alice", "r.bin", data);
  struct Case {
    const char* name;
    int64_t offset, length;            // requested
    int64_t want_offset, want_length;  // resolved
  } cases[] = {
      {"first bytes", 0, 100, 0, 100},      {"middle across chunks", 30000, 50000, 30000, 50000},
      {"open-ended", 99990, -1, 99990, 10}, {"clipped at the end", 99990, 500, 99990, 10},
      {"suffix", -500, -1, 99500, 500},     {"suffix longer than the file", -200000, -1, 0, 100000},
  };
  for (const Case& tc : cases) {
    v1::ByteRange range = Range(tc.offset, tc.length);
    DownloadOutcome down = DownloadFile("alice", info.id(), &range);
    ASSERT_TRUE(down.status.ok()) << tc.name << ": " << down.status.error_message();
    EXPECT_TRUE(down.header_first) << tc.name;
    EXPECT_TRUE(down.header.partial()) << tc.name;
    EXPECT_EQ(down.header.offset(), tc.want_offset) << tc.name;
    EXPECT_EQ(down.header.length(), tc.want_length) << tc.name;
    EXPECT_EQ(down.header.file().size(), 100000) << tc.name;
    EXPECT_EQ(down.data, data.substr(tc.want_offset, tc.want_length)) << tc.name;
  }
}

TEST_F(DaemonRpcTest, UnsatisfiableRangeIsOutOfRangeBeforeAnyMessage) {
  v1::FileInfo info = MustUpload("alice", "r.bin", RandomBytes(1000, 5));
  struct Case {
    const char* name;
    int64_t offset, length;
  } cases[] = {
      {"starts at the end", 1000, -1},
      {"starts past the end", 5000, 10},
      {"zero length", 0, 0},
      {"suffix with a length", -10, 5},
  };
  for (const Case& tc : cases) {
    v1::ByteRange range = Range(tc.offset, tc.length);
    DownloadOutcome down = DownloadFile("alice", info.id(), &range);
    EXPECT_EQ(down.status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << tc.name;
    EXPECT_EQ(FromGrpcStatus(down.status).code(), StatusCode::kRangeNotSatisfiable) << tc.name;
    EXPECT_EQ(down.headers, 0) << tc.name;
    EXPECT_TRUE(down.data.empty()) << tc.name;
  }
}

TEST_F(DaemonRpcTest, AnotherOwnersFileIsNotFoundForGetDownloadAndDelete) {
  const std::string data = RandomBytes(5000, 6);
  v1::FileInfo info = MustUpload("alice", "mine.txt", data);

  grpc::ClientContext get_ctx;
  v1::GetFileRequest get;
  get.set_owner("mallory");
  get.set_id(info.id());
  v1::FileInfo got;
  grpc::Status get_status = stub().files->GetFile(&get_ctx, get, &got);

  grpc::ClientContext del_ctx;
  v1::DeleteFileRequest del;
  del.set_owner("mallory");
  del.set_id(info.id());
  v1::DeleteFileResponse deleted;
  grpc::Status del_status = stub().files->DeleteFile(&del_ctx, del, &deleted);

  for (const grpc::Status& s :
       {get_status, del_status, DownloadFile("mallory", info.id()).status}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kNotFound);
  }
  // Still there for its owner.
  DownloadOutcome down = DownloadFile("alice", info.id());
  ASSERT_TRUE(down.status.ok());
  EXPECT_EQ(down.data, data);
}

TEST_F(DaemonRpcTest, ListGetAndDeleteFiles) {
  v1::FileInfo first = MustUpload("alice", "one.txt", "first file");
  clock_.AdvanceSeconds(10);
  v1::FileInfo second = MustUpload("alice", "two.txt", "second file");
  MustUpload("bob", "bobs.txt", "not alice's");

  grpc::ClientContext list_ctx;
  v1::ListFilesRequest list;
  list.set_owner("alice");
  v1::ListFilesResponse files;
  ASSERT_TRUE(stub().files->ListFiles(&list_ctx, list, &files).ok());
  ASSERT_EQ(files.files_size(), 2);
  EXPECT_EQ(files.files(0).id(), second.id());  // newest first
  EXPECT_EQ(files.files(1).id(), first.id());
  EXPECT_EQ(files.files(1).name(), "one.txt");
  EXPECT_EQ(files.files(1).size(), 10);

  grpc::ClientContext get_ctx;
  v1::GetFileRequest get;
  get.set_owner("alice");
  get.set_id(first.id());
  v1::FileInfo got;
  ASSERT_TRUE(stub().files->GetFile(&get_ctx, get, &got).ok());
  EXPECT_EQ(got.sha256(), first.sha256());
  EXPECT_EQ(got.status(), "Uploaded");

  grpc::ClientContext del_ctx;
  v1::DeleteFileRequest del;
  del.set_owner("alice");
  del.set_id(first.id());
  v1::DeleteFileResponse deleted;
  ASSERT_TRUE(stub().files->DeleteFile(&del_ctx, del, &deleted).ok());
  EXPECT_EQ(DownloadFile("alice", first.id()).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FilesOf("alice").size(), 1u);
}

}  // namespace
}  // namespace nexus::daemon
