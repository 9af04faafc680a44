// DaemonService end to end through its generated stub: a real gRPC server on
// a Unix socket in a temp dir, configured as nexusd configures it
// (ConfigureServer), over a real FileService/TreeService on a temp database
// and chunk directory. Lambda runs against a fake runc, plus one run through
// LambdaRunner::ForHost (real runc as root; UNAVAILABLE otherwise). Node RPCs
// run over a NodeManager on the nodes fakes (tests/support/nodes_fakes.h),
// plus NodeManager::ForHost without its runtime (UNAVAILABLE).
#include "daemon/rpc/service.h"

#include <SQLiteCpp/Statement.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_status.h"
#include "daemon/lambda/lambda.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/rpc/grpc_unix_listener.h"
#include "daemon/rpc/health.h"
#include "daemon/rpc/unix_socket.h"
#include "daemon/runtime/process.h"
#include "daemon/storage/fs_chunk_store.h"
#include "daemon/storage/sha256.h"
#include "support/fake_clock.h"
#include "support/nodes_fakes.h"
#include "support/runtime_fake_oci.h"
#include "support/thread_names.h"
#include "unit/daemon/temp_dir.h"
#include "unit/daemon/test_database.h"

namespace nexus::daemon {
namespace {

namespace fs = std::filesystem;
using storage::ChunkerParams;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

// Cuts `data` into `n` nearly equal parts (the data messages of an upload).
std::vector<std::string> Split(const std::string& data, size_t n) {
  std::vector<std::string> parts;
  const size_t step = (data.size() + n - 1) / n;
  for (size_t at = 0; at < data.size(); at += step) parts.push_back(data.substr(at, step));
  return parts;
}

size_t CountFiles(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

// A ChunkStore that lets a test wait until an upload has stored chunks, so a
// cancellation provably happens after data reached the disk, or until chunks
// were removed (their last lease released); it also counts the chunk reads.
class NotifyingChunkStore final : public storage::ChunkStore {
 public:
  explicit NotifyingChunkStore(storage::ChunkStore& inner) : inner_(inner) {}

  Result<bool> Put(const std::string& hash, std::string_view bytes) override {
    Result<bool> r = inner_.Put(hash, bytes);
    std::lock_guard lock(mu_);
    ++puts_;
    changed_.notify_all();
    return r;
  }
  Result<bool> Has(const std::string& hash) override { return inner_.Has(hash); }
  Result<std::string> Get(const std::string& hash) override { return inner_.Get(hash); }
  Status ReadInto(const std::string& hash, std::span<char> out) override {
    reads_.fetch_add(1);
    return inner_.ReadInto(hash, out);
  }
  Status Sync(const std::vector<std::string>& hashes) override { return inner_.Sync(hashes); }
  Status Remove(const std::string& hash) override {
    Status s = inner_.Remove(hash);
    std::lock_guard lock(mu_);
    ++removes_;
    changed_.notify_all();
    return s;
  }
  Status List(const std::function<void(const std::string&)>& fn) override {
    return inner_.List(fn);
  }
  Result<storage::SweepStats> Sweep(const std::function<bool(const std::string&)>& keep) override {
    return inner_.Sweep(keep);
  }

  bool WaitForPuts(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return puts_ >= n; });
  }
  bool WaitForRemoves(size_t n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return removes_ >= n; });
  }
  int reads() const { return reads_.load(); }

 private:
  storage::ChunkStore& inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  int puts_ = 0;
  size_t removes_ = 0;
  std::atomic<int> reads_{0};
};

// The service on a Unix socket, served as nexusd serves it: its server
// settings and its listener.
class TestServer {
 public:
  TestServer(const std::string& socket_path, DaemonService::Deps deps,
             const CallLimits& limits = CallLimits{})
      : service_(deps, limits) {
    if (!ClearStaleSocket(socket_path).ok()) return;
    auto listener = GrpcUnixListener::Bind(socket_path, 0600);
    if (!listener.ok()) return;
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    ConfigureServer(builder, limits);
    server_ = builder.BuildAndStart();
    if (!server_ || !(*listener)->Start(server_.get()).ok()) {
      server_.reset();
      return;
    }
    listener_ = std::move(listener).value();
    stub_ = v1::Daemon::NewStub(
        grpc::CreateChannel("unix:" + socket_path, grpc::InsecureChannelCredentials()));
  }
  ~TestServer() { Stop(); }

  bool started() const { return server_ != nullptr; }
  v1::Daemon::Stub& stub() { return *stub_; }
  // Waits for every call in progress to finish on the server side.
  void Stop() {
    if (!server_) return;
    listener_->Stop();
    server_->Shutdown();
    server_->Wait();
    server_.reset();
  }

 private:
  DaemonService service_;
  std::unique_ptr<GrpcUnixListener> listener_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Daemon::Stub> stub_;
};

struct UploadOutcome {
  grpc::Status status;
  v1::FileInfo info;
};

struct DownloadOutcome {
  grpc::Status status;
  bool header_first = false;  // the first message was the header
  int headers = 0;
  v1::DownloadHeader header;
  std::string data;
  std::vector<size_t> data_sizes;
};

v1::UploadHeader Header(const std::string& owner, const std::string& name,
                        const std::string& vfs_path = "", int64_t declared_size = -1) {
  v1::UploadHeader h;
  h.set_owner(owner);
  h.set_file_name(name);
  h.set_vfs_path(vfs_path);
  h.set_declared_size(declared_size);
  return h;
}

v1::ByteRange Range(int64_t offset, int64_t length) {
  v1::ByteRange r;
  r.set_offset(offset);
  r.set_length(length);
  return r;
}

