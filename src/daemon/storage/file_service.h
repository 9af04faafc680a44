// FileService: the storage domain behind the Files API — streaming upload
// with content-defined chunking and deduplication, ranged verified download,
// delete, and the start-up sweep. The gRPC adapter calls this; it knows
// nothing of gRPC or HTTP.
//
// Upload: Begin() returns an Upload; Write() feeds bytes as they arrive (they
// flow through the chunker, each chunk is hashed and stored unless already
// present, and the content hash is computed on the way); Commit() checks the
// quota and records the file in one transaction. Abort(), a failed Write or
// Commit, or destroying an uncommitted Upload removes the chunks this upload
// created that nothing references.
//
// Quota while streaming: every byte is reserved in the owner's QuotaLedger
// (quota_ledger.h) before it goes on, so all of one owner's uploads together
// never store more than the quota allows (plus the files they replace), and
// an upload that would not fit fails with kQuotaExceeded at once. The
// reservation goes back once the upload's chunks are removed (failure) or
// with the commit. Memory per upload is about one max chunk.
// By default Commit records a plain file (the Files API); UploadOptions::commit
// lets the tree (tree_service.h) record it at a path in the same transaction,
// possibly replacing an older file whose chunks are removed after the commit.
//
// Chunk lifetime across concurrent operations: a chunk file may be removed
// only when no committed file references it (the refcount table) AND no
// in-flight upload or open reader holds a lease on it. Uploads lease a hash
// before storing it, readers before reading, and removal checks both under
// one mutex, so an upload that found a chunk already present (and skipped
// writing it) can never see it deleted before its commit. A removal blocked by
// a lease is retried when the last lease is released. Leases live in this
// process: one FileService per chunk store. Daemons that share a metadata
// database and a chunk store also record their leases there
// (FileServiceOptions::shared_leases, chunk_lease_table.h): a chunk another
// daemon leases is not removed (the start-up sweep of whoever runs it last
// takes it, once unreferenced), and an upload that meets another daemon's
// removal of a chunk waits for it to end, then stores the chunk again.
//
// Thread-safe. The ChunkStore and MetadataStore must outlive the service, and
// the service must outlive every Upload and FileReader it returned; each
// Upload or FileReader is used by one thread at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "common/sha256.h"
#include "daemon/storage/background_chunk_writer.h"
#include "daemon/storage/background_sha256.h"
#include "daemon/storage/chunk_lease_table.h"
#include "daemon/storage/chunk_store.h"
#include "daemon/storage/chunker.h"
#include "daemon/storage/metadata_store.h"
#include "daemon/storage/quota_ledger.h"

namespace nexus::daemon::storage {

inline constexpr char kStatusUploaded[] = "Uploaded";

struct FileServiceOptions {
  ChunkerParams chunker;
  // The owner's quota in bytes, or kUnlimitedQuota. Unset: unlimited.
  std::function<int64_t(const std::string& owner)> quota_for;
  // Set when other daemons share the metadata and the chunk store: leases
  // and removals are recorded there too. Must outlive the service.
  ChunkLeaseTable* shared_leases = nullptr;
};

// A byte range of a file. offset >= 0: `length` bytes from there (-1: to the
// end; a range running past the end is clipped). offset < 0: the last
// -offset bytes (an HTTP suffix range); length must then be -1.
struct ByteRange {
  int64_t offset = 0;
  int64_t length = -1;
};

// Records a finished upload (quota check included) in one transaction.
using CommitFn = std::function<Result<CommitOutcome>(
    const FileRecord& file, const std::vector<ChunkRef>& chunks, int64_t quota_bytes)>;

struct UploadOptions {
  // The size the client announced, or -1: lets an upload that cannot fit in
  // the quota fail before any byte is stored.
  int64_t declared_size = -1;
  // Bytes the commit will free (the file it replaces), counted as available
  // by the early checks and the reservation; the commit rechecks exactly.
  int64_t replaced_bytes = 0;
  // The id of that file (several uploads replacing one file share its
  // credit); "" when it frees nothing.
  std::string replaced_file_id;
  // Whether the commit adds an entry (a new file): an owner at the entry
  // limit then fails at Begin. Unknown (a path that arrives later): false,
  // and the commit alone checks.
  bool adds_entry = true;
  // Unset: MetadataStore::CommitFile (a file without a path).
  CommitFn commit;
};

class FileService;

// A fresh file id: a random (version 4) UUID in its lowercase text form.
// Also what a copy in the tree names its new files rows with.
Result<std::string> NewFileId();

class Upload {
 public:
  ~Upload();
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;

