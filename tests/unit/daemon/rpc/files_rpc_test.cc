// FilesRpc end to end through its stub: uploads (raw data messages, late
// paths, declared sizes, cancellation, quota), downloads (ranges, message
// sizes, data loss, cancellation), and the per-user shares and idle watchdog
// of the long calls.
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
  EXPECT_EQ(up.info.sha256(), storage::Sha256::HexDigest(data));
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
  EXPECT_EQ(storage::Sha256::HexDigest(down.data), storage::Sha256::HexDigest(data));
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
  EXPECT_EQ(up.info.sha256(), storage::Sha256::HexDigest(data));
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
  SQLite::Statement grow(*db_, "UPDATE file_chunks SET size = ? WHERE file_id = ?");
  grow.bind(1, int64_t{1} << 50);
  grow.bind(2, info.id());
  ASSERT_EQ(grow.exec(), 1);

  DownloadOutcome down = DownloadFile("alice", info.id());
  EXPECT_EQ(down.headers, 0);
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(down.status.error_message(), "internal error");
  EXPECT_EQ(nexus::testing::ThreadsNamed("download"), 0);
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
  EXPECT_EQ(nexus::testing::ThreadsNamed("download"), 0);
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
  EXPECT_EQ(nexus::testing::ThreadsNamed("download"), 0);
  // It stopped reading ahead: 1 MiB sent, about 3 more read, not the 8.
  EXPECT_LT(chunks_->reads(), static_cast<int>(chunk_files));
}

// ---- shares of the long calls -------------------------------------------------------

// A download whose client reads the header, then nothing: it stays in the
// server's Write (NarrowStub), holding its slot.
struct HeldDownload {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::DownloadResponse>> reader;

  void End() {
    if (!reader) return;
    ctx.TryCancel();
    v1::DownloadResponse msg;
    while (reader->Read(&msg)) {
    }
    reader->Finish();
    reader.reset();
  }
};

// Small shares, so a test reaches them with a few calls.
class DaemonRpcSharesTest : public DaemonRpcTest {
 protected:
  CallLimits Limits() const override {
    CallLimits l;
    l.downloads = {3, 2};
    l.uploads = {3, 2};
    return l;
  }

  // A file of tens of MiB, in messages nexusd accepts.
  v1::FileInfo MustUploadLarge(const std::string& owner, const std::string& name,
                               const std::string& data) {
    UploadOutcome up = Upload(Header(owner, name), Split(data, data.size() / (2 << 20) + 1));
    EXPECT_TRUE(up.status.ok()) << up.status.error_message();
    return up.info;
  }

  std::unique_ptr<HeldDownload> HoldDownload(DaemonStubs& narrow, const std::string& owner,
                                             const std::string& id) {
    auto held = std::make_unique<HeldDownload>();
    v1::DownloadFileRequest req;
    req.set_owner(owner);
    req.set_id(id);
    held->reader = narrow.files->DownloadFile(&held->ctx, req);
    v1::DownloadResponse header;
    EXPECT_TRUE(held->reader->Read(&header) && header.has_header()) << owner;
    return held;
  }