class DaemonRpcTest : public ::testing::Test {
 protected:
  // Small chunks: a file of a few hundred KiB has several.
  virtual ChunkerParams Chunking() const { return {16 << 10, 64 << 10, 256 << 10}; }
  virtual CallLimits Limits() const { return CallLimits{}; }

  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_);
    ASSERT_TRUE(db_);
    metadata_db_ = testing::OpenTestDatabase(dir_);
    ASSERT_TRUE(metadata_db_);
    health_ = std::make_unique<Health>(*db_);
    metadata_ = std::make_unique<storage::MetadataStore>(*metadata_db_, clock_);
    chunks_dir_ = dir_.File("chunks");
    auto chunks = storage::FsChunkStore::Open(chunks_dir_);
    ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
    fs_chunks_ = std::move(chunks).value();
    chunks_ = std::make_unique<NotifyingChunkStore>(*fs_chunks_);
    files_ = std::make_unique<storage::FileService>(
        *chunks_, *metadata_,
        storage::FileServiceOptions{.chunker = Chunking(), .quota_for = [this](const std::string&) {
                                      return quota_.load();
                                    }});
    tree_store_ = std::make_unique<storage::TreeStore>(*metadata_);
    tree_ = std::make_unique<storage::TreeService>(*files_, *tree_store_);
    server_ = std::make_unique<TestServer>(
        dir_.File("d.sock"),
        DaemonService::Deps{.health = health_.get(), .files = files_.get(), .tree = tree_.get()},
        Limits());
    ASSERT_TRUE(server_->started());
  }

  void TearDown() override { server_.reset(); }

  v1::Daemon::Stub& stub() { return server_->stub(); }

  UploadOutcome Upload(const v1::UploadHeader& header, const std::vector<std::string>& parts) {
    grpc::ClientContext ctx;
    UploadOutcome out;
    auto writer = stub().UploadFile(&ctx, &out.info);
    v1::UploadFileRequest msg;
    *msg.mutable_header() = header;
    bool open = writer->Write(msg);
    for (size_t i = 0; open && i < parts.size(); ++i) {
      msg.set_data(parts[i]);
      open = writer->Write(msg);
    }
    writer->WritesDone();
    out.status = writer->Finish();
    return out;
  }

  UploadOutcome SendMessages(const std::vector<v1::UploadFileRequest>& messages) {
    grpc::ClientContext ctx;
    UploadOutcome out;
    auto writer = stub().UploadFile(&ctx, &out.info);
    for (size_t i = 0; i < messages.size() && writer->Write(messages[i]); ++i) {
    }
    writer->WritesDone();
    out.status = writer->Finish();
    return out;
  }

  v1::FileInfo MustUpload(const std::string& owner, const std::string& name,
                          const std::string& data, const std::string& vfs_path = "") {
    UploadOutcome up = Upload(Header(owner, name, vfs_path), Split(data, 3));
    EXPECT_TRUE(up.status.ok()) << up.status.error_message();
    return up.info;
  }

  static DownloadOutcome Drain(grpc::ClientReader<v1::DownloadResponse>& reader) {
    DownloadOutcome out;
    v1::DownloadResponse msg;
    bool first = true;
    while (reader.Read(&msg)) {
      if (msg.has_header()) {
        out.header_first = first;
        ++out.headers;
        out.header = msg.header();
      } else {
        out.data += msg.data();
        out.data_sizes.push_back(msg.data().size());
      }
      first = false;
    }
    out.status = reader.Finish();
    return out;
  }

  DownloadOutcome DownloadFile(const std::string& owner, const std::string& id,
                               const v1::ByteRange* range = nullptr) {
    grpc::ClientContext ctx;
    v1::DownloadFileRequest req;
    req.set_owner(owner);
    req.set_id(id);
    if (range) *req.mutable_range() = *range;
    auto reader = stub().DownloadFile(&ctx, req);
    return Drain(*reader);
  }

  DownloadOutcome DownloadPath(const std::string& owner, const std::string& path,
                               const v1::ByteRange* range = nullptr) {
    grpc::ClientContext ctx;
    v1::DownloadPathRequest req;
    req.set_owner(owner);
    req.set_path(path);
    if (range) *req.mutable_range() = *range;
    auto reader = stub().DownloadPath(&ctx, req);
    return Drain(*reader);
  }

  // A client that takes little at a time (no window growth), so a download
  // it does not read stays blocked in the server's Write, never completing
  // into the client's buffers.
  std::unique_ptr<v1::Daemon::Stub> NarrowStub() {
    grpc::ChannelArguments narrow;
    narrow.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    narrow.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
    return v1::Daemon::NewStub(grpc::CreateCustomChannel(
        "unix:" + dir_.File("d.sock"), grpc::InsecureChannelCredentials(), narrow));
  }

  std::vector<storage::FileRecord> FilesOf(const std::string& owner) {
    auto list = files_->List(owner);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    return list.ok() ? *list : std::vector<storage::FileRecord>{};
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::atomic<int64_t> quota_{storage::kUnlimitedQuota};
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<SQLite::Database> metadata_db_;
  std::unique_ptr<Health> health_;
  std::unique_ptr<storage::MetadataStore> metadata_;
  std::string chunks_dir_;
  std::unique_ptr<storage::FsChunkStore> fs_chunks_;
  std::unique_ptr<NotifyingChunkStore> chunks_;
  std::unique_ptr<storage::FileService> files_;
  std::unique_ptr<storage::TreeStore> tree_store_;
  std::unique_ptr<storage::TreeService> tree_;
  std::unique_ptr<TestServer> server_;  // last: stopped before the rest goes
};