  // Feeds the next bytes of the file. After an error the upload is already
  // cleaned up and every later call returns that error.
  Status Write(std::string_view data);
  // The same without copying: `data` must stay valid as long as `owner`
  // lives. The upload keeps `owner` until the chunk holding the bytes is
  // stored, or until it fails, aborts or commits: at most the chunk being
  // built, a few MiB waiting for the whole-file hash, and the chunks queued
  // for writing (BackgroundChunkWriter: 4 MiB, or one larger chunk). For a received message whose
  // payload is a list of slices: one call per slice, all with the message as owner.
  Status WriteShared(std::string_view data, const std::shared_ptr<const void>& owner);
  // The S3 ETag to record with the file (FileRecord::s3_etag).
  void SetS3Etag(std::string etag) { s3_etag_ = std::move(etag); }
  // Flushes the last chunk and commits. On error the upload is cleaned up.
  Result<FileRecord> Commit();
  // Gives up; idempotent; a no-op after Commit.
  void Abort();

  const std::string& name() const { return name_; }
  int64_t bytes_written() const { return size_; }

 private:
  friend class FileService;
  enum class State { kOpen, kFailed, kCommitted, kAborted };

  Upload(FileService& service, std::string owner, std::string name,
         std::unique_ptr<QuotaLedger::Reservation> reservation, CommitFn commit);
  // Write and WriteShared: `owner` null means the chunker copies.
  Status Feed(std::string_view data, const std::shared_ptr<const void>* owner);
  // `last`: the stream's final chunk (from Commit), stored before returning.
  Status StoreChunk(std::span<const std::string_view> pieces,
                    const std::shared_ptr<const void>& owner, bool last = false);
  Status Fail(Status status);
  void Cleanup();

  FileService& service_;
  const std::string owner_;
  const std::string name_;
  // The bytes received so far, held against the owner's quota.
  std::unique_ptr<QuotaLedger::Reservation> reservation_;
  const CommitFn commit_;  // records the file (see UploadOptions::commit)
  Chunker chunker_;
  // The whole content's hash, computed beside the chunk work (its own
  // thread) for the bytes lent with WriteShared.
  BackgroundSha256 content_hash_;
  Sha256 chunk_hash_;  // reused for every chunk (Finish resets it)
  // Stores the chunks while the next ones arrive; knows which it created.
  BackgroundChunkWriter writer_;
  int64_t size_ = 0;
  std::string s3_etag_;
  std::vector<ChunkRef> chunks_;
  std::unordered_set<std::string> leased_;
  State state_ = State::kOpen;
  Status failure_;
};

class FileReader {
 public:
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  const FileRecord& file() const { return file_; }
  // The resolved range: first byte and number of bytes Next will yield.
  int64_t offset() const { return offset_; }
  int64_t length() const { return length_; }

  // The next verified bytes of the range, in order; an empty view at the
  // end. The view stays valid until the next call. A chunk that is missing
  // or fails verification is kInternal (and logged as data loss). From a
  // store whose ReadsInFlight() is above 1, the next chunks of the range are
  // read at the same time, each on a thread of its own (so a download holds
  // that many chunks at most, plus the one handed out).
  Result<std::string_view> Next();

  // The same bytes as Next, for a caller that keeps them past the next call
  // (nexusd hands them to gRPC without a copy): `bytes` points into `chunk`,
  // which the caller may hold as long as it likes. Empty `bytes` at the end.
  struct Piece {
    std::shared_ptr<const void> chunk;  // owns the chunk's buffer
    std::string_view bytes;
  };
  Result<Piece> NextPiece();

 private:
  friend class FileService;
  FileReader(FileService& service, FileRecord file, int64_t offset, int64_t length,
             std::vector<ChunkRef> chunks);
  void ReleaseLeases();

  FileService& service_;
  const FileRecord file_;
  const int64_t offset_;
  const int64_t length_;
  std::vector<ChunkRef> chunks_;
  size_t next_chunk_ = 0;
  int64_t position_;  // file offset of the next byte to yield
  // Reads started ahead, in chunk order from next_chunk_ (remote stores).
  struct Pending {
    std::shared_ptr<char[]> buffer;
    std::future<Status> read;
  };
  std::deque<Pending> ahead_;
  size_t next_to_start_ = 0;  // index of the next chunk to start reading
  // The chunk of the last piece.
  std::shared_ptr<const void> current_;
  bool leased_ = true;
};

class FileService {
 public:
  FileService(ChunkStore& chunks, MetadataStore& metadata, FileServiceOptions options);
  // Finishes the removals still queued (see RemoveReleasedChunks).
  ~FileService();

