// FilesRpc end to end through its stub, when things go wrong: uploads refused
// (no header, wrong declared size, quota) or cancelled, and downloads that
// lose data, throw or are cancelled; none of them leaves anything behind.
#include "daemon/rpc/files_rpc.h"
#include "unit/daemon/rpc/rpc_test_bench.h"

namespace nexus::daemon {
namespace {

using namespace rpc_bench;  // NOLINT: the bench of this folder

TEST_F(DaemonRpcTest, UploadWithoutAHeaderFirstIsInvalidArgument) {
  grpc::ClientContext ctx;
  v1::FileInfo info;
  auto writer = stub().files->UploadFile(&ctx, &info);
  v1::UploadFileRequest msg;
  msg.set_data("data before any header");
  writer->Write(msg);
  writer->WritesDone();
  grpc::Status data_first = writer->Finish();

  grpc::ClientContext empty_ctx;
  auto empty = stub().files->UploadFile(&empty_ctx, &info);
  empty->WritesDone();
  grpc::Status no_message = empty->Finish();

  grpc::ClientContext twice_ctx;
  auto twice = stub().files->UploadFile(&twice_ctx, &info);
  v1::UploadFileRequest header;
  *header.mutable_header() = Header("alice", "b.txt");
  twice->Write(header);
  twice->Write(header);
  twice->WritesDone();
  grpc::Status second_header = twice->Finish();

  for (const grpc::Status& s : {data_first, no_message, second_header}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(FilesOf("alice").empty());
}

TEST_F(DaemonRpcTest, UploadShorterOrLongerThanDeclaredIsRefusedAndLeavesNothing) {
  const std::string data = RandomBytes(200 << 10, 7);
  const int64_t declared[] = {static_cast<int64_t>(data.size()) + 1,
                              static_cast<int64_t>(data.size()) - 1};
  for (int64_t size : declared) {
    UploadOutcome up = Upload(Header("alice", "x.bin", "", size), Split(data, 4));
    EXPECT_EQ(up.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << size << ": " << up.status.error_message();
  }
  server_->Stop();
  EXPECT_TRUE(FilesOf("alice").empty());
  EXPECT_EQ(CountFiles(chunks_dir_), 0u);
}

TEST_F(DaemonRpcTest, CancelledUploadLeavesNoFileAndNoChunks) {
  grpc::ClientContext ctx;
  v1::FileInfo info;
  auto writer = stub().files->UploadFile(&ctx, &info);
  v1::UploadFileRequest msg;
  *msg.mutable_header() = Header("alice", "cancelled.bin");
  ASSERT_TRUE(writer->Write(msg));
  const std::string data = RandomBytes(1 << 20, 8);
  msg.set_data(data);
  ASSERT_TRUE(writer->Write(msg));
  // The server has stored chunks of the upload before the client gives up.
  ASSERT_TRUE(chunks_->WaitForPuts(2));
  ASSERT_GT(CountFiles(chunks_dir_), 0u);
  ctx.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);

  server_->Stop();  // waits for the handler's cleanup
  EXPECT_TRUE(FilesOf("alice").empty());
  EXPECT_EQ(CountFiles(chunks_dir_), 0u);
}

TEST_F(DaemonRpcTest, QuotaExceededIsReportedAndLeavesNothing) {
  quota_ = 100 << 10;
  MustUpload("alice", "fits.bin", RandomBytes(60 << 10, 9));
  const size_t chunks_before = CountFiles(chunks_dir_);
  const std::string big = RandomBytes(200 << 10, 10);
  struct Case {
    const char* name;
    int64_t declared;
  } cases[] = {
      {"size unknown: fails while streaming or at commit", -1},
      {"size declared: fails before storing", static_cast<int64_t>(big.size())},
  };
  for (const Case& tc : cases) {
    UploadOutcome up = Upload(Header("alice", "big.bin", "", tc.declared), Split(big, 4));
    EXPECT_EQ(up.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << tc.name;
    EXPECT_EQ(FromGrpcStatus(up.status).code(), StatusCode::kQuotaExceeded) << tc.name;
  }
  server_->Stop();
  EXPECT_EQ(FilesOf("alice").size(), 1u);
  EXPECT_EQ(CountFiles(chunks_dir_), chunks_before);
}

TEST_F(DaemonRpcTest, DataLossInTheFirstMessageFailsTheCallBeforeTheHeader) {
  const std::string data = RandomBytes(300 << 10, 11);
  v1::FileInfo info = MustUpload("alice", "lost.bin", data);
  // Remove the last chunk file behind the store's back.
  std::vector<std::string> hashes;
  ASSERT_TRUE(fs_chunks_->List([&](const std::string& h) { hashes.push_back(h); }).ok());
  ASSERT_GT(hashes.size(), 1u);
  auto chunks = metadata_->ChunksForRange(info.id(), info.size() - 1, 1);
  ASSERT_TRUE(chunks.ok());
  const std::string lost = chunks->back().hash;
  ASSERT_TRUE(fs::remove(fs_chunks_->PathOf(lost)));

  // The whole file fits in the first message, so the loss shows before the
  // header would go: nothing is sent but the error, which the gateway can
  // still answer as a 500.
  DownloadOutcome down = DownloadFile("alice", info.id());
  EXPECT_EQ(down.headers, 0);
  EXPECT_TRUE(down.data.empty());
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(FromGrpcStatus(down.status).code(), StatusCode::kInternal);
  EXPECT_EQ(down.status.error_message(), "internal error");
}

TEST_F(DaemonRpcTest, AnExceptionWhileReadingFailsTheDownloadNotTheDaemon) {
  const std::string data = RandomBytes(1000, 15);
  v1::FileInfo info = MustUpload("alice", "huge.bin", data);
  // A chunk size no buffer can be made for: reading it throws bad_alloc on
  // the download's own thread, where an escaping exception ends the process.
  SQLite::Statement grow(*metadata_db_, "UPDATE file_chunks SET size = ? WHERE file_id = ?");
  grow.bind(1, int64_t{1} << 50);
  grow.bind(2, info.id());
  ASSERT_EQ(grow.exec(), 1);

  DownloadOutcome down = DownloadFile("alice", info.id());
  EXPECT_EQ(down.headers, 0);
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(down.status.error_message(), "internal error");
  EXPECT_EQ(nexus::testing::ThreadsNamedAfterJoins("download"), 0);
}

TEST_F(DaemonRpcTest, DataLossAfterSomeMessagesSendsThoseMessagesThenTheError) {
  // Chunks of at most 256 KiB: the last one lies wholly in the third MiB, so
  // the first two messages are complete before the loss shows.
  const std::string data = RandomBytes(3 << 20, 14);
  v1::FileInfo info = MustUpload("alice", "half-lost.bin", data);
  auto chunks = metadata_->ChunksForRange(info.id(), info.size() - 1, 1);
  ASSERT_TRUE(chunks.ok());
  ASSERT_TRUE(fs::remove(fs_chunks_->PathOf(chunks->back().hash)));

  DownloadOutcome down = DownloadFile("alice", info.id());
  EXPECT_EQ(down.headers, 1);
  EXPECT_EQ(down.data_sizes, (std::vector<size_t>{kDownloadMessageBytes, kDownloadMessageBytes}));
  EXPECT_TRUE(down.data == data.substr(0, 2 * kDownloadMessageBytes));
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(down.status.error_message(), "internal error");
  // The status came after the server let go of everything: no reading
  // thread is left, and no lease holds back the chunks' removal.
  EXPECT_EQ(nexus::testing::ThreadsNamedAfterJoins("download"), 0);
  ASSERT_TRUE(files_->Delete("alice", info.id()).ok());
  EXPECT_EQ(CountFiles(chunks_dir_), 0u);
}

TEST_F(DaemonRpcTest, ADownloadCancelledMidStreamStopsReadingAndReleasesEverything) {
  // Dozens of chunks, read through a narrow window: the server is blocked in
  // a Write with more of the file still to read when the client goes away.
  const std::string data = RandomBytes(8 << 20, 12);
  v1::FileInfo info = MustUpload("alice", "gone.bin", data);
  const size_t chunk_files = CountFiles(chunks_dir_);
  ASSERT_GT(chunk_files, 32u);
  auto slow = NarrowStub();
  {
    grpc::ClientContext ctx;
    v1::DownloadFileRequest req;
    req.set_owner("alice");
    req.set_id(info.id());
    auto reader = slow->files->DownloadFile(&ctx, req);
    v1::DownloadResponse msg;
    ASSERT_TRUE(reader->Read(&msg));
    ASSERT_TRUE(msg.has_header());
    ASSERT_TRUE(reader->Read(&msg));
    ASSERT_TRUE(msg.has_data());
    ctx.TryCancel();
    while (reader->Read(&msg)) {
    }
    reader->Finish();  // CANCELLED: our own doing, so it proves nothing here
  }
  // The file goes while the download may still hold its chunks: their removal
  // waits for the download's reader to let go of them, which it does only
  // once its reading thread has ended. The server keeps running throughout.
  ASSERT_TRUE(files_->Delete("alice", info.id()).ok());
  ASSERT_TRUE(chunks_->WaitForRemoves(chunk_files)) << "the cancelled download kept its chunks";
  EXPECT_EQ(CountFiles(chunks_dir_), 0u);
  EXPECT_EQ(nexus::testing::ThreadsNamedAfterJoins("download"), 0);
  // It stopped reading ahead: 1 MiB sent, about 3 more read, not the 8.
  EXPECT_LT(chunks_->reads(), static_cast<int>(chunk_files));
}

}  // namespace
}  // namespace nexus::daemon