// Chunks of 1-4 MiB, so downloads must split chunks into messages.
class DaemonRpcLargeChunkTest : public DaemonRpcTest {
 protected:
  ChunkerParams Chunking() const override { return {1 << 20, 2 << 20, 4 << 20}; }
};

// ---- health and unwired RPCs ---------------------------------------------------

TEST_F(DaemonRpcTest, HealthAnswersOkWhenTheDatabaseIsUsable) {
  grpc::ClientContext ctx;
  v1::HealthResponse resp;
  grpc::Status s = stub().Health(&ctx, v1::HealthRequest(), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.status(), "ok");
}

TEST_F(DaemonRpcTest, HealthAnswersUnavailableWhenTheSchemaIsGone) {
  db_->exec("DROP TABLE schema_migrations");
  grpc::ClientContext ctx;
  v1::HealthResponse resp;
  grpc::Status s = stub().Health(&ctx, v1::HealthRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnavailable);
}

TEST_F(DaemonRpcTest, HealthAnswersWhileUploadsStallMidStream) {
  // Each open upload holds a server thread until its stream ends.
  constexpr int kStalled = 8;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientWriter<v1::UploadFileRequest>>> writers;
  v1::FileInfo info;
  for (int i = 0; i < kStalled; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    writers.push_back(stub().UploadFile(contexts.back().get(), &info));
    v1::UploadFileRequest msg;
    *msg.mutable_header() = Header("alice", "slow" + std::to_string(i));
    ASSERT_TRUE(writers.back()->Write(msg));
    msg.set_data("a first few bytes");
    ASSERT_TRUE(writers.back()->Write(msg));
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::HealthResponse resp;
  grpc::Status s = stub().Health(&ctx, v1::HealthRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (auto& ctx : contexts) ctx->TryCancel();
  for (auto& w : writers) EXPECT_EQ(w->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(DaemonRpcTest, NodeRpcsAnswerUnimplementedWithTheNexusCode) {
  v1::CreateNodeRequest create;
  create.set_owner("alice");
  v1::Node node;
  grpc::ClientContext c1;
  grpc::Status s1 = stub().CreateNode(&c1, create, &node);
  v1::ListNodesRequest list;
  list.set_owner("alice");
  v1::ListNodesResponse nodes;
  grpc::ClientContext c2;
  grpc::Status s2 = stub().ListNodes(&c2, list, &nodes);
  for (const grpc::Status& s : {s1, s2}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnimplemented);
  }
}

TEST(DaemonServiceWithoutDomainTest, RpcsWhoseDomainObjectIsAbsentAnswerUnimplemented) {
  testing::TempDir dir;
  auto db = testing::OpenTestDatabase(dir);
  ASSERT_TRUE(db);
  Health health(*db);
  DaemonService service({.health = &health});
  v1::ListFilesRequest files_req;
  files_req.set_owner("alice");
  v1::ListFilesResponse files;
  v1::GetUsageRequest usage_req;
  usage_req.set_owner("alice");
  v1::Usage usage;
  v1::RunLambdaRequest lambda_req;
  lambda_req.set_owner("alice");
  v1::RunLambdaResponse lambda;
  const grpc::Status cases[] = {
      service.ListFiles(nullptr, &files_req, &files),
      service.GetUsage(nullptr, &usage_req, &usage),
      service.RunLambda(nullptr, &lambda_req, &lambda),
  };
  for (const grpc::Status& s : cases) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnimplemented);
  }
}

// ---- owner -----------------------------------------------------------------------

TEST_F(DaemonRpcTest, EveryRpcRefusesAnEmptyOwner) {
  auto unary = [&](auto call) {
    grpc::ClientContext ctx;
    return call(ctx);
  };
  struct Case {
    const char* rpc;
    grpc::Status status;
  } cases[] = {
      {"UploadFile", Upload(Header("", "a.txt"), {"abc"}).status},
      {"ListFiles", unary([&](grpc::ClientContext& c) {
         v1::ListFilesResponse r;
         return stub().ListFiles(&c, v1::ListFilesRequest(), &r);
       })},
      {"GetFile", unary([&](grpc::ClientContext& c) {
         v1::GetFileRequest q;
         q.set_id("x");
         v1::FileInfo r;
         return stub().GetFile(&c, q, &r);
       })},
      {"DeleteFile", unary([&](grpc::ClientContext& c) {
         v1::DeleteFileRequest q;
         q.set_id("x");
         v1::DeleteFileResponse r;
         return stub().DeleteFile(&c, q, &r);
       })},
      {"DownloadFile", DownloadFile("", "x").status},
      {"DownloadPath", DownloadPath("", "/a").status},
      {"MakeDirectory", unary([&](grpc::ClientContext& c) {
         v1::MakeDirectoryRequest q;
         q.set_path("/a");
         v1::MakeDirectoryResponse r;
         return stub().MakeDirectory(&c, q, &r);
       })},
      {"ListDirectory", unary([&](grpc::ClientContext& c) {
         v1::ListDirectoryRequest q;
         q.set_path("/");
         v1::ListDirectoryResponse r;
         return stub().ListDirectory(&c, q, &r);
       })},
      {"DeletePath", unary([&](grpc::ClientContext& c) {
         v1::DeletePathRequest q;
         q.set_path("/a");
         v1::DeletePathResponse r;
         return stub().DeletePath(&c, q, &r);
       })},
      {"MovePath", unary([&](grpc::ClientContext& c) {
         v1::MovePathRequest q;
         q.set_old_path("/a");
         q.set_new_path("/b");
         v1::MovePathResponse r;
         return stub().MovePath(&c, q, &r);
       })},
      {"GetUsage", unary([&](grpc::ClientContext& c) {
         v1::Usage r;
         return stub().GetUsage(&c, v1::GetUsageRequest(), &r);
       })},
  };
  for (const Case& tc : cases) {
    EXPECT_EQ(tc.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << tc.rpc << ": " << tc.status.error_message();
    EXPECT_EQ(FromGrpcStatus(tc.status).code(), StatusCode::kInvalidArgument) << tc.rpc;
  }
  EXPECT_EQ(CountFiles(chunks_dir_), 0u);
}

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
  grpc::Status get_status = stub().GetFile(&get_ctx, get, &got);

  grpc::ClientContext del_ctx;
  v1::DeleteFileRequest del;
  del.set_owner("mallory");
  del.set_id(info.id());
  v1::DeleteFileResponse deleted;
  grpc::Status del_status = stub().DeleteFile(&del_ctx, del, &deleted);

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
  ASSERT_TRUE(stub().ListFiles(&list_ctx, list, &files).ok());
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
  ASSERT_TRUE(stub().GetFile(&get_ctx, get, &got).ok());
  EXPECT_EQ(got.sha256(), first.sha256());
  EXPECT_EQ(got.status(), "Uploaded");

  grpc::ClientContext del_ctx;
  v1::DeleteFileRequest del;
  del.set_owner("alice");
  del.set_id(first.id());
  v1::DeleteFileResponse deleted;
  ASSERT_TRUE(stub().DeleteFile(&del_ctx, del, &deleted).ok());
  EXPECT_EQ(DownloadFile("alice", first.id()).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FilesOf("alice").size(), 1u);
}

TEST_F(DaemonRpcTest, UploadWithoutAHeaderFirstIsInvalidArgument) {
  grpc::ClientContext ctx;
  v1::FileInfo info;
  auto writer = stub().UploadFile(&ctx, &info);
  v1::UploadFileRequest msg;
  msg.set_data("data before any header");
  writer->Write(msg);
  writer->WritesDone();
  grpc::Status data_first = writer->Finish();

  grpc::ClientContext empty_ctx;
  auto empty = stub().UploadFile(&empty_ctx, &info);
  empty->WritesDone();
  grpc::Status no_message = empty->Finish();

  grpc::ClientContext twice_ctx;
  auto twice = stub().UploadFile(&twice_ctx, &info);
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
  auto writer = stub().UploadFile(&ctx, &info);
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
    auto reader = slow->DownloadFile(&ctx, req);
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

// Holds the first `hold` callers until Open(); counts everybody who came.
class Gate {
 public:
  explicit Gate(int hold) : hold_(hold) {}
  ~Gate() { Open(); }

  void Pass() {
    std::unique_lock lock(mu_);
    const bool held = entered_ < hold_;
    ++entered_;
    changed_.notify_all();
    if (held) changed_.wait(lock, [this] { return open_; });
  }
  bool WaitForEntered(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  const int hold_;
  std::mutex mu_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

// The refusal of a call over a share: RESOURCE_EXHAUSTED for a generic
// client, kRateLimited with a retry-after for the gateway (429 + Retry-After).
void ExpectRateLimited(const grpc::Status& s, const std::string& says) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  const Status nexus = FromGrpcStatus(s);
  EXPECT_EQ(nexus.code(), StatusCode::kRateLimited) << nexus.ToString();
  EXPECT_GE(nexus.retry_after_seconds(), 1);
  EXPECT_NE(nexus.message().find(says), std::string::npos) << nexus.message();
}

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

  std::unique_ptr<HeldDownload> HoldDownload(v1::Daemon::Stub& narrow, const std::string& owner,
                                             const std::string& id) {
    auto held = std::make_unique<HeldDownload>();
    v1::DownloadFileRequest req;
    req.set_owner(owner);
    req.set_id(id);
    held->reader = narrow.DownloadFile(&held->ctx, req);
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
    EXPECT_TRUE(stub().Health(&ctx, v1::HealthRequest(), &health).ok());
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
    open->writer = stub().UploadFile(&open->ctx, &open->info);
    v1::UploadFileRequest msg;
    *msg.mutable_header() = Header("alice", "slow" + std::to_string(i) + ".bin");
    ASSERT_TRUE(open->writer->Write(msg));
    msg.set_data("the first part");
    ASSERT_TRUE(open->writer->Write(msg));
    alice.push_back(std::move(open));
  }
  // The server takes the two headers in its own time: a probe is accepted
  // (and stored) until both count.
  grpc::Status probe;
  for (int attempt = 0; attempt < 200; ++attempt) {
    probe = Upload(Header("alice", "probe.bin"), {"probe"}).status;
    if (!probe.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
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
  auto writer = stub().UploadFile(&ctx, &info);
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
    ASSERT_TRUE(stub().MakeDirectory(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.path(), "/photos/2024");
  }
  {  // ls /
    grpc::ClientContext ctx;
    v1::ListDirectoryRequest req;
    req.set_owner("alice");
    req.set_path("/");
    v1::ListDirectoryResponse resp;
    ASSERT_TRUE(stub().ListDirectory(&ctx, req, &resp).ok());
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
    ASSERT_TRUE(stub().ListDirectory(&ctx, req, &resp).ok());
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
    grpc::Status s = stub().MovePath(&ctx, req, &resp);
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
    ASSERT_TRUE(stub().GetUsage(&ctx, req, &usage).ok());
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
    ASSERT_TRUE(stub().DeletePath(&ctx, req, &resp).ok());
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
    return stub().MakeDirectory(&ctx, req, &resp);
  };
  auto rm = [&](const std::string& path) {
    grpc::ClientContext ctx;
    v1::DeletePathRequest req;
    req.set_owner("alice");
    req.set_path(path);
    v1::DeletePathResponse resp;
    return stub().DeletePath(&ctx, req, &resp);
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

// ---- lambda -----------------------------------------------------------------------

class RunLambdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_);
    ASSERT_TRUE(db_);
    health_ = std::make_unique<Health>(*db_);
    options_.runtime_dir = dir_.path() + "/run";
    options_.instance = "svc";
    options_.init_path = NEXUS_LAMBDA_INIT_PATH;
    options_.output_limit_bytes = 100;
    options_.queue_wait_ms = 10000;
    options_.host.entries = {{"usr", ""}};
  }
  void TearDown() override {
    server_.reset();
    runner_.reset();
  }

  void Serve(runtime::LambdaRunner* runner, const CallLimits& limits = CallLimits{}) {
    server_ = std::make_unique<TestServer>(
        dir_.File("d.sock"), DaemonService::Deps{.health = health_.get(), .lambda = runner},
        limits);
    ASSERT_TRUE(server_->started());
  }
  void ServeFake(Status availability = Status::Ok(), const CallLimits& limits = CallLimits{}) {
    runner_ = std::make_unique<runtime::LambdaRunner>(options_, runtime_, cgroups_, availability);
    Serve(runner_.get(), limits);
  }

  grpc::Status Run(const std::string& code, const std::string& rt, v1::RunLambdaResponse* resp,
                   const std::string& owner = "alice") {
    grpc::ClientContext ctx;
    v1::RunLambdaRequest req;
    req.set_owner(owner);
    req.set_code(code);
    req.set_runtime(rt);
    req.set_stdin("input");
    return server_->stub().RunLambda(&ctx, req, resp);
  }

  testing::TempDir dir_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<Health> health_;
  runtime::LambdaOptions options_;
  testing::FakeOciRuntime runtime_;
  testing::FakeCgroupFs cgroups_;
  std::unique_ptr<runtime::LambdaRunner> runner_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(RunLambdaTest, ReturnsEveryFieldOfTheResult) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    testing::FakeProcessScript s;
    s.outcome.control_data = "ready\nsignal 6 21\n";
    s.outcome.stdout_data = std::string(150, 'o');
    s.outcome.stderr_data = "Aborted\n";
    return s;
  };
  ServeFake();
  v1::RunLambdaResponse resp;
  grpc::Status s = Run("import os; os.abort()", "python3", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), std::string(100, 'o'));
  EXPECT_TRUE(resp.stdout_truncated());
  EXPECT_EQ(resp.stderr(), "Aborted\n");
  EXPECT_FALSE(resp.stderr_truncated());
  EXPECT_EQ(resp.exit_code(), 134);
  EXPECT_EQ(resp.signal(), "SIGABRT");
  EXPECT_EQ(resp.execution_time_ms(), 21);
  EXPECT_FALSE(resp.timed_out());
  EXPECT_FALSE(resp.oom_killed());
}

TEST_F(RunLambdaTest, RunsBeyondAUsersShareAreRateLimitedWhileOtherUsersRun) {
  CallLimits limits;
  limits.lambda_runs = {3, 2};
  // Alice's two runs stay in their sandbox's start until the gate opens.
  Gate gate(2);
  runtime_.run_script = [&gate](const std::string&, const std::string&) {
    gate.Pass();
    testing::FakeProcessScript s;
    s.outcome.control_data = "ready\nexit 0 1\n";
    return s;
  };
  ServeFake(Status::Ok(), limits);
  grpc::Status held[2];
  std::vector<std::thread> alice;
  for (grpc::Status& status : held) {
    alice.emplace_back([&] {
      v1::RunLambdaResponse resp;
      status = Run("import time; time.sleep(60)", "python3", &resp, "alice");
    });
  }
  ASSERT_TRUE(gate.WaitForEntered(2));
  v1::RunLambdaResponse resp;
  ExpectRateLimited(Run("print(3)", "python3", &resp, "alice"), "lambda runs");
  grpc::Status bob = Run("print('bob')", "python3", &resp, "bob");
  EXPECT_TRUE(bob.ok()) << bob.error_message();
  gate.Open();
  for (auto& t : alice) t.join();
  for (const grpc::Status& s : held) EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::Status again = Run("print(4)", "python3", &resp, "alice");
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(RunLambdaTest, InvalidRequestsAndEmptyOwnerAreInvalidArgument) {
  ServeFake();
  v1::RunLambdaResponse resp;
  const grpc::Status cases[] = {
      Run("print(1)", "ruby", &resp),
      Run("", "python3", &resp),
      Run("print(1)", "python3", &resp, ""),
  };
  for (const grpc::Status& s : cases) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  }
  EXPECT_TRUE(runtime_.calls().empty());
}

TEST_F(RunLambdaTest, UnavailableRunnerAnswersUnavailable) {
  ServeFake(UnavailableError("lambda is not available (nexusd is not root)"));
  v1::RunLambdaResponse resp;
  grpc::Status s = Run("print(1)", "python3", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnavailable);
}

TEST_F(RunLambdaTest, InternalErrorsReachTheClientWithoutTheirDetails) {
  runtime_.run_script = [](const std::string&, const std::string&) {
    testing::FakeProcessScript s;
    s.spawn_error = InternalError("spawn '/srv/secret/runc': Permission denied");
    return s;
  };
  ServeFake();
  v1::RunLambdaResponse resp;
  grpc::Status s = Run("print(1)", "python3", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kInternal);
  EXPECT_EQ(s.error_message(), "internal error");
}

// The real wiring: without root ForHost gives a runner that answers
// UNAVAILABLE; with root and runc a snippet really runs.
TEST_F(RunLambdaTest, HostRunnerRunsHelloWorldAsRootAndIsUnavailableOtherwise) {
  const bool root = ::geteuid() == 0;
  if (root && runtime::FindExecutable("runc").empty()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "lambda as root needs runc";
    GTEST_SKIP() << "running as root but runc is not installed";
  }
  Config config;
  config.data_dir = dir_.path();
  config.runtime_dir = dir_.path() + "/run";
  config.instance = "svc" + std::to_string(::getpid());
  config.lambda.pool_size = 0;
  config.lambda.init_path = NEXUS_LAMBDA_INIT_PATH;
  auto runner = runtime::LambdaRunner::ForHost(config);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  runner_ = std::move(runner).value();
  Serve(runner_.get());

  v1::RunLambdaResponse resp;
  grpc::Status s = Run("print('hello from nexus')", "python3", &resp);
  if (!root) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    return;
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), "hello from nexus\n");
  EXPECT_EQ(resp.exit_code(), 0);
  EXPECT_FALSE(resp.timed_out());
  server_.reset();
  runner_->WaitForTeardown();
}