  // Starts an upload; `file_name` is what the client sent (reduced with
  // SafeBaseName; a name with bidirectional controls is kInvalidArgument).
  // `declared_size` (-1 if unknown) lets an upload that cannot fit in the
  // quota fail before any byte is stored; so does an owner at the entry
  // limit.
  Result<std::unique_ptr<Upload>> Begin(const std::string& owner, std::string_view file_name,
                                        int64_t declared_size = -1);
  Result<std::unique_ptr<Upload>> Begin(const std::string& owner, std::string_view file_name,
                                        UploadOptions options);

  Result<std::vector<FileRecord>> List(const std::string& owner);
  // kNotFound for ids of other owners too.
  Result<FileRecord> Get(const std::string& owner, const std::string& id);

  // A reader over the whole file or `range` (kRangeNotSatisfiable when the
  // range selects no byte of the file).
  Result<std::unique_ptr<FileReader>> Open(const std::string& owner, const std::string& id,
                                           std::optional<ByteRange> range = std::nullopt);

  // Deletes the file's metadata (and its tree entry, if it has one), then the
  // chunk files nothing else uses.
  Status Delete(const std::string& owner, const std::string& id);

  // The owner's quota in bytes, or kUnlimitedQuota.
  int64_t QuotaFor(const std::string& owner) const;
  // Bytes the owner's uploads in progress hold against the quota.
  int64_t ReservedBytes(const std::string& owner) { return quota_ledger_.reserved(owner); }

  // For chunks whose last reference a committed transaction dropped (see
  // MetadataTx::DeleteFiles): removes each chunk file unless it is referenced
  // again or leased, in which case removal waits for the last lease. The
  // first kInlineRemovals go before returning; the rest of a big file's
  // chunks are removed by a background thread (a thousand unlinks can take
  // seconds, longer than a client should wait for a delete). A store whose
  // Remove is a network round trip (ChunkStore::RemoveIsCheap) has them all
  // removed in the background.
  void RemoveReleasedChunks(const std::vector<std::string>& hashes);
  static constexpr size_t kInlineRemovals = 256;
  // How long the destructor lets queued removals run before leaving them.
  static constexpr std::chrono::seconds kStopDrainTime{2};

  // Removes leftovers of a crash: temp files and chunk files no committed
  // file references. Call before serving uploads.
  Result<SweepStats> StartupSweep();

 private:
  friend class Upload;
  friend class FileReader;

  // An in-process lease of `hash`; with shared leases also a recorded one,
  // waiting for another daemon's removal of the chunk to end.
  Status Lease(const std::string& hash);
  // Records this process's leases of `hashes` (shared leases only) and
  // waits until no removal of them is under way.
  Status LeaseShared(const std::vector<std::string>& hashes);
  // Removes chunk `hash` if nothing references or leases it (lease_mu_ held).
  void RemoveUnreferencedLocked(const std::string& hash);
  void RenewerLoop();
  // Drops one lease per hash, then removes the `candidates` (and chunks whose
  // removal waited for these leases) if nothing references them.
  void ReleaseAndRemove(const std::unordered_set<std::string>& leased,
                        const std::vector<std::string>& candidates);
  void TryRemoveLocked(const std::string& hash);
  void RemoverLoop();

  ChunkStore& chunks_;
  MetadataStore& metadata_;
  const FileServiceOptions options_;
  QuotaLedger quota_ledger_;

  std::mutex lease_mu_;
  std::unordered_map<std::string, int> leases_;  // guarded by lease_mu_
  std::unordered_set<std::string> deferred_;     // guarded by lease_mu_: removal waits for leases

  std::mutex remove_mu_;
  std::condition_variable remove_cv_;
  std::deque<std::string> remove_queue_;  // guarded by remove_mu_
  bool stopping_ = false;                 // guarded by remove_mu_
  // Set with stopping_: queued removals still running then are left to the
  // next start-up sweep, so a stop is not held up by a huge delete.
  std::chrono::steady_clock::time_point stop_deadline_;  // guarded by remove_mu_
  std::thread remover_;                                  // started with the first queued removal

  // Shared leases: the thread that renews this process's leases.
  std::condition_variable renew_cv_;  // with remove_mu_ and stopping_
  std::thread renewer_;
};

}  // namespace nexus::daemon::storage
