#include "daemon/storage/background_chunk_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "support/thread_names.h"

namespace nexus::daemon::storage {
namespace {

// A chunk store in memory whose puts can be held at a gate and made to fail.
class GatedStore final : public ChunkStore {
 public:
  Result<bool> Put(const std::string& hash, std::string_view bytes) override {
    std::unique_lock lock(mu_);
    ++puts_started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    if (hash == fail_hash_) return UnavailableError("disk full");
    return chunks_.emplace(hash, std::string(bytes)).second;
  }
  // Records each batch; held at its own gate; fails when told to.
  Status Sync(const std::vector<std::string>& hashes) override {
    std::unique_lock lock(mu_);
    ++syncs_started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return sync_open_; });
    synced_.push_back(hashes);
    changed_.notify_all();
    return sync_error_;
  }
  Result<bool> Has(const std::string& hash) override {
    std::lock_guard lock(mu_);
    return chunks_.contains(hash);
  }
  Result<std::string> Get(const std::string& hash) override {
    std::lock_guard lock(mu_);
    auto it = chunks_.find(hash);
    if (it == chunks_.end()) return NotFoundError(hash);
    return it->second;
  }
  Status Remove(const std::string& hash) override {
    std::lock_guard lock(mu_);
    chunks_.erase(hash);
    return Status::Ok();
  }
  Status List(const std::function<void(const std::string&)>& fn) override {
    std::lock_guard lock(mu_);
    for (const auto& [hash, bytes] : chunks_) fn(hash);
    return Status::Ok();
  }
  Result<SweepStats> Sweep(const std::function<bool(const std::string&)>&) override {
    return SweepStats{};
  }
  int WritesInFlight() const override { return writes_in_flight_; }
  void SetWritesInFlight(int n) { writes_in_flight_ = n; }

  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    changed_.notify_all();
  }
  void FailOn(std::string hash) {
    std::lock_guard lock(mu_);
    fail_hash_ = std::move(hash);
  }
  bool WaitForPutsStarted(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return puts_started_ >= n; });
  }
  int puts_started() {
    std::lock_guard lock(mu_);
    return puts_started_;
  }
  void HoldSyncs(bool hold) {
    {
      std::lock_guard lock(mu_);
      sync_open_ = !hold;
    }
    changed_.notify_all();
  }
  void FailSyncs(Status error) {
    std::lock_guard lock(mu_);
    sync_error_ = std::move(error);
  }
  bool WaitForSyncsStarted(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return syncs_started_ >= n; });
  }
  bool WaitForSyncsDone(size_t n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return synced_.size() >= n; });
  }
  std::vector<std::vector<std::string>> synced() {
    std::lock_guard lock(mu_);
    return synced_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = true;
  int puts_started_ = 0;
  std::string fail_hash_;
  std::map<std::string, std::string> chunks_;
  bool sync_open_ = true;
  int syncs_started_ = 0;
  Status sync_error_;
  std::vector<std::vector<std::string>> synced_;
  int writes_in_flight_ = 1;
};

Status PutOne(BackgroundChunkWriter& writer, const std::string& hash,
              std::shared_ptr<const std::string> bytes) {
  std::string_view piece = *bytes;
  return writer.Put(hash, std::span<const std::string_view>(&piece, 1), std::move(bytes));
}

// After a failure (kUnavailable, its message naming `what`) the writer keeps
// it: Drain and every later Put return it, and nothing more is written.
void ExpectFailedFromNowOn(BackgroundChunkWriter& writer, GatedStore& store,
                           std::string_view what) {
  Status drained = writer.Drain();
  EXPECT_EQ(drained.code(), StatusCode::kUnavailable);
  EXPECT_NE(drained.message().find(what), std::string::npos) << drained.message();
  EXPECT_EQ(PutOne(writer, "later", std::make_shared<const std::string>("x")).code(),
            StatusCode::kUnavailable);
  EXPECT_FALSE(*store.Has("later"));
}

TEST(BackgroundChunkWriterTest, WritesEveryChunkAndListsTheOnesItCreated) {
  GatedStore store;
  ASSERT_TRUE(store.Put("present", "old").ok());
  BackgroundChunkWriter writer(store);
  const std::string_view pieces[] = {"ab", "cd"};
  auto owner = std::make_shared<int>(0);
  ASSERT_TRUE(writer.Put("joined", pieces, owner).ok());
  ASSERT_TRUE(PutOne(writer, "present", std::make_shared<const std::string>("new")).ok());
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_EQ(*store.Get("joined"), "abcd");
  EXPECT_EQ(*store.Get("present"), "old") << "an existing chunk is never rewritten";
  EXPECT_EQ(writer.created(), std::vector<std::string>{"joined"});
}

