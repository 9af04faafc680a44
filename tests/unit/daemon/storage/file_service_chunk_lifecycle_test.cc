// FileService and the life of chunks: failed writes and syncs, aborts and
// dropped uploads, chunks shared with uploads in flight or readers, the
// startup sweep, and a mix of all of them at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/storage/background_chunk_writer.h"
#include "unit/daemon/storage/file_service_rig.h"

namespace nexus::daemon::storage {
namespace {

// A chunk that cannot be written (here: a file where its directory must go)
// fails the upload, while or after streaming, and nothing of it stays.
TEST_F(FileServiceTest, AFailedChunkWriteFailsTheUploadAndLeavesNothing) {
  const std::string data = PseudoRandomBytes(30000, 41);
  const std::vector<std::string> hashes = CompleteChunkHashesOf(data);
  // The first chunk after two others whose top directory is its own.
  std::string blocked;
  for (size_t i = 2; i < hashes.size() && blocked.empty(); ++i) {
    bool shared = false;
    for (size_t j = 0; j < i; ++j) shared |= hashes[j].substr(0, 2) == hashes[i].substr(0, 2);
    if (!shared) blocked = hashes[i];
  }
  ASSERT_FALSE(blocked.empty());
  const std::string blocker = chunks_dir() + "/" + blocked.substr(0, 2);
  std::ofstream(blocker) << "not a directory";

  auto upload = files_->Begin("alice", "blocked.bin");
  ASSERT_TRUE(upload.ok());
  Status failed = Status::Ok();
  for (size_t i = 0; i < data.size() && failed.ok(); i += 1000) {
    failed = (*upload)->Write(std::string_view(data).substr(i, 1000));
  }
  if (failed.ok()) failed = (*upload)->Commit().status();
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find(blocked), std::string::npos) << failed.ToString();
  EXPECT_TRUE(files_->List("alice")->empty());
  ASSERT_EQ(std::remove(blocker.c_str()), 0);
  EXPECT_EQ(ChunkFiles(), 0) << "the chunks stored before the failure are removed";
  // Nothing is left leased either: the same bytes now upload and download.
  auto again = UploadAs("alice", "again.bin", data);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*Download("alice", again->id), data);
}

TEST_F(FileServiceTest, AbortLeavesNoChunkFilesAndNoRow) {
  auto upload = files_->Begin("alice", "gone.bin");
  ASSERT_TRUE(upload.ok());
  const std::string data = PseudoRandomBytes(12000, 5);
  ASSERT_TRUE((*upload)->Write(data).ok());
  EXPECT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data); }))
      << "chunks are stored while the upload streams";
  (*upload)->Abort();
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_TRUE(files_->List("alice")->empty());
  EXPECT_EQ((*upload)->Commit().status().code(), StatusCode::kInternal);
}

TEST_F(FileServiceTest, CommitRecordsTheFileOnlyAfterItsChunksAreSynced) {
  UploadOptions options;
  size_t unsynced_at_commit = 99;
  options.commit = [&](const FileRecord& file, const std::vector<ChunkRef>& chunks,
                       int64_t quota) -> Result<CommitOutcome> {
    unsynced_at_commit = chunks_->unsynced_count();
    NEXUS_ASSIGN_OR_RETURN(FileRecord stored, metadata_->CommitFile(file, chunks, quota));
    return CommitOutcome{std::move(stored), {}};
  };
  auto upload = files_->Begin("alice", "synced.bin", std::move(options));
  ASSERT_TRUE(upload.ok());
  // Fewer chunks than a sync-behind batch: all of them wait for the commit.
  const std::string data = PseudoRandomBytes(6000, 31);
  ASSERT_LT(CompleteChunks(data) + 1, int{BackgroundChunkWriter::kSyncBatch});  // + the last
  ASSERT_TRUE((*upload)->Write(data).ok());
  EXPECT_TRUE(Eventually([&] { return chunks_->unsynced_count() > 0; }))
      << "chunks are written without waiting for the disk";
  auto file = (*upload)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(unsynced_at_commit, 0u);
}