// ---- nodes -------------------------------------------------------------------------

// A NodeManager over the in-memory fakes of tests/support/nodes_fakes.h (runc,
// CNI, loop volumes), the real `nodes` table and a fake cgroup tree, served
// by DaemonService: the adapters are checked end to end through the stub.
class NodeRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_);
    ASSERT_TRUE(db_);
    health_ = std::make_unique<Health>(*db_);
    nodes_db_ = testing::OpenTestDatabase(dir_);
    ASSERT_TRUE(nodes_db_);
    store_ = std::make_unique<runtime::NodeStore>(*nodes_db_);
    Serve(Status::Ok());
  }

  // (Re)starts the service over a manager whose availability is `availability`.
  void Serve(Status availability, const CallLimits& limits = CallLimits{}) {
    server_.reset();
    manager_.reset();
    runtime::NodeOptions o;
    o.data_dir = dir_.path();
    o.instance = "svc";
    o.base.entries = {{"usr", ""}, {"bin", "usr/bin"}};
    o.base.cgroup_namespace = true;
    o.resolv_conf = "nameserver 192.0.2.53\n";
    o.sleep_ms = [](int64_t) {};
    manager_ = std::make_unique<runtime::NodeManager>(
        o,
        runtime::NodeManager::Deps{runtime_, network_, firewall_, volumes_, cgroups_, *store_,
                                   metrics_, clock_},
        availability);
    server_ = std::make_unique<TestServer>(
        dir_.File("d.sock"), DaemonService::Deps{.health = health_.get(), .nodes = manager_.get()},
        limits);
    ASSERT_TRUE(server_->started());
  }

  v1::Daemon::Stub& stub() { return server_->stub(); }

  grpc::Status Create(const std::string& owner, const std::string& name, v1::Node* out,
                      int64_t memory_mb = 256, const std::string& storage = "1G") {
    v1::CreateNodeRequest req;
    req.set_owner(owner);
    req.set_name(name);
    req.set_memory_mb(memory_mb);
    req.set_cpu_shares(512);
    req.set_storage_size(storage);
    grpc::ClientContext ctx;
    return stub().CreateNode(&ctx, req, out);
  }

  static v1::NodeRef Ref(const std::string& owner, const std::string& id) {
    v1::NodeRef r;
    r.set_owner(owner);
    r.set_id(id);
    return r;
  }

  // Every node RPC but CreateNode and ListNodes, for (owner, id).
  std::vector<std::pair<std::string, grpc::Status>> EveryNodeRpc(const std::string& owner,
                                                                 const std::string& id) {
    std::vector<std::pair<std::string, grpc::Status>> out;
    v1::Node node;
    {
      grpc::ClientContext c;
      out.emplace_back("GetNode", stub().GetNode(&c, Ref(owner, id), &node));
    }
    {
      grpc::ClientContext c;
      out.emplace_back("StopNode", stub().StopNode(&c, Ref(owner, id), &node));
    }
    {
      grpc::ClientContext c;
      out.emplace_back("StartNode", stub().StartNode(&c, Ref(owner, id), &node));
    }
    {
      v1::ExecNodeRequest req;
      req.set_owner(owner);
      req.set_id(id);
      req.add_command("true");
      v1::ExecNodeResponse resp;
      grpc::ClientContext c;
      out.emplace_back("ExecNode", stub().ExecNode(&c, req, &resp));
    }
    {
      v1::GetNodeMetricsRequest req;
      req.set_owner(owner);
      req.set_id(id);
      v1::NodeMetrics resp;
      grpc::ClientContext c;
      out.emplace_back("GetNodeMetrics", stub().GetNodeMetrics(&c, req, &resp));
    }
    {
      v1::DeleteNodeResponse resp;
      grpc::ClientContext c;
      out.emplace_back("DeleteNode", stub().DeleteNode(&c, Ref(owner, id), &resp));
    }
    return out;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<SQLite::Database> nodes_db_;
  std::unique_ptr<Health> health_;
  std::unique_ptr<runtime::NodeStore> store_;
  testing::FakeCgroupFs cgroups_;
  testing::FakeNodeRuntime runtime_{cgroups_};
  testing::FakeNodeNetwork network_;
  testing::FakeNodeFirewall firewall_;
  testing::FakeVolumeManager volumes_;
  runtime::CgroupStatsReader reader_{
      {false, dir_.path() + "/cgroup/memory", dir_.path() + "/cgroup/cpuacct"}};
  runtime::MetricsSampler metrics_{reader_, clock_, {5, 3600}};
  std::unique_ptr<runtime::NodeManager> manager_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(NodeRpcTest, CreateAnswersTheNodeAndListAndGetShowIt) {
  v1::Node created;
  grpc::Status s = Create("alice", "worker1", &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.id(), "worker1");
  EXPECT_EQ(created.ip(), "10.0.42.2");
  EXPECT_EQ(created.status(), "Running");
  EXPECT_EQ(created.memory_mb(), 256);
  EXPECT_EQ(created.cpu_shares(), 512);
  EXPECT_EQ(created.storage_size(), "1G");
  EXPECT_EQ(created.created_at(), clock_.NowSeconds());

  v1::Node second;
  ASSERT_TRUE(Create("alice", "worker2", &second).ok());
  EXPECT_EQ(second.ip(), "10.0.42.3");

  v1::ListNodesRequest list_req;
  list_req.set_owner("alice");
  v1::ListNodesResponse list;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub().ListNodes(&c1, list_req, &list).ok());
  ASSERT_EQ(list.nodes_size(), 2);

  v1::Node got;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().GetNode(&c2, Ref("alice", "worker2"), &got).ok());
  EXPECT_EQ(got.ip(), "10.0.42.3");
  EXPECT_EQ(got.status(), "Running");
}