TEST(BackgroundChunkWriterTest, AStoreARoundTripAwayGetsSeveralPutsAtOnce) {
  GatedStore store;
  store.SetWritesInFlight(3);
  store.Close();  // every put waits at the gate: only parallel ones can start
  BackgroundChunkWriter writer(store);
  std::vector<std::string> hashes;
  for (int i = 0; i < 5; ++i) {
    hashes.push_back("c" + std::to_string(i));
    ASSERT_TRUE(PutOne(writer, hashes.back(), std::make_shared<const std::string>("xy")).ok());
  }
  ASSERT_TRUE(store.WaitForPutsStarted(3)) << "three puts in flight";
  EXPECT_EQ(nexus::testing::ThreadsNamed("chunk-writer"), 3) << "never more than it asks for";
  store.Open();
  ASSERT_TRUE(writer.Drain().ok());
  std::vector<std::string> created = writer.created();
  std::sort(created.begin(), created.end());
  EXPECT_EQ(created, hashes);
  for (const std::string& h : hashes) EXPECT_EQ(*store.Get(h), "xy");
  writer.Stop();
  EXPECT_EQ(nexus::testing::ThreadsNamedAfterJoins("chunk-writer"), 0);
}

TEST(BackgroundChunkWriterTest, ALoneLastChunkIsWrittenAtOnceWithoutAThread) {
  GatedStore store;
  BackgroundChunkWriter writer(store);
  ASSERT_TRUE(writer.PutLast("only", std::vector<std::string_view>{"tiny"}, nullptr).ok());
  EXPECT_EQ(*store.Get("only"), "tiny");
  EXPECT_EQ(writer.created(), std::vector<std::string>{"only"});
  EXPECT_EQ(nexus::testing::ThreadsNamedAfterJoins("chunk-writer"), 0);
}

TEST(BackgroundChunkWriterTest, ALastChunkAfterQueuedOnesIsWrittenAfterThem) {
  GatedStore store;
  BackgroundChunkWriter writer(store);
  ASSERT_TRUE(PutOne(writer, "first", std::make_shared<const std::string>("1")).ok());
  auto last = std::make_shared<const std::string>("2");
  ASSERT_TRUE(writer.PutLast("last", std::vector<std::string_view>{*last}, last).ok());
  EXPECT_TRUE(*store.Has("first"));
  EXPECT_TRUE(*store.Has("last"));
  EXPECT_EQ(writer.created(), (std::vector<std::string>{"first", "last"}));
}

TEST(BackgroundChunkWriterTest, AFailedPutIsReturnedLaterAndNothingMoreIsWritten) {
  GatedStore store;
  store.FailOn("bad");
  BackgroundChunkWriter writer(store);
  ASSERT_TRUE(PutOne(writer, "good", std::make_shared<const std::string>("1")).ok());
  ASSERT_TRUE(PutOne(writer, "bad", std::make_shared<const std::string>("2")).ok());
  ExpectFailedFromNowOn(writer, store, "disk full");
  // The store's words, not the chunk's hash: an unavailable store's
  // message reaches the client.
  EXPECT_EQ(writer.Drain().message().find("bad"), std::string::npos);
  EXPECT_EQ(writer.created(), std::vector<std::string>{"good"});
}

TEST(BackgroundChunkWriterTest, PutBlocksWhileTheQueueIsFull) {
  GatedStore store;
  store.Close();
  BackgroundChunkWriter writer(store);
  const size_t half = BackgroundChunkWriter::kMaxQueuedBytes / 2 + 1;
  ASSERT_TRUE(PutOne(writer, "first", std::make_shared<const std::string>(half, 'a')).ok());
  ASSERT_TRUE(store.WaitForPutsStarted(1));
  std::atomic<bool> returned = false;
  std::thread second([&] {
    EXPECT_TRUE(PutOne(writer, "second", std::make_shared<const std::string>(half, 'b')).ok());
    returned = true;
  });
  // Both would exceed the bound: the second waits for the first to be written.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(returned.load());
  store.Open();
  second.join();
  EXPECT_TRUE(returned.load());
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_TRUE(*store.Has("second"));
}