TEST_F(FileServiceTest, CommitSyncsChunksAnotherInFlightUploadStored) {
  // Fewer chunks than a sync-behind batch, so bob's stay unsynced.
  const std::string data = PseudoRandomBytes(6000, 32);
  ASSERT_LT(CompleteChunks(data) + 1, int{BackgroundChunkWriter::kSyncBatch});  // + the last
  auto first = files_->Begin("bob", "first.bin");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Write(data).ok());
  // Every chunk the Write completed is stored (its tail waits for a Commit).
  const int complete = CompleteChunks(data);
  ASSERT_GT(complete, 0);
  ASSERT_TRUE(Eventually([&] { return StoredChunks() == complete; }));
  ASSERT_GT(chunks_->unsynced_count(), 0u);

  // alice's upload finds bob's chunks present; her commit must not reference
  // them before they are durable.
  auto second = UploadAs("alice", "second.bin", data);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(chunks_->unsynced_count(), 0u);
  (*first)->Abort();
  EXPECT_EQ(*Download("alice", second->id), data);
}

TEST_F(FileServiceTest, ALongUploadsChunksAreSyncedBeforeItsCommit) {
  const std::string data = PseudoRandomBytes(40000, 35);
  const int complete = CompleteChunks(data);
  ASSERT_GE(complete, int{2 * BackgroundChunkWriter::kSyncBatch});
  auto upload = files_->Begin("alice", "long.bin");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(data).ok());
  // Synced behind, a batch at a time: at most one partial batch is left.
  EXPECT_TRUE(Eventually([&] {
    return StoredChunks() == complete &&
           chunks_->unsynced_count() < BackgroundChunkWriter::kSyncBatch;
  })) << chunks_->unsynced_count()
      << " of " << complete << " chunks unsynced";
  auto file = (*upload)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(chunks_->unsynced_count(), 0u);
  EXPECT_EQ(*Download("alice", file->id), data);
}

TEST_F(FileServiceTest, AFailedSyncFailsTheCommitAndLeavesNothing) {
  auto upload = files_->Begin("alice", "lost.bin");
  ASSERT_TRUE(upload.ok());
  // Fewer chunks than a sync-behind batch: none is synced before the commit.
  const std::string data = PseudoRandomBytes(6000, 33);
  ASSERT_LT(CompleteChunks(data) + 1, int{BackgroundChunkWriter::kSyncBatch});  // + the last
  ASSERT_TRUE((*upload)->Write(data).ok());
  ASSERT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data); }));
  // A chunk vanishing before the sync (as on a failing disk) must stop the commit.
  std::string victim;
  ASSERT_TRUE(chunks_->List([&](const std::string& hash) { victim = hash; }).ok());
  ASSERT_FALSE(victim.empty());
  ASSERT_EQ(std::remove(chunks_->PathOf(victim).c_str()), 0);

  auto file = (*upload)->Commit();
  EXPECT_FALSE(file.ok());
  EXPECT_TRUE(files_->List("alice")->empty());
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(FileServiceTest, ABigFilesChunksAreAllRemovedEvenBeyondTheInlineBatch) {
  const std::string data = PseudoRandomBytes(800 * 1024, 34);
  auto file = UploadAs("alice", "many-chunks.bin", data, 64 * 1024);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_GT(file->chunks_count, static_cast<int64_t>(FileService::kInlineRemovals));
  ASSERT_TRUE(files_->Delete("alice", file->id).ok());
  EXPECT_LE(ChunkFiles(), file->chunks_count - static_cast<int64_t>(FileService::kInlineRemovals))
      << "the first batch goes before Delete returns";
  files_.reset();  // waits for the background removals
  EXPECT_EQ(ChunkFiles(), 0);
}

