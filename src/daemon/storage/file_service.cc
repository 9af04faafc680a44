#include "daemon/storage/file_service.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <system_error>
#include <thread>

#include "daemon/storage/safe_name.h"

namespace nexus::daemon::storage {
namespace {

Status UploadClosed() { return InternalError("upload is already committed or aborted"); }

}  // namespace

Result<std::string> NewFileId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return InternalError("generate file id: RAND_bytes failed");
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(out);
}

// ---- Upload ------------------------------------------------------------------

Upload::Upload(FileService& service, std::string owner, std::string name,
               std::unique_ptr<QuotaLedger::Reservation> reservation, CommitFn commit)
    : service_(service),
      owner_(std::move(owner)),
      name_(std::move(name)),
      reservation_(std::move(reservation)),
      commit_(std::move(commit)),
      chunker_(service.options_.chunker),
      writer_(service.chunks_) {}

Upload::~Upload() { Abort(); }

Status Upload::Write(std::string_view data) { return Feed(data, nullptr); }

Status Upload::WriteShared(std::string_view data, const std::shared_ptr<const void>& owner) {
  return Feed(data, &owner);
}

Status Upload::Feed(std::string_view data, const std::shared_ptr<const void>* owner) {
  if (state_ == State::kFailed) return failure_;
  if (state_ != State::kOpen) return UploadClosed();
  // Before the bytes go on: what this owner's uploads store never exceeds
  // what the quota leaves them (see quota_ledger.h).
  if (Status s = reservation_->Grow(static_cast<int64_t>(data.size())); !s.ok()) return Fail(s);
  content_hash_.Update(data, owner ? *owner : nullptr);
  size_ += static_cast<int64_t>(data.size());
  auto sink = [this](std::span<const std::string_view> pieces,
                     const std::shared_ptr<const void>& bytes_owner) {
    return StoreChunk(pieces, bytes_owner);
  };
  Status s = owner ? chunker_.WriteShared(data, *owner, sink) : chunker_.Write(data, sink);
  if (!s.ok()) return Fail(s);
  return Status::Ok();
}

Status Upload::StoreChunk(std::span<const std::string_view> pieces,
                          const std::shared_ptr<const void>& owner, bool last) {
  size_t size = 0;
  for (std::string_view p : pieces) {
    chunk_hash_.Update(p);
    size += p.size();
  }
  std::string hash = ToHex(chunk_hash_.Finish());
  // Lease before Put: once Put finds the chunk present, nobody may remove it
  // until this upload has committed its reference or given up.
  if (leased_.insert(hash).second) {
    if (Status leased = service_.Lease(hash); !leased.ok()) {
      return leased.WithContext("upload '" + name_ + "'");
    }
  }
  const int64_t offset = chunks_.empty() ? 0 : chunks_.back().offset + chunks_.back().size;
  chunks_.push_back({hash, offset, static_cast<int64_t>(size)});
  // Written while the next chunk is received and hashed; a failure shows up
  // here for a later chunk, or at Commit. Nothing follows the last one.
  if (last) return writer_.PutLast(std::move(hash), pieces, owner);
  return writer_.Put(std::move(hash), pieces, owner);
}