TEST(BackgroundChunkWriterTest, StopDropsTheQueueAndWaitsForThePutInProgress) {
  GatedStore store;
  store.Close();
  BackgroundChunkWriter writer(store);
  ASSERT_TRUE(PutOne(writer, "busy", std::make_shared<const std::string>("1")).ok());
  ASSERT_TRUE(store.WaitForPutsStarted(1));
  auto queued = std::make_shared<const std::string>("2");
  std::weak_ptr<const std::string> watch = queued;
  ASSERT_TRUE(PutOne(writer, "queued", std::move(queued)).ok());
  // The gate opens only once Stop dropped the queued chunk, so "busy" is
  // still being written when Stop begins.
  std::thread opener([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!watch.expired() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    store.Open();
  });
  writer.Stop();  // returns only after "busy" was written
  opener.join();
  EXPECT_TRUE(*store.Has("busy"));
  EXPECT_EQ(writer.created(), std::vector<std::string>{"busy"});
  EXPECT_FALSE(*store.Has("queued"));
  EXPECT_EQ(store.puts_started(), 1);
  EXPECT_TRUE(watch.expired()) << "a dropped chunk's owner is released";
  EXPECT_EQ(PutOne(writer, "after", std::make_shared<const std::string>("3")).code(),
            StatusCode::kInternal);
}

// Puts `n` one-byte chunks named <prefix>0, <prefix>1, ...; returns the names.
std::vector<std::string> PutMany(BackgroundChunkWriter& writer, const std::string& prefix,
                                 size_t n) {
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    names.push_back(prefix + std::to_string(i));
    EXPECT_TRUE(PutOne(writer, names.back(), std::make_shared<const std::string>("x")).ok());
  }
  return names;
}

TEST(BackgroundChunkWriterTest, CreatedChunksAreSyncedBehindInBatches) {
  GatedStore store;
  ASSERT_TRUE(store.Put("present", "old").ok());
  BackgroundChunkWriter writer(store);
  ASSERT_TRUE(PutOne(writer, "present", std::make_shared<const std::string>("old")).ok());
  const auto batch = PutMany(writer, "c", BackgroundChunkWriter::kSyncBatch);
  ASSERT_TRUE(store.WaitForSyncsDone(1));
  EXPECT_EQ(nexus::testing::ThreadsNamed("chunk-syncer"), 1);
  // A partial batch is left to the caller's Sync.
  PutMany(writer, "rest", BackgroundChunkWriter::kSyncBatch - 1);
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_EQ(store.synced(), std::vector<std::vector<std::string>>{batch})
      << "only chunks this writer created, a full batch at a time";
  writer.Stop();
  EXPECT_EQ(nexus::testing::ThreadsNamedAfterJoins("chunk-syncer"), 0);
}

// Opens the store's sync gate when it goes out of scope, so that a failed
// assertion cannot leave the writer's Stop joining a syncer held at it.
struct SyncGateOpener {
  GatedStore& store;
  ~SyncGateOpener() { store.HoldSyncs(false); }
};

// Runs `op` on a thread; `returned` tells whether it came back yet.
class Background {
 public:
  explicit Background(std::function<void()> op)
      : thread_([this, op = std::move(op)] {
          op();
          returned_ = true;
        }) {}
  ~Background() { thread_.join(); }
  bool returned() const { return returned_.load(); }

 private:
  std::atomic<bool> returned_ = false;
  std::thread thread_;
};

// Drain (else the caller's Sync would fsync the same chunks beside the
// batch) and Stop (else a sync would outlive the writer) both wait for a
// background batch in progress.
TEST(BackgroundChunkWriterTest, DrainAndStopWaitForTheSyncInProgress) {
  for (const std::string op : {"Drain", "Stop"}) {
    SCOPED_TRACE(op);
    GatedStore store;
    store.HoldSyncs(true);
    BackgroundChunkWriter writer(store);
    SyncGateOpener opener{store};
    PutMany(writer, "c", BackgroundChunkWriter::kSyncBatch);
    ASSERT_TRUE(store.WaitForSyncsStarted(1));
    Status drained;
    {
      Background call([&] {
        if (op == "Drain") {
          drained = writer.Drain();
        } else {
          writer.Stop();
        }
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      EXPECT_FALSE(call.returned()) << op << " returned while the batch was still syncing";
      store.HoldSyncs(false);
    }
    EXPECT_TRUE(drained.ok());
    EXPECT_EQ(store.synced().size(), 1u);
  }
}

TEST(BackgroundChunkWriterTest, AFailedBackgroundSyncFailsTheNextPutAndDrain) {
  GatedStore store;
  store.FailSyncs(UnavailableError("fsync failed"));
  BackgroundChunkWriter writer(store);
  const auto batch = PutMany(writer, "c", BackgroundChunkWriter::kSyncBatch);
  ASSERT_TRUE(store.WaitForSyncsDone(1));
  // Kept like a failed put: the upload stops streaming and does not rest on
  // the store failing the same chunks again at its commit.
  ExpectFailedFromNowOn(writer, store, "sync chunks");
  EXPECT_EQ(writer.created(), batch) << "so the failed upload removes them";
}

}  // namespace
}  // namespace nexus::daemon::storage