TEST_F(NodeRpcTest, StopAndStartKeepTheAddressAndDeleteForgetsTheNode) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  v1::Node stopped;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub().StopNode(&c1, Ref("alice", "worker1"), &stopped).ok());
  EXPECT_EQ(stopped.status(), "Stopped");
  v1::Node started;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().StartNode(&c2, Ref("alice", "worker1"), &started).ok());
  EXPECT_EQ(started.status(), "Running");
  EXPECT_EQ(started.ip(), node.ip());

  v1::DeleteNodeResponse deleted;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub().DeleteNode(&c3, Ref("alice", "worker1"), &deleted).ok());
  v1::Node gone;
  grpc::ClientContext c4;
  grpc::Status s = stub().GetNode(&c4, Ref("alice", "worker1"), &gone);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_.container_count(), 0u);
  EXPECT_TRUE(network_.leases().empty());
}

TEST_F(NodeRpcTest, ExecCarriesArgvOutputExitCodeAndTimeout) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  runtime_.exec_script = [](const std::string&, const runtime::ExecOptions& o) {
    testing::FakeProcessScript s;
    if (o.args[0] == "sleep") {
      s.runs_until_killed = true;
      s.outcome.term_signal = SIGKILL;
      return s;
    }
    s.outcome.exit_code = 3;
    s.outcome.stdout_data = "out:" + o.args[1] + std::string("\xff", 1);
    s.outcome.stderr_data = "err";
    return s;
  };
  v1::ExecNodeRequest req;
  req.set_owner("alice");
  req.set_id("worker1");
  req.add_command("echo");
  req.add_command("hi");
  v1::ExecNodeResponse resp;
  grpc::ClientContext c1;
  grpc::Status s = stub().ExecNode(&c1, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), std::string("out:hi\xff", 7)) << "output is bytes, not UTF-8";
  EXPECT_EQ(resp.stderr(), "err");
  EXPECT_EQ(resp.exit_code(), 3);
  EXPECT_FALSE(resp.timed_out());

  req.clear_command();
  req.add_command("sleep");
  req.set_timeout_ms(100);
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().ExecNode(&c2, req, &resp).ok());
  EXPECT_TRUE(resp.timed_out());
  EXPECT_EQ(resp.exit_code(), 137);
}