Result<FileRecord> Upload::Commit() {
  if (state_ == State::kFailed) return failure_;
  if (state_ != State::kOpen) return UploadClosed();
  Status s = chunker_.Finish(
      [this](std::span<const std::string_view> pieces, const std::shared_ptr<const void>& owner) {
        return StoreChunk(pieces, owner, /*last=*/true);
      });
  if (s.ok()) s = writer_.Drain();
  if (!s.ok()) return Fail(s);
  // The commit may reference only chunks that survive a crash, including the
  // ones found present that another upload stored and has not synced yet.
  // The writer synced most of its own behind the upload; the store fsyncs
  // only what is left (the last partial batch, and such found chunks), all
  // together.
  s = service_.chunks_.Sync(std::vector<std::string>(leased_.begin(), leased_.end()));
  if (!s.ok()) return Fail(s.WithContext("upload '" + name_ + "'"));
  Result<std::string> id = NewFileId();
  if (!id.ok()) return Fail(id.status());
  FileRecord record;
  record.id = *id;
  record.owner = owner_;
  record.name = name_;
  record.size = size_;
  record.sha256 = ToHex(content_hash_.Finish());
  record.chunks_count = static_cast<int64_t>(chunks_.size());
  record.status = kStatusUploaded;
  record.s3_etag = s3_etag_;
  // The reservation turns into committed bytes in the same step.
  Result<CommitOutcome> outcome = InternalError("upload '" + name_ + "': not committed");
  s = reservation_->Commit([&] {
    outcome = commit_(record, chunks_, service_.QuotaFor(owner_));
    return outcome.status();
  });
  if (!s.ok()) return Fail(s);
  state_ = State::kCommitted;
  // This upload's chunks are referenced now; releasing the leases only lets
  // removals that waited on them re-check (and find the references). What the
  // commit released (a replaced file's chunks) goes now.
  service_.ReleaseAndRemove(leased_, outcome->released);
  leased_.clear();
  chunks_.clear();
  return std::move(outcome->file);
}

void Upload::Abort() {
  if (state_ != State::kOpen) return;
  state_ = State::kAborted;
  Cleanup();
}

Status Upload::Fail(Status status) {
  state_ = State::kFailed;
  failure_ = status;
  Cleanup();
  return status;
}

void Upload::Cleanup() {
  // Drop the references to the caller's bytes (the content hash lets go of
  // its own once it caught up: at most a few MiB to hash).
  chunker_.Reset();
  (void)content_hash_.Finish();
  // After the put in progress, so every chunk this upload created is known.
  writer_.Stop();
  service_.ReleaseAndRemove(leased_, writer_.created());
  leased_.clear();
  chunks_.clear();
  // Only now that its chunks are gone: the room it held is really free.
  reservation_->Release();
}

// ---- FileReader --------------------------------------------------------------

FileReader::FileReader(FileService& service, FileRecord file, int64_t offset, int64_t length,
                       std::vector<ChunkRef> chunks)
    : service_(service),
      file_(std::move(file)),
      offset_(offset),
      length_(length),
      chunks_(std::move(chunks)),
      position_(offset) {}

FileReader::~FileReader() {
  // Reads still going end before their chunks' leases go (a chunk
  // released may be removed under them).
  ahead_.clear();
  ReleaseLeases();
}

void FileReader::ReleaseLeases() {
  if (!leased_) return;
  leased_ = false;
  std::unordered_set<std::string> hashes;
  for (const auto& c : chunks_) hashes.insert(c.hash);
  service_.ReleaseAndRemove(hashes, {});
}

Result<std::string_view> FileReader::Next() {
  NEXUS_ASSIGN_OR_RETURN(Piece piece, NextPiece());
  return piece.bytes;
}

