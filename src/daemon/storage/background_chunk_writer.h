// BackgroundChunkWriter: stores an upload's chunks (ChunkStore::PutPieces)
// on a thread of its own, so the upload's thread goes on receiving, chunking
// and hashing while the last chunks are written. A store a round trip away
// (ChunkStore::WritesInFlight above 1) gets that many writer threads, so its
// PUTs overlap instead of waiting for each other; the queue's bound grows
// with them. A put is a handful of
// filesystem calls (stat, mkdir, open, write, sync_file_range, rename); for
// a 1 GiB upload they took 0.7-1.1 s, all of it on the upload's critical
// path before (bench/RESULTS.md).
//
// Put queues a chunk whose pieces stay valid as long as `owner` lives. A
// chunk joins the queue only if the bytes queued or being written stay
// within kMaxQueuedBytes, or the queue is empty (so one chunk bigger than
// that is admitted alone); otherwise Put blocks, so memory stays bounded.
// The first failed put is kept: the chunks queued after it are dropped
// unwritten, and every later Put and Drain returns it. Drain waits until
// nothing is queued, being written or being synced (below); Stop drops what
// is still queued (releasing the owners) and waits for the put and the sync
// in progress. If no thread can be made, Put writes inline (same result).
//
// Sync-behind: the chunks it created are made durable (ChunkStore::Sync) on
// a second thread, kSyncBatch at a time, while the upload goes on; the
// commit's Sync then finds only the last few left. Left to the commit, the
// fsyncs of a 1 GiB upload's ~900 chunks and their new directories took
// 0.6-0.9 s after the last byte (bench/RESULTS.md). A failed background
// sync is kept like a failed put.
//
// One producer: Put, Drain, Stop and created are called from one thread at
// a time.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "daemon/storage/chunk_store.h"

namespace nexus::daemon::storage {

class BackgroundChunkWriter {
 public:
  static constexpr size_t kMaxQueuedBytes = 4 << 20;  // per writer thread
  // Created chunks per background Sync: enough for the journal to commit
  // them together, few enough that the commit finds little left.
  static constexpr size_t kSyncBatch = 8;

  explicit BackgroundChunkWriter(ChunkStore& store)
      : store_(store), writers_(std::max(1, store.WritesInFlight())) {}
  ~BackgroundChunkWriter() { Stop(); }
  BackgroundChunkWriter(const BackgroundChunkWriter&) = delete;
  BackgroundChunkWriter& operator=(const BackgroundChunkWriter&) = delete;

  // Queues the chunk `hash` made of `pieces` (kept alive by `owner`). Returns
  // the error of an earlier put or background sync, if one failed (this
  // chunk is then dropped).
  Status Put(std::string hash, std::span<const std::string_view> pieces,
             std::shared_ptr<const void> owner);
  // The stream's last chunk, stored before this returns (with everything
  // queued before it): on the caller's thread if no thread was started yet,
  // so a file of one chunk starts none. The first error of any put, if one
  // failed.
  Status PutLast(std::string hash, std::span<const std::string_view> pieces,
                 std::shared_ptr<const void> owner);
  // Waits until every queued chunk is written and no background Sync runs;
  // the first error of a put or a background sync, if any. The chunks not
  // yet synced then are left to the caller's Sync.
  Status Drain();
  // Drops the queue and waits for the put and the sync in progress.
  // Idempotent.
  void Stop();
  // The chunks this writer created (not found present), as of the last
  // Drain or Stop.
  const std::vector<std::string>& created() const { return created_; }

 private:
  struct Job {
    std::string hash;
    std::vector<std::string_view> pieces;
    std::shared_ptr<const void> owner;
    size_t bytes = 0;
  };

  // Puts one chunk; records it in created_ or the error in error_.
  void Write(const Job& job);
  // Write on the caller's thread, unless stopped or an earlier put failed;
  // returns error_.
  Status WriteInline(const Job& job);
  void Run();
  void RunSyncs();
  // Starts the writer threads; false if not even one could be made.
  bool StartThreads();
  // Starts the syncer thread (mu_ not held); without it, no sync-behind.
  void StartSyncer();

  ChunkStore& store_;
  const int writers_;
  std::mutex mu_;
  std::condition_variable work_;       // the thread waits here for jobs
  std::condition_variable room_;       // Put and Drain wait here
  std::deque<Job> queue_;              // guarded by mu_
  size_t queued_bytes_ = 0;            // guarded by mu_: queued or being written
  Status error_;                       // guarded by mu_: the first failed put or sync
  std::vector<std::string> created_;   // guarded by mu_ while the thread runs
  std::condition_variable sync_work_;  // the syncer waits here for a batch
  std::vector<std::string> to_sync_;   // guarded by mu_: created, not yet synced
  bool syncing_ = false;               // guarded by mu_: a background Sync runs
  bool no_syncer_ = false;             // guarded by mu_: it could not be made
  bool syncer_asked_ = false;          // guarded by mu_: a writer is starting it
  bool stopping_ = false;              // guarded by mu_
  bool no_thread_ = false;             // no thread could be made: write inline
  std::vector<std::thread> threads_;   // started with the first Put
  std::thread syncer_;                 // started with the first full batch
};

}  // namespace nexus::daemon::storage