// The fs store's chunks behind a store whose Remove and reads are network
// round trips (as S3's): it says so, counts the removals made on each
// thread, and the most reads it saw going at once (each takes 2 ms).
class CostlyRemoveStore final : public ChunkStore {
 public:
  explicit CostlyRemoveStore(ChunkStore& inner) : inner_(inner) {}
  Result<bool> Put(const std::string& hash, std::string_view bytes) override {
    return inner_.Put(hash, bytes);
  }
  Status Sync(const std::vector<std::string>& hashes) override { return inner_.Sync(hashes); }
  Result<bool> Has(const std::string& hash) override { return inner_.Has(hash); }
  Result<std::string> Get(const std::string& hash) override { return inner_.Get(hash); }
  Status Remove(const std::string& hash) override {
    {
      std::lock_guard lock(mu_);
      ++removals_[std::this_thread::get_id()];
    }
    return inner_.Remove(hash);
  }
  bool RemoveIsCheap() const override { return false; }
  Status ReadInto(const std::string& hash, std::span<char> out) override {
    const int now = ++reading_;
    int seen = most_reading_.load();
    while (now > seen && !most_reading_.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Status s = inner_.ReadInto(hash, out);
    --reading_;
    return s;
  }
  int ReadsInFlight() const override { return 4; }
  int most_reading() const { return most_reading_.load(); }
  Status List(const std::function<void(const std::string& hash)>& fn) override {
    return inner_.List(fn);
  }
  Result<SweepStats> Sweep(const std::function<bool(const std::string& hash)>& keep) override {
    return inner_.Sweep(keep);
  }
  int removals_on(std::thread::id thread) {
    std::lock_guard lock(mu_);
    return removals_[thread];
  }

 private:
  ChunkStore& inner_;
  std::mutex mu_;
  std::map<std::thread::id, int> removals_;  // guarded by mu_
  std::atomic<int> reading_{0};
  std::atomic<int> most_reading_{0};
};

class CostlyRemoveTest : public FileServiceTest {
 protected:
  void SetUp() override {
    FileServiceTest::SetUp();
    store_ = std::make_unique<CostlyRemoveStore>(*chunks_);
    FileServiceOptions options;
    options.chunker = kSmall;
    files_ = std::make_unique<FileService>(*store_, *metadata_, options);
  }
  void TearDown() override { files_.reset(); }  // before store_ goes
  std::unique_ptr<CostlyRemoveStore> store_;
};

TEST_F(CostlyRemoveTest, DeleteAnswersBeforeAnyRemovalAndTheBackgroundRemovesThemAll) {
  auto file = UploadAs("alice", "remote.bin", PseudoRandomBytes(12000, 77));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_GT(file->chunks_count, 1);
  ASSERT_GT(ChunkFiles(), 0);
  ASSERT_TRUE(files_->Delete("alice", file->id).ok());
  EXPECT_EQ(store_->removals_on(std::this_thread::get_id()), 0)
      << "a delete must not wait for round trips to the store";
  files_.reset();  // waits for the background removals
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(CostlyRemoveTest, ADownloadKeepsSeveralReadsGoingAndYieldsTheBytesInOrder) {
  const std::string data = PseudoRandomBytes(60000, 78);
  auto file = UploadAs("alice", "remote.bin", data);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_GT(file->chunks_count, 4);
  Result<std::string> whole = Download("alice", file->id);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(*whole, data);
  EXPECT_GT(store_->most_reading(), 1) << "the reads of one download went one at a time";
  EXPECT_LE(store_->most_reading(), 4);
  // A range in the middle, and a reader dropped halfway through.
  Result<std::string> middle = Download("alice", file->id, ByteRange{20000, 10000});
  ASSERT_TRUE(middle.ok()) << middle.status().ToString();
  EXPECT_EQ(*middle, data.substr(20000, 10000));
  {
    auto reader = files_->Open("alice", file->id);
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE((*reader)->Next().ok());
  }  // its reads still going end before it does
  ASSERT_TRUE(files_->Delete("alice", file->id).ok());
  files_.reset();
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(FileServiceTest, DroppingAnUncommittedUploadCleansUp) {
  {
    auto upload = files_->Begin("alice", "dropped.bin");
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(12000, 6)).ok());
  }  // as when the client disconnects mid-stream
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_TRUE(files_->List("alice")->empty());
}

TEST_F(FileServiceTest, AbortKeepsChunksOtherFilesReference) {
  const std::string shared = PseudoRandomBytes(12000, 7);
  ASSERT_TRUE(UploadAs("alice", "kept.bin", shared).ok());
  const int before = ChunkFiles();
  auto upload = files_->Begin("bob", "partial.bin");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(shared + PseudoRandomBytes(12000, 8)).ok());
  (*upload)->Abort();
  EXPECT_EQ(ChunkFiles(), before);
}

// Upload A stores a chunk, upload B of the same bytes finds it present and
// skips writing it; A's abort must not delete what B relies on.
TEST_F(FileServiceTest, AbortDoesNotRemoveChunksAnInFlightUploadUses) {
  const std::string data = PseudoRandomBytes(12000, 12);
  auto a = files_->Begin("alice", "a");
  auto b = files_->Begin("bob", "b");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->Write(data).ok());
  ASSERT_TRUE((*b)->Write(data).ok());
  (*a)->Abort();
  auto committed = (*b)->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  auto back = Download("bob", committed->id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
}