Result<FileReader::Piece> FileReader::NextPiece() {
  const int64_t end = offset_ + length_;
  if (position_ >= end || next_chunk_ >= chunks_.size()) {
    ReleaseLeases();
    current_.reset();
    return Piece{};
  }
  const ChunkRef& c = chunks_[next_chunk_];
  const auto size = static_cast<size_t>(c.size);
  std::shared_ptr<char[]> buffer;
  Status read;
  const int in_flight = service_.chunks_.ReadsInFlight();
  if (in_flight <= 1) {
    // A fresh buffer per chunk (the caller may still hold the last one), not
    // zero-filled: the store reads into it and verifies it there.
    buffer.reset(new char[size == 0 ? 1 : size]);
    read = service_.chunks_.ReadInto(c.hash, std::span<char>(buffer.get(), size));
  } else {
    // Keep `in_flight` reads going over the chunks the range still needs.
    if (next_to_start_ < next_chunk_) next_to_start_ = next_chunk_;
    while (ahead_.size() < static_cast<size_t>(in_flight) && next_to_start_ < chunks_.size() &&
           chunks_[next_to_start_].offset < end) {
      const ChunkRef& n = chunks_[next_to_start_++];
      const auto n_size = static_cast<size_t>(n.size);
      std::shared_ptr<char[]> b(new char[n_size == 0 ? 1 : n_size]);
      ChunkStore& store = service_.chunks_;
      std::string hash = n.hash;
      // The lambda holds the buffer too, so a reader dropped mid-read
      // (its future's destructor waits) never leaves it writing freed memory.
      // Deferred (read when waited for) if no thread can be made.
      ahead_.push_back(Pending{
          b, std::async(std::launch::async | std::launch::deferred, [&store, hash, b, n_size] {
            return store.ReadInto(hash, std::span<char>(b.get(), n_size));
          })});
    }
    buffer = std::move(ahead_.front().buffer);
    read = ahead_.front().read.get();
    ahead_.pop_front();
  }
  if (!read.ok()) {
    // A caller that tries again starts from this chunk, with nothing ahead.
    ahead_.clear();
    next_to_start_ = next_chunk_;
    if (read.code() == StatusCode::kUnavailable || read.code() == StatusCode::kUpstreamFailed) {
      // A remote store out of reach: nothing is lost, a later read may work.
      spdlog::warn("read file {}: chunk {}: {}", file_.id, c.hash, read.message());
      return read.WithContext("read file " + file_.id);
    }
    // Either way a committed file lost data: say so loudly, show no details.
    read = read.code() == StatusCode::kNotFound
               ? InternalError("chunk " + c.hash + " of file " + file_.id + " is missing")
               : read.WithContext("read file " + file_.id);
    spdlog::error("DATA LOSS: {}", read.message());
    return read;
  }
  const std::string_view bytes(buffer.get(), size);
  current_ = std::move(buffer);
  ++next_chunk_;
  const int64_t from = position_ - c.offset;
  const int64_t to = std::min(c.size, end - c.offset);
  position_ = c.offset + to;
  return Piece{current_, bytes.substr(static_cast<size_t>(from), static_cast<size_t>(to - from))};
}

// ---- FileService -------------------------------------------------------------

FileService::FileService(ChunkStore& chunks, MetadataStore& metadata, FileServiceOptions options)
    : chunks_(chunks),
      metadata_(metadata),
      options_(std::move(options)),
      quota_ledger_([this](const std::string& owner) { return metadata_.UsedBytes(owner); }) {
  if (options_.shared_leases != nullptr) renewer_ = std::thread([this] { RenewerLoop(); });
}

void FileService::RenewerLoop() {
  std::unique_lock lock(remove_mu_);
  while (!renew_cv_.wait_for(lock, ChunkLeaseTable::kRenewEvery, [this] { return stopping_; })) {
    lock.unlock();
    if (Status s = options_.shared_leases->Renew(); !s.ok()) {
      spdlog::warn("renew chunk leases: {}", s.message());
    }
    lock.lock();
  }
}

FileService::~FileService() {
  {
    std::lock_guard lock(remove_mu_);
    stopping_ = true;
    stop_deadline_ = std::chrono::steady_clock::now() + kStopDrainTime;
  }
  remove_cv_.notify_all();
  renew_cv_.notify_all();
  if (remover_.joinable()) remover_.join();
  if (renewer_.joinable()) renewer_.join();
}

Result<std::unique_ptr<Upload>> FileService::Begin(const std::string& owner,
                                                   std::string_view file_name,
                                                   int64_t declared_size) {
  UploadOptions options;
  options.declared_size = declared_size;
  return Begin(owner, file_name, std::move(options));
}

