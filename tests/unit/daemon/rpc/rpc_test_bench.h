// The test bench of nexusd's gRPC services: the services on a Unix socket
// served as nexusd serves them (DaemonServices, TestServer), a stub per
// service (DaemonStubs), and DaemonRpcTest, a fixture over a real
// FileService/TreeService on a temp database and chunk directory with
// helpers to upload and download through the stubs. Shared by the *_rpc
// tests of this folder.
#pragma once

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
#include "common/sha256.h"
#include "common/sql/sqlite_connection.h"
#include "daemon/lambda/lambda.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/rpc/grpc_unix_listener.h"
#include "daemon/rpc/health.h"
#include "daemon/rpc/read_ahead.h"
#include "daemon/rpc/services.h"
#include "daemon/rpc/unix_socket.h"
#include "daemon/runtime/process.h"
#include "daemon/storage/fs_chunk_store.h"
#include "support/fake_clock.h"
#include "support/nodes_fakes.h"
#include "support/runtime_fake_oci.h"
#include "support/temp_dir.h"
#include "support/thread_names.h"
#include "unit/daemon/test_database.h"

namespace nexus::daemon::rpc_bench {

namespace fs = std::filesystem;
using storage::ChunkerParams;

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

// Cuts `data` into `n` nearly equal parts (the data messages of an upload).
inline std::vector<std::string> Split(const std::string& data, size_t n) {
  std::vector<std::string> parts;
  const size_t step = (data.size() + n - 1) / n;
  for (size_t at = 0; at < data.size(); at += step) parts.push_back(data.substr(at, step));
  return parts;
}

inline size_t CountFiles(const std::string& dir) {
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

// A client stub per service, on one channel.
struct DaemonStubs {
  explicit DaemonStubs(const std::shared_ptr<grpc::Channel>& channel)
      : health(v1::Health::NewStub(channel)),
        files(v1::Files::NewStub(channel)),
        tree(v1::Tree::NewStub(channel)),
        nodes(v1::Nodes::NewStub(channel)),
        lambda(v1::Lambda::NewStub(channel)) {}

  std::unique_ptr<v1::Health::Stub> health;
  std::unique_ptr<v1::Files::Stub> files;
  std::unique_ptr<v1::Tree::Stub> tree;
  std::unique_ptr<v1::Nodes::Stub> nodes;
  std::unique_ptr<v1::Lambda::Stub> lambda;
};

// The services on a Unix socket, served as nexusd serves them: registered
// by DaemonServices with its server settings, and its listener.
class TestServer {
 public:
  TestServer(const std::string& socket_path, DomainObjects domain,
             const CallLimits& limits = CallLimits{})
      : services_(domain, limits) {
    if (!ClearStaleSocket(socket_path).ok()) return;
    auto listener = GrpcUnixListener::Bind(socket_path, 0600);
    if (!listener.ok()) return;
    grpc::ServerBuilder builder;
    services_.RegisterOn(builder);
    server_ = builder.BuildAndStart();
    if (!server_ || !(*listener)->Start(server_.get()).ok()) {
      server_.reset();
      return;
    }
    listener_ = std::move(listener).value();
    stubs_ = std::make_unique<DaemonStubs>(
        grpc::CreateChannel("unix:" + socket_path, grpc::InsecureChannelCredentials()));
  }
  ~TestServer() { Stop(); }

  bool started() const { return server_ != nullptr; }
  DaemonStubs& stub() { return *stubs_; }
  const CallAdmission& admission() const { return services_.admission(); }
  // Waits for every call in progress to finish on the server side.
  void Stop() {
    if (!server_) return;
    listener_->Stop();
    server_->Shutdown();
    server_->Wait();
    server_.reset();
  }

 private:
  DaemonServices services_;
  std::unique_ptr<GrpcUnixListener> listener_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DaemonStubs> stubs_;
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

inline v1::UploadHeader Header(const std::string& owner, const std::string& name,
                               const std::string& vfs_path = "", int64_t declared_size = -1) {
  v1::UploadHeader h;
  h.set_owner(owner);
  h.set_file_name(name);
  h.set_vfs_path(vfs_path);
  h.set_declared_size(declared_size);
  return h;
}

inline v1::ByteRange Range(int64_t offset, int64_t length) {
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
    metadata_db_ = testing::OpenTestDatabase(dir_);
    ASSERT_TRUE(metadata_db_);
    metadata_conn_ = std::make_unique<sql::SqliteConnection>(*metadata_db_);
    metadata_ = std::make_unique<storage::MetadataStore>(*metadata_conn_, clock_);
    health_ = std::make_unique<Health>(*metadata_);
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
        DomainObjects{.health = health_.get(), .files = files_.get(), .tree = tree_.get()},
        Limits());
    ASSERT_TRUE(server_->started());
  }

  void TearDown() override { server_.reset(); }

  DaemonStubs& stub() { return server_->stub(); }

  UploadOutcome Upload(const v1::UploadHeader& header, const std::vector<std::string>& parts) {
    grpc::ClientContext ctx;
    UploadOutcome out;
    auto writer = stub().files->UploadFile(&ctx, &out.info);
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
    auto writer = stub().files->UploadFile(&ctx, &out.info);
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
    auto reader = stub().files->DownloadFile(&ctx, req);
    return Drain(*reader);
  }

  DownloadOutcome DownloadPath(const std::string& owner, const std::string& path,
                               const v1::ByteRange* range = nullptr) {
    grpc::ClientContext ctx;
    v1::DownloadPathRequest req;
    req.set_owner(owner);
    req.set_path(path);
    if (range) *req.mutable_range() = *range;
    auto reader = stub().tree->DownloadPath(&ctx, req);
    return Drain(*reader);
  }

  // A client that takes little at a time (no window growth), so a download
  // it does not read stays blocked in the server's Write, never completing
  // into the client's buffers.
  std::unique_ptr<DaemonStubs> NarrowStub() {
    grpc::ChannelArguments narrow;
    narrow.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    narrow.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
    return std::make_unique<DaemonStubs>(grpc::CreateCustomChannel(
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
  std::unique_ptr<SQLite::Database> metadata_db_;
  std::unique_ptr<sql::SqliteConnection> metadata_conn_;  // over metadata_db_
  std::unique_ptr<storage::MetadataStore> metadata_;
  std::unique_ptr<Health> health_;  // probes metadata_
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
inline void ExpectRateLimited(const grpc::Status& s, const std::string& says) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  const Status nexus = FromGrpcStatus(s);
  EXPECT_EQ(nexus.code(), StatusCode::kRateLimited) << nexus.ToString();
  EXPECT_GE(nexus.retry_after_seconds(), 1);
  EXPECT_NE(nexus.message().find(says), std::string::npos) << nexus.message();
}

}  // namespace nexus::daemon::rpc_bench