  // Downloads `id` until it is served whole (a slot given back becomes free
  // once the server is done with its call); false after a few seconds.
  bool DownloadsOnceFree(const std::string& owner, const std::string& id,
                         const std::string& expect) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      DownloadOutcome again = DownloadFile(owner, id);
      if (again.status.ok()) return again.data == expect;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

TEST_F(DaemonRpcSharesTest, DownloadsBeyondAUsersShareAreRateLimitedWhileOtherUsersDownload) {
  // Big enough that a download whose client reads nothing stays running.
  const std::string alice_data = RandomBytes(32 << 20, 13);
  const std::string& bob_data = alice_data;  // stored once (dedup), owned twice
  v1::FileInfo alice_file = MustUploadLarge("alice", "popular.bin", alice_data);
  v1::FileInfo bob_file = MustUploadLarge("bob", "own.bin", bob_data);
  auto narrow = NarrowStub();
  std::vector<std::unique_ptr<HeldDownload>> alice;
  for (int i = 0; i < 2; ++i) alice.push_back(HoldDownload(*narrow, "alice", alice_file.id()));

  // Alice's share is taken: her next download is refused before any header.
  DownloadOutcome refused = DownloadFile("alice", alice_file.id());
  ExpectRateLimited(refused.status, "for this user");
  EXPECT_EQ(refused.headers, 0);
  // Bob's is served, whole.
  DownloadOutcome bobs = DownloadFile("bob", bob_file.id());
  ASSERT_TRUE(bobs.status.ok()) << bobs.status.error_message();
  EXPECT_TRUE(bobs.data == bob_data);
  // With one of Bob's held too the server is at its cap of 3: Bob, within his
  // share, hears that the server is full.
  auto bob_held = HoldDownload(*narrow, "bob", bob_file.id());
  ExpectRateLimited(DownloadFile("bob", bob_file.id()).status, "the server");
  // The held downloads leave the other calls their threads.
  {
    grpc::ClientContext ctx;
    v1::HealthResponse health;
    EXPECT_TRUE(stub().health->Check(&ctx, v1::HealthRequest(), &health).ok());
  }
  UploadOutcome other = Upload(Header("carol", "meanwhile.txt"), {"uploaded meanwhile"});
  EXPECT_TRUE(other.status.ok()) << other.status.error_message();

  // One of Alice's ends: its slot comes back to her.
  alice.back()->End();
  alice.pop_back();
  EXPECT_TRUE(DownloadsOnceFree("alice", alice_file.id(), alice_data));
  for (auto& held : alice) held->End();
  bob_held->End();
}

TEST_F(DaemonRpcSharesTest, UploadsBeyondAUsersShareAreRateLimitedWhileOtherUsersUpload) {
  struct Open {
    grpc::ClientContext ctx;
    v1::FileInfo info;
    std::unique_ptr<grpc::ClientWriter<v1::UploadFileRequest>> writer;
  };
  std::vector<std::unique_ptr<Open>> alice;
  for (int i = 0; i < 2; ++i) {
    auto open = std::make_unique<Open>();
    open->writer = stub().files->UploadFile(&open->ctx, &open->info);
    v1::UploadFileRequest msg;
    *msg.mutable_header() = Header("alice", "slow" + std::to_string(i) + ".bin");
    ASSERT_TRUE(open->writer->Write(msg));
    msg.set_data("the first part");
    ASSERT_TRUE(open->writer->Write(msg));
    alice.push_back(std::move(open));
  }
  // The server admits each upload once it has read its header, in its own
  // time: wait until both hold their slot. (Probing with a third upload
  // instead would race them for a slot.)
  for (int attempt = 0; attempt < 1000 && server_->admission().uploads.in_use_by("alice") < 2;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(server_->admission().uploads.in_use_by("alice"), 2);
  grpc::Status probe = Upload(Header("alice", "probe.bin"), {"probe"}).status;
  ExpectRateLimited(probe, "uploads");
  UploadOutcome bob = Upload(Header("bob", "meanwhile.txt"), {"bob's bytes"});
  EXPECT_TRUE(bob.status.ok()) << bob.status.error_message();

  // Alice's two finish normally, and her slots are free again.
  for (auto& open : alice) {
    open->writer->WritesDone();
    grpc::Status done = open->writer->Finish();
    EXPECT_TRUE(done.ok()) << done.error_message();
  }
  UploadOutcome after = Upload(Header("alice", "after.bin"), {"after"});
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
  size_t slow = 0;
  for (const auto& f : FilesOf("alice")) slow += f.name.rfind("slow", 0) == 0;
  EXPECT_EQ(slow, 2u);
}

// A short idle timeout and one slot per user, so a stalled stream's slot is
// visibly given back.
class DaemonRpcIdleTest : public DaemonRpcSharesTest {
 protected:
  CallLimits Limits() const override {
    CallLimits l;
    l.downloads = {2, 1};
    l.uploads = {2, 1};
    l.stream_idle_timeout = std::chrono::milliseconds(200);
    return l;
  }
};

TEST_F(DaemonRpcIdleTest, AnUploadWhoseClientStallsIsCancelledAndKeepsNothing) {
  grpc::ClientContext ctx;
  v1::FileInfo info;
  auto writer = stub().files->UploadFile(&ctx, &info);
  v1::UploadFileRequest msg;
  *msg.mutable_header() = Header("alice", "stalled.bin");
  ASSERT_TRUE(writer->Write(msg));
  msg.set_data(RandomBytes(300 << 10, 5));  // several chunks stored
  ASSERT_TRUE(writer->Write(msg));
  // Then nothing more: the server gives up on it, and Alice's one slot is
  // free for her next upload.
  bool uploaded = false;
  for (int attempt = 0; attempt < 500 && !uploaded; ++attempt) {
    uploaded = Upload(Header("alice", "next.bin"), {"next"}).status.ok();
    if (!uploaded) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(uploaded);
  // The stalled upload ended cancelled and left nothing.
  EXPECT_FALSE(writer->Finish().ok());
  std::vector<storage::FileRecord> files = FilesOf("alice");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "next.bin");
  EXPECT_TRUE(chunks_->WaitForRemoves(1));
}

TEST_F(DaemonRpcIdleTest, ADownloadWhoseClientStopsReadingIsCancelledAndItsSlotFreed) {
  const std::string data = RandomBytes(32 << 20, 21);
  v1::FileInfo file = MustUploadLarge("alice", "big.bin", data);
  auto narrow = NarrowStub();
  std::unique_ptr<HeldDownload> held = HoldDownload(*narrow, "alice", file.id());
  EXPECT_TRUE(DownloadsOnceFree("alice", file.id(), data));
  // The stalled one was ended by the server: what its client reads now
  // breaks off short of the file.
  v1::DownloadResponse msg;
  size_t got = 0;
  while (held->reader->Read(&msg)) got += msg.data().size();
  EXPECT_FALSE(held->reader->Finish().ok());
  EXPECT_LT(got, data.size());
  held->reader.reset();
}

}  // namespace
}  // namespace nexus::daemon