Result<std::unique_ptr<Upload>> FileService::Begin(const std::string& owner,
                                                   std::string_view file_name,
                                                   UploadOptions options) {
  if (owner.empty()) return InvalidArgumentError("upload: owner is empty");
  std::string name = SafeBaseName(file_name);
  NEXUS_RETURN_IF_ERROR(RefuseBidiControls("upload: the file name", name));
  const int64_t quota = QuotaFor(owner);
  if (quota != kUnlimitedQuota && options.declared_size >= 0) {
    NEXUS_ASSIGN_OR_RETURN(int64_t used, metadata_.UsedBytes(owner));
    const int64_t counted = std::max<int64_t>(0, used - options.replaced_bytes);
    if (options.declared_size > quota - counted) {
      return QuotaError(counted, quota, options.declared_size);
    }
  }
  if (options.adds_entry) NEXUS_RETURN_IF_ERROR(metadata_.CheckRoomForEntry(owner));
  CommitFn commit = std::move(options.commit);
  if (!commit) {
    commit = [this](const FileRecord& file, const std::vector<ChunkRef>& chunks,
                    int64_t quota_bytes) -> Result<CommitOutcome> {
      NEXUS_ASSIGN_OR_RETURN(FileRecord stored, metadata_.CommitFile(file, chunks, quota_bytes));
      return CommitOutcome{std::move(stored), {}};
    };
  }
  auto reservation = quota_ledger_.Open(
      owner, quota, {std::move(options.replaced_file_id), options.replaced_bytes});
  return std::unique_ptr<Upload>(
      new Upload(*this, owner, std::move(name), std::move(reservation), std::move(commit)));
}

Result<std::vector<FileRecord>> FileService::List(const std::string& owner) {
  return metadata_.ListFiles(owner);
}

Result<FileRecord> FileService::Get(const std::string& owner, const std::string& id) {
  return metadata_.GetFile(owner, id);
}

Result<std::unique_ptr<FileReader>> FileService::Open(const std::string& owner,
                                                      const std::string& id,
                                                      std::optional<ByteRange> range) {
  NEXUS_ASSIGN_OR_RETURN(FileRecord file, metadata_.GetFile(owner, id));
  int64_t offset = 0;
  int64_t length = file.size;
  if (range) {
    auto unsatisfiable = [&] {
      return Status(StatusCode::kRangeNotSatisfiable,
                    "range " + std::to_string(range->offset) + "+" + std::to_string(range->length) +
                        " is outside file " + id + " of " + std::to_string(file.size) + " bytes");
    };
    if (range->offset < 0) {
      if (range->length != -1 || file.size == 0) return unsatisfiable();
      length = std::min(-range->offset, file.size);
      offset = file.size - length;
    } else {
      if (range->offset >= file.size || range->length == 0 || range->length < -1) {
        return unsatisfiable();
      }
      offset = range->offset;
      length =
          range->length == -1 ? file.size - offset : std::min(range->length, file.size - offset);
    }
  }
  std::vector<ChunkRef> refs;
  std::unordered_set<std::string> distinct;
  if (length > 0) {
    // Listing and leasing under the lease mutex: a concurrent Delete cannot
    // remove a chunk between the two.
    std::lock_guard lock(lease_mu_);
    NEXUS_ASSIGN_OR_RETURN(refs, metadata_.ChunksForRange(id, offset, length));
    const bool covered = !refs.empty() && refs.front().offset <= offset &&
                         refs.back().offset + refs.back().size >= offset + length;
    if (!covered) return NotFoundError("file " + id + " not found");  // deleted meanwhile
    for (const auto& r : refs) {
      if (distinct.insert(r.hash).second) ++leases_[r.hash];
    }
  }
  auto reader = std::unique_ptr<FileReader>(
      new FileReader(*this, std::move(file), offset, length, std::move(refs)));
  if (options_.shared_leases != nullptr && length > 0) {
    // Another daemon may have deleted the file, and removed its chunks,
    // since we listed them: once our leases are recorded no removal can
    // start, so a file still there now stays readable.
    NEXUS_RETURN_IF_ERROR(LeaseShared({distinct.begin(), distinct.end()}));
    NEXUS_RETURN_IF_ERROR(metadata_.GetFile(owner, id).status());
  }
  return reader;
}