TEST_F(NodeRpcTest, ExecsBeyondAUsersShareAreRateLimitedWhileOtherUsersExec) {
  CallLimits limits;
  limits.execs = {3, 2};
  Serve(Status::Ok(), limits);
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  ASSERT_TRUE(Create("bob", "worker1", &node).ok());
  // Alice's two execs stay in `runc exec` until the gate opens.
  Gate gate(2);
  runtime_.exec_script = [&gate](const std::string&, const runtime::ExecOptions&) {
    gate.Pass();
    return testing::FakeProcessScript{};
  };
  auto exec = [this](const std::string& owner) {
    v1::ExecNodeRequest req;
    req.set_owner(owner);
    req.set_id("worker1");
    req.add_command("sleep");
    req.add_command("300");
    v1::ExecNodeResponse resp;
    grpc::ClientContext ctx;
    return stub().ExecNode(&ctx, req, &resp);
  };
  grpc::Status held[2];
  std::vector<std::thread> alice;
  for (grpc::Status& status : held) alice.emplace_back([&] { status = exec("alice"); });
  ASSERT_TRUE(gate.WaitForEntered(2));
  ExpectRateLimited(exec("alice"), "execs");
  grpc::Status bob = exec("bob");
  EXPECT_TRUE(bob.ok()) << bob.error_message();
  gate.Open();
  for (auto& t : alice) t.join();
  for (const grpc::Status& s : held) EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::Status again = exec("alice");
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(NodeRpcTest, NodeChangesBeyondAUsersShareAreRateLimitedWhileOtherUsersCreate) {
  CallLimits limits;
  limits.node_changes = {3, 2};
  Serve(Status::Ok(), limits);
  // Alice's two creates stay in making their volume until the gate opens.
  Gate gate(2);
  volumes_.on_create = [&gate](const runtime::VolumePaths&) { gate.Pass(); };
  grpc::Status held[2];
  std::vector<std::thread> alice;
  for (int i = 0; i < 2; ++i) {
    alice.emplace_back([&, i] {
      v1::Node node;
      held[i] = Create("alice", "worker" + std::to_string(i), &node);
    });
  }
  ASSERT_TRUE(gate.WaitForEntered(2));
  v1::Node node;
  ExpectRateLimited(Create("alice", "worker9", &node), "node changes");
  grpc::ClientContext stop_ctx;
  ExpectRateLimited(stub().StopNode(&stop_ctx, Ref("alice", "worker0"), &node), "node changes");
  grpc::Status bob = Create("bob", "worker1", &node);
  EXPECT_TRUE(bob.ok()) << bob.error_message();
  gate.Open();
  for (auto& t : alice) t.join();
  for (const grpc::Status& s : held) EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::ClientContext delete_ctx;
  v1::DeleteNodeResponse deleted;
  grpc::Status again = stub().DeleteNode(&delete_ctx, Ref("alice", "worker0"), &deleted);
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(NodeRpcTest, MetricsAnswerTheLimitAndHistoryWhenAsked) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node, 128).ok());
  v1::GetNodeMetricsRequest req;
  req.set_owner("alice");
  req.set_id("worker1");
  req.set_history(true);
  v1::NodeMetrics m;
  grpc::ClientContext c1;
  grpc::Status s = stub().GetNodeMetrics(&c1, req, &m);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(m.node_id(), "worker1");
  EXPECT_EQ(m.memory_limit(), 128LL << 20);

  req.set_history(false);
  v1::NodeMetrics brief;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub().GetNodeMetrics(&c2, req, &brief).ok());
  EXPECT_EQ(brief.history_size(), 0);
}

