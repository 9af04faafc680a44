#include "daemon/storage/background_chunk_writer.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "common/named_thread.h"

namespace nexus::daemon::storage {
namespace {

Status Stopped(const std::string& hash) {
  return InternalError("store chunk " + hash + ": the chunk writer was stopped");
}

}  // namespace

Status BackgroundChunkWriter::Put(std::string hash, std::span<const std::string_view> pieces,
                                  std::shared_ptr<const void> owner) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Stopped(hash);
  }
  Job job{std::move(hash), {pieces.begin(), pieces.end()}, std::move(owner), 0};
  for (std::string_view p : job.pieces) job.bytes += p.size();
  if (threads_.empty() && !no_thread_) no_thread_ = !StartThreads();
  if (no_thread_) return WriteInline(job);
  {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] {
      return stopping_ || !error_.ok() || queued_bytes_ == 0 ||
             queued_bytes_ + job.bytes <= kMaxQueuedBytes * static_cast<size_t>(writers_);
    });
    if (stopping_) return Stopped(job.hash);
    if (!error_.ok()) return error_;
    queued_bytes_ += job.bytes;
    queue_.push_back(std::move(job));
  }
  work_.notify_one();
  return Status::Ok();
}

bool BackgroundChunkWriter::StartThreads() {
  for (int i = 0; i < writers_; ++i) {
    try {
      threads_.push_back(StartNamedThread("chunk-writer", [this] { Run(); }));
    } catch (const std::exception&) {
      break;  // fewer writers; with none, written inline: slower, same result
    }
  }
  return !threads_.empty();
}

void BackgroundChunkWriter::StartSyncer() {
  try {
    syncer_ = StartNamedThread("chunk-syncer", [this] { RunSyncs(); });
  } catch (const std::exception&) {
    // No sync-behind: the caller's Sync does all of it, as it would anyway.
    std::lock_guard lock(mu_);
    no_syncer_ = true;
    to_sync_.clear();
  }
}

Status BackgroundChunkWriter::PutLast(std::string hash, std::span<const std::string_view> pieces,
                                      std::shared_ptr<const void> owner) {
  if (!threads_.empty()) {
    NEXUS_RETURN_IF_ERROR(Put(std::move(hash), pieces, std::move(owner)));
    return Drain();
  }
  // Nothing runs or waits elsewhere: a file of one chunk starts no thread.
  return WriteInline(Job{std::move(hash), {pieces.begin(), pieces.end()}, std::move(owner), 0});
}

Status BackgroundChunkWriter::WriteInline(const Job& job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Stopped(job.hash);
    if (!error_.ok()) return error_;
  }
  Write(job);
  std::lock_guard lock(mu_);
  return error_;
}

Status BackgroundChunkWriter::Drain() {
  std::unique_lock lock(mu_);
  room_.wait(lock, [&] { return stopping_ || (queued_bytes_ == 0 && !syncing_); });
  if (stopping_ && error_.ok()) return Stopped("(drain)");
  // The caller's Sync takes the rest; a batch started now would only
  // fsync the same chunks beside it.
  to_sync_.clear();
  return error_;
}

void BackgroundChunkWriter::Stop() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  dropped.clear();  // releases their owners now: the thread never sees them
  work_.notify_all();
  sync_work_.notify_one();
  room_.notify_all();  // a Put or Drain waiting for room gives up
  // The writers first: they are the ones that start the syncer.
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (syncer_.joinable()) syncer_.join();
  queued_bytes_ = 0;
}

void BackgroundChunkWriter::Write(const Job& job) {
  Result<bool> created = store_.PutPieces(job.hash, job.pieces);
  bool start_syncer = false;
  {
    std::lock_guard lock(mu_);
    if (!created.ok()) {
      if (error_.ok()) {
        // The chunk's hash goes to the log, not into the status: an
        // unavailable store's message reaches the client.
        spdlog::warn("store chunk {}: {}", job.hash, created.status().ToString());
        error_ = created.status();
      }
    } else if (*created) {
      created_.push_back(job.hash);
      if (!no_syncer_) to_sync_.push_back(job.hash);
      if (to_sync_.size() >= kSyncBatch) {
        // Started with the first full batch: a file of a few chunks needs
        // none. One writer starts it; it finds the batch waiting when it runs.
        if (syncer_asked_) {
          sync_work_.notify_one();
        } else {
          start_syncer = !stopping_;
          syncer_asked_ = start_syncer;
        }
      }
    }
  }
  // Outside mu_, so Put and Drain do not wait for a thread's creation. Only
  // the writer that set syncer_asked_ touches syncer_ before Stop.
  if (start_syncer) StartSyncer();
}

void BackgroundChunkWriter::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    const bool failed = !error_.ok();
    lock.unlock();
    // After a failure nothing more is written: the upload is failing anyway.
    if (!failed) Write(job);
    const size_t bytes = job.bytes;
    job = Job{};  // releases the owner before Put or Drain hears of it
    lock.lock();
    queued_bytes_ -= bytes;
    room_.notify_all();
  }
}

void BackgroundChunkWriter::RunSyncs() {
  std::unique_lock lock(mu_);
  for (;;) {
    sync_work_.wait(lock, [&] { return stopping_ || to_sync_.size() >= kSyncBatch; });
    if (stopping_) return;
    std::vector<std::string> batch;
    batch.swap(to_sync_);
    syncing_ = true;
    lock.unlock();
    Status synced = store_.Sync(batch);
    lock.lock();
    // Kept like a failed put: the upload fails at its next Put instead of
    // streaming on, and does not rest on the store failing the chunk again.
    if (!synced.ok() && error_.ok()) error_ = synced.WithContext("sync chunks");
    syncing_ = false;
    room_.notify_all();
  }
}

}  // namespace nexus::daemon::storage