Status FileService::Delete(const std::string& owner, const std::string& id) {
  NEXUS_ASSIGN_OR_RETURN(std::vector<std::string> released, metadata_.DeleteFile(owner, id));
  RemoveReleasedChunks(released);
  return Status::Ok();
}

int64_t FileService::QuotaFor(const std::string& owner) const {
  return options_.quota_for ? options_.quota_for(owner) : kUnlimitedQuota;
}

void FileService::RemoveReleasedChunks(const std::vector<std::string>& hashes) {
  const size_t inline_removals = chunks_.RemoveIsCheap() ? kInlineRemovals : 0;
  if (hashes.size() <= inline_removals) {
    ReleaseAndRemove({}, hashes);
    return;
  }
  if (inline_removals > 0) {
    ReleaseAndRemove({},
                     std::vector<std::string>(hashes.begin(), hashes.begin() + inline_removals));
  }
  {
    std::lock_guard lock(remove_mu_);
    remove_queue_.insert(remove_queue_.end(), hashes.begin() + inline_removals, hashes.end());
    if (!remover_.joinable()) {
      try {
        remover_ = std::thread([this] { RemoverLoop(); });
      } catch (const std::system_error& e) {
        // Left queued: the next start-up sweep takes the chunks if we never get to them.
        spdlog::warn("remove released chunks later: {}", e.what());
      }
    }
  }
  remove_cv_.notify_one();
}

void FileService::RemoverLoop() {
  std::unique_lock lock(remove_mu_);
  for (;;) {
    remove_cv_.wait(lock, [this] { return stopping_ || !remove_queue_.empty(); });
    // Drained when stopping, for a while: the chunks go now rather than at
    // the next sweep, unless that would hold the stop up.
    if (remove_queue_.empty()) return;
    if (stopping_ && std::chrono::steady_clock::now() > stop_deadline_) {
      spdlog::info("stopping: {} released chunks are left to the next start-up sweep",
                   remove_queue_.size());
      return;
    }
    // Small batches, so uploads and readers waiting for lease_mu_ get their
    // turn; smaller still when each removal is a round trip to a server.
    const size_t batch_size = chunks_.RemoveIsCheap() ? 64 : 4;
    std::vector<std::string> batch;
    while (!remove_queue_.empty() && batch.size() < batch_size) {
      batch.push_back(std::move(remove_queue_.front()));
      remove_queue_.pop_front();
    }
    lock.unlock();
    ReleaseAndRemove({}, batch);
    lock.lock();
  }
}

Result<SweepStats> FileService::StartupSweep() {
  // A transaction the last process committed may be visible without being
  // on disk yet (killed between its log write and its fsync). Unlinking the
  // chunks it dropped would be undone by nothing if a power cut then undid
  // the transaction: make what we are about to read durable first.
  NEXUS_RETURN_IF_ERROR(metadata_.SyncToDisk());
  std::lock_guard lock(lease_mu_);
  NEXUS_ASSIGN_OR_RETURN(auto referenced, metadata_.AllReferencedHashes());
  // With daemons sharing the store, each chunk the sweep would take is
  // claimed as a removal first (chunk_lease_table.h): one another daemon
  // leased, or has just referenced, stays.
  std::vector<std::string> claimed;
  auto keep = [&](const std::string& hash) {
    if (referenced.count(hash) > 0 || leases_.count(hash) > 0) return true;
    if (options_.shared_leases == nullptr) return false;
    Result<bool> may = options_.shared_leases->BeginRemoval(hash);
    if (!may.ok() || !*may) return true;
    claimed.push_back(hash);
    return false;
  };
  Result<SweepStats> swept = chunks_.Sweep(keep);
  if (options_.shared_leases != nullptr) {
    if (Status s = options_.shared_leases->EndRemoval(claimed); !s.ok()) {
      spdlog::warn("end the sweep's chunk removals: {}", s.message());
    }
  }
  NEXUS_ASSIGN_OR_RETURN(SweepStats stats, std::move(swept));
  spdlog::info("storage sweep: removed {} temp files and {} unreferenced chunks, kept {} chunks",
               stats.temp_files_removed, stats.chunks_removed, stats.chunks_kept);
  return stats;
}