TEST_F(NodeRpcTest, AnotherOwnersNodeIsNotFoundOnEveryRpc) {
  v1::Node node;
  ASSERT_TRUE(Create("alice", "worker1", &node).ok());
  for (const auto& [rpc, s] : EveryNodeRpc("bob", "worker1")) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << rpc << ": " << s.error_message();
  }
  v1::ListNodesRequest list_req;
  list_req.set_owner("bob");
  v1::ListNodesResponse list;
  grpc::ClientContext c;
  ASSERT_TRUE(stub().ListNodes(&c, list_req, &list).ok());
  EXPECT_EQ(list.nodes_size(), 0);
  v1::Node still;
  grpc::ClientContext c2;
  EXPECT_TRUE(stub().GetNode(&c2, Ref("alice", "worker1"), &still).ok()) << "bob deleted it";
}

TEST_F(NodeRpcTest, BadCreateFieldsAreInvalidArgumentsNamingTheField) {
  struct Case {
    const char* name;
    int64_t memory_mb;
    const char* storage;
    const char* field;
  } cases[] = {
      {"Bad_Name", 256, "1G", "name"},
      {"w", 1, "1G", "memory_mb"},
      {"w", 256, "10X", "storage_size"},
  };
  for (const auto& c : cases) {
    v1::Node node;
    grpc::Status s = Create("alice", c.name, &node, c.memory_mb, c.storage);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_NE(s.error_message().find(c.field), std::string::npos) << s.error_message();
  }
  v1::Node dup;
  ASSERT_TRUE(Create("alice", "w", &dup).ok());
  EXPECT_EQ(Create("alice", "w", &dup).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(NodeRpcTest, EveryNodeRpcRefusesAnEmptyOwner) {
  v1::Node node;
  EXPECT_EQ(Create("", "w", &node).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListNodesResponse list;
  grpc::ClientContext c;
  EXPECT_EQ(stub().ListNodes(&c, v1::ListNodesRequest(), &list).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  for (const auto& [rpc, s] : EveryNodeRpc("", "w")) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << rpc;
  }
}

TEST_F(NodeRpcTest, AnUnavailableEngineAnswersUnavailableWithItsReason) {
  Serve(UnavailableError("nodes need root, runc and the CNI plugins (nexusd is not root)"));
  v1::Node node;
  grpc::Status create = Create("alice", "w", &node);
  auto answers = EveryNodeRpc("alice", "w");
  answers.emplace_back("CreateNode", create);
  for (const auto& [rpc, s] : answers) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << rpc;
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnavailable) << rpc;
    EXPECT_NE(s.error_message().find("nodes need root"), std::string::npos) << s.error_message();
  }
  EXPECT_TRUE(runtime_.calls().empty());
}

// The real wiring nexusd uses: without its OCI runtime (here a name that does
// not exist, so the test means the same as root and not) ForHost still gives
// a manager, and the RPCs answer UNAVAILABLE instead of nexusd failing to start.
TEST(NodeRpcForHostTest, WithoutTheRuntimeNodeRpcsAreUnavailableAndNexusdStillServes) {
  testing::TempDir dir;
  auto db = testing::OpenTestDatabase(dir);
  ASSERT_TRUE(db);
  auto nodes_db = testing::OpenTestDatabase(dir);
  ASSERT_TRUE(nodes_db);
  Health health(*db);
  Config config;
  config.data_dir = dir.path();
  config.instance = "svcnort";
  config.nodes.runtime = "nexus-test-no-such-runtime";
  testing::FakeClock clock;
  auto manager = runtime::NodeManager::ForHost(config, *nodes_db, clock);
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  DaemonService service({.health = &health, .nodes = manager->get()});
  v1::CreateNodeRequest req;
  req.set_owner("alice");
  req.set_name("worker1");
  v1::Node node;
  grpc::Status s = service.CreateNode(nullptr, &req, &node);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // What the host lacks stays in nexusd's log; the client reads the reason.
  EXPECT_EQ(FromGrpcStatus(s).reason(), Reason::kNodesUnsupportedHere);
  EXPECT_EQ(s.error_message().find("nexus-test-no-such-runtime"), std::string::npos)
      << s.error_message();
  v1::HealthResponse h;
  EXPECT_TRUE(service.Health(nullptr, nullptr, &h).ok());
}

}  // namespace
}  // namespace nexus::daemon
