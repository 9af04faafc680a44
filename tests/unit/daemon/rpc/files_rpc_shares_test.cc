// FilesRpc's long calls under load, through its stub: the per-user shares of
// uploads and downloads, and the idle watchdog that cancels stalled streams
// and gives their slots back.
#include "daemon/rpc/files_rpc.h"
#include "unit/daemon/rpc/rpc_test_bench.h"

namespace nexus::daemon {
namespace {

using namespace rpc_bench;  // NOLINT: the bench of this folder

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