Status FileService::Lease(const std::string& hash) {
  {
    std::lock_guard lock(lease_mu_);
    ++leases_[hash];
  }
  // Every upload records its own lease (an upsert): one taken by another
  // upload of this process may be going away right now.
  if (options_.shared_leases != nullptr) return LeaseShared({hash});
  return Status::Ok();
}

Status FileService::LeaseShared(const std::vector<std::string>& hashes) {
  NEXUS_ASSIGN_OR_RETURN(bool removing, options_.shared_leases->Acquire(hashes));
  // Another daemon is deleting one of them: looking for it now could find
  // it just before it goes. Wait for the removal to end (a removal that
  // outlives its time limit no longer counts).
  while (removing) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    NEXUS_ASSIGN_OR_RETURN(removing, options_.shared_leases->RemovalsUnderWay(hashes));
  }
  return Status::Ok();
}

void FileService::ReleaseAndRemove(const std::unordered_set<std::string>& leased,
                                   const std::vector<std::string>& candidates) {
  std::lock_guard lock(lease_mu_);
  std::vector<std::string> retry;
  std::vector<std::string> dropped;
  for (const auto& hash : leased) {
    auto it = leases_.find(hash);
    if (it == leases_.end()) continue;
    if (--it->second == 0) {
      leases_.erase(it);
      dropped.push_back(hash);
      if (deferred_.count(hash)) retry.push_back(hash);
    }
  }
  // Under lease_mu_, so a new lease of the same hash is recorded after this.
  if (options_.shared_leases != nullptr) {
    Result<std::vector<std::string>> orphans = options_.shared_leases->Release(dropped);
    if (!orphans.ok()) {
      // They expire on their own; until then they only delay removals.
      spdlog::warn("release {} chunk leases: {}", dropped.size(), orphans.status().message());
    } else {
      // Another daemon would have removed these but for our leases.
      for (const auto& hash : *orphans) {
        if (!deferred_.count(hash)) retry.push_back(hash);
      }
    }
  }
  for (const auto& hash : candidates) TryRemoveLocked(hash);
  for (const auto& hash : retry) TryRemoveLocked(hash);
}

void FileService::TryRemoveLocked(const std::string& hash) {
  if (leases_.count(hash)) {
    deferred_.insert(hash);
    return;
  }
  deferred_.erase(hash);
  if (options_.shared_leases != nullptr) {
    RemoveUnreferencedLocked(hash);
    return;
  }
  Result<bool> referenced = metadata_.IsChunkReferenced(hash);
  if (!referenced.ok()) {
    // Keeping an unreferenced chunk only costs space; the next sweep takes it.
    spdlog::warn("keep chunk {}: {}", hash, referenced.status().message());
    return;
  }
  if (*referenced) return;
  if (Status s = chunks_.Remove(hash); !s.ok()) {
    spdlog::warn("remove unreferenced chunk {}: {}", hash, s.message());
  }
}

void FileService::RemoveUnreferencedLocked(const std::string& hash) {
  // Another daemon's lease or removal, or a reference, keeps it: an
  // unreferenced chunk left behind only costs space until a start-up sweep.
  Result<bool> may = options_.shared_leases->BeginRemoval(hash);
  if (!may.ok()) {
    spdlog::warn("keep chunk {}: {}", hash, may.status().message());
    return;
  }
  if (!*may) return;
  if (Status s = chunks_.Remove(hash); !s.ok()) {
    spdlog::warn("remove unreferenced chunk {}: {}", hash, s.message());
  }
  if (Status s = options_.shared_leases->EndRemoval({hash}); !s.ok()) {
    spdlog::warn("end the removal of chunk {}: {}", hash, s.message());
  }
}

}  // namespace nexus::daemon::storage