// The same, when B aborts too: the chunk whose removal waited for B goes.
TEST_F(FileServiceTest, DeferredRemovalHappensWhenTheLastUploadGivesUp) {
  const std::string data = PseudoRandomBytes(12000, 13);
  auto a = files_->Begin("alice", "a");
  auto b = files_->Begin("bob", "b");
  ASSERT_TRUE((*a)->Write(data).ok());
  ASSERT_TRUE((*b)->Write(data).ok());
  ASSERT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data); }));
  (*a)->Abort();
  EXPECT_GT(ChunkFiles(), 0);
  (*b)->Abort();
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(FileServiceTest, DeleteWhileDownloadingKeepsChunksUntilTheReaderCloses) {
  const std::string data = PseudoRandomBytes(12000, 14);
  auto file = UploadAs("alice", "f", data);
  ASSERT_TRUE(file.ok());
  auto reader = files_->Open("alice", file->id);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(files_->Delete("alice", file->id).ok());
  EXPECT_GT(ChunkFiles(), 0);
  Result<std::string> got = ReadToEnd(**reader);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  EXPECT_EQ(ChunkFiles(), 0) << "the reader's end released the last lease";
}

TEST_F(FileServiceTest, StartupSweepRemovesCrashLeftovers) {
  auto file = UploadAs("alice", "kept", PseudoRandomBytes(10000, 16));
  ASSERT_TRUE(file.ok());
  const int referenced = ChunkFiles();
  // A crash after storing chunks but before the commit, and one mid-write.
  const std::string orphan = "orphan chunk bytes";
  ASSERT_TRUE(chunks_->Put(Sha256::HexDigest(orphan), orphan).ok());
  const std::string orphan_path = chunks_->PathOf(Sha256::HexDigest(orphan));
  std::ofstream(orphan_path.substr(0, orphan_path.rfind('/')) + "/.tmp-x-1-1") << "partial";

  auto stats = files_->StartupSweep();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->chunks_removed, 1);
  EXPECT_EQ(stats->temp_files_removed, 1);
  EXPECT_EQ(ChunkFiles(), referenced);
  EXPECT_TRUE(Download("alice", file->id).ok());
}

// Many uploads of overlapping content that commit, abort or get deleted at
// once: afterwards exactly the chunks of the surviving files are on disk and
// every surviving file reads back intact.
TEST_F(FileServiceTest, ConcurrentUploadsAbortsAndDeletesKeepChunksConsistent) {
  // Contents share chunks: each is two of four blocks, each block a few chunks.
  std::vector<std::string> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(PseudoRandomBytes(3000, 100 + i));
  std::vector<std::string> contents;
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) contents.push_back(blocks[a] + blocks[b]);
  }

  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 8;
  std::mutex mu;
  std::map<std::string, std::string> survivors;  // id -> content
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string owner = "user" + std::to_string(t % 2);
      for (int op = 0; op < kOpsPerThread; ++op) {
        const std::string& data = contents[(t * 5 + op * 3) % contents.size()];
        auto upload = files_->Begin(owner, "f");
        ASSERT_TRUE(upload.ok());
        ASSERT_TRUE((*upload)->Write(data.substr(0, 2500)).ok());
        ASSERT_TRUE((*upload)->Write(data.substr(2500)).ok());
        switch ((t + op) % 3) {
          case 0: {  // abort
            (*upload)->Abort();
            break;
          }
          case 1: {  // commit and keep
            auto f = (*upload)->Commit();
            ASSERT_TRUE(f.ok()) << f.status().ToString();
            std::lock_guard lock(mu);
            survivors[f->id] = data;
            break;
          }
          case 2: {  // commit, then delete
            auto f = (*upload)->Commit();
            ASSERT_TRUE(f.ok()) << f.status().ToString();
            ASSERT_TRUE(files_->Delete(owner, f->id).ok());
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  ASSERT_FALSE(survivors.empty());
  auto referenced = metadata_->AllReferencedHashes();
  ASSERT_TRUE(referenced.ok());
  std::set<std::string> on_disk;
  ASSERT_TRUE(chunks_->List([&](const std::string& h) { on_disk.insert(h); }).ok());
  EXPECT_EQ(on_disk, std::set<std::string>(referenced->begin(), referenced->end()));
  for (const auto& [id, data] : survivors) {
    std::string owner;
    for (const char* o : {"user0", "user1"}) {
      if (files_->Get(o, id).ok()) owner = o;
    }
    auto back = Download(owner, id);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data);
  }
}

}  // namespace
}  // namespace nexus::daemon::storage
