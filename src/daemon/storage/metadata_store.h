// MetadataStore: the storage tables in nexusd's metadata database (SQLite,
// or PostgreSQL for several daemons) — files, the ordered chunk list of each
// file, and refcounted chunks — and the transactions that keep them
// consistent. It talks to the database through the SQL layer
// (common/sql/connection.h), so every query is written once for both.
//
// Schema (StorageMigrations, versions 100..199 belong to storage):
//   files(id, owner, name, size, sha256, chunks_count, status, created_at)
//   file_chunks(file_id, seq, hash, file_offset, size)  ordered by seq
//   chunks(hash, size, refcount)  refcount = number of file_chunks rows
//   vfs_entries(...)  the per-user tree (tree_store.h); a file's entry goes
//                     with its files row (foreign key, ON DELETE CASCADE)
// A chunks row exists exactly while refcount > 0.
//
// Limits: an owner's entries (files, with or without a path, plus folders)
// are at most MetadataLimits::max_entries; each transaction that adds any
// checks the count before it commits (MetadataTx::CheckEntryLimit), so the
// limit holds under concurrency too.
//
// A full disk under the database (SQLITE_FULL, PostgreSQL 53100) is
// InsufficientStorageError() (chunk_store.h), logged with the detail.
//
// Transact() lends a connection to other storage code (TreeStore) for one
// transaction, with the file-table primitives of MetadataTx, so that a tree
// change and the file rows it creates or drops commit together.
//
// The store does not own its connections: it borrows one from its pool
// (sql::ConnectionPool) for each call, so it is thread-safe and reads on
// several threads run side by side (SQLite's WAL lets readers proceed beside
// a writer). Nothing else may use the pool's connections. Writers in one
// process also queue on a mutex before they borrow a connection, so waiting
// writers never leave readers without one. Writes run in sql::TxMode::kWrite transactions,
// which take the database's write lock up front (SQLite: BEGIN IMMEDIATE;
// PostgreSQL: a transaction-scoped advisory lock every writer takes): two
// commits, even from two connections or two daemons, are serialised, so a
// quota check and the insert it guards are atomic, and a refcount that
// reaches zero cannot gain a reference before its row is dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/sql/connection.h"
#include "common/sql/connection_pool.h"
#include "common/sql/database.h"

namespace nexus::daemon::storage {

std::vector<sql::Migration> StorageMigrations();

struct FileRecord {
  std::string id;
  std::string owner;
  std::string name;
  int64_t size = 0;
  std::string sha256;  // lowercase hex of the whole content
  int64_t chunks_count = 0;
  std::string status;      // "Uploaded"
  int64_t created_at = 0;  // unix seconds
  // The ETag S3 clients see (hex, no quotes): the content's MD5, or for an
  // object assembled from multipart parts the MD5 of the parts' MD5s and
  // "-N". Kept only for files an S3 client wrote: other uploads do not pay
  // for an MD5 pass; "" for them.
  std::string s3_etag;
};

// 32 lowercase hex digits, then optionally "-N" with N in 1..10000.
bool ValidS3Etag(std::string_view etag);

struct ChunkRef {
  std::string hash;
  int64_t offset = 0;  // of the chunk's first byte within the file
  int64_t size = 0;
};

// What recording an upload produced: the stored file and the chunks whose
// last reference went in the same transaction (a replaced file's), which the
// caller removes from the chunk store once the commit is done.
struct CommitOutcome {
  FileRecord file;
  std::vector<std::string> released;
};

// What all owners store together, for the metrics.
struct StorageTotals {
  int64_t files = 0;
  int64_t logical_bytes = 0;  // sum of file sizes
  int64_t chunks = 0;         // distinct chunks
  int64_t stored_bytes = 0;   // their sizes
};

// No quota: CommitFile skips the check.
inline constexpr int64_t kUnlimitedQuota = -1;
// No limit on an owner's files and folders.
inline constexpr int64_t kUnlimitedEntries = -1;

struct MetadataLimits {
  // Files (with or without a path) plus folders, per owner; negative: none.
  int64_t max_entries = kUnlimitedEntries;
};

// The error of an owner at the entry limit.
Status EntryLimitError(int64_t max_entries);

// The "storage quota exceeded: ..." error of a commit that does not fit.
Status QuotaError(int64_t used, int64_t quota, int64_t needed);

// The file-table operations available inside MetadataStore::Transact. They
// throw sql::Error on database errors (Transact turns those into a
// Status and rolls back). Lives only for the duration of one transaction.
// What an owner has: the sum of its files' sizes, its files (with or
// without a path) and its folders.
struct OwnerUsage {
  int64_t bytes = 0;
  int64_t files = 0;
  int64_t folders = 0;
};

class MetadataTx {
 public:
  sql::Connection& db() { return db_; }
  int64_t NowSeconds() const { return clock_.NowSeconds(); }

  // Sum of the sizes of the owner's files.
  int64_t UsedBytes(const std::string& owner);

  // The owner's files (with or without a path) plus folders.
  int64_t EntryCount(const std::string& owner);

  // The owner's bytes, files and folders, as table owner_usage keeps them.
  OwnerUsage Usage(const std::string& owner);
  // For a transaction that added entries, before it commits: the owner's
  // entries within the limit, else EntryLimitError (the caller rolls back).
  Status CheckEntryLimit(const std::string& owner);

  // Inserts the file (created_at = now) with its chunk list and adds one
  // reference per listed chunk. `chunks` must tile [0, file.size) in order
  // (kInternal otherwise); a taken id is kAlreadyExists.
  Result<FileRecord> InsertFile(const FileRecord& file, const std::vector<ChunkRef>& chunks);

  // The owner's file `id`, if there is one.
  std::optional<FileRecord> FindFile(const std::string& owner, const std::string& id);

  // Deletes the files `ids` (each must exist), their chunk lists and their
  // tree entries (by cascade), and releases their chunk references. Returns
  // the hashes whose refcount reached zero (their rows are gone). Prepares
  // its statements once, so deleting n files costs O(n) statements.
  std::vector<std::string> DeleteFiles(const std::vector<std::string>& ids);

 private:
  friend class MetadataStore;
  MetadataTx(sql::Connection& db, const Clock& clock, const MetadataLimits& limits)
      : db_(db), clock_(clock), limits_(limits) {}

  sql::Connection& db_;
  const Clock& clock_;
  const MetadataLimits& limits_;
};

class MetadataStore {
 public:
  // On connections of `pool`, which must outlive the store.
  MetadataStore(sql::ConnectionPool& pool, const Clock& clock, MetadataLimits limits = {});
  // On `db` alone (a pool of one), which must outlive the store.
  MetadataStore(sql::Connection& db, const Clock& clock, MetadataLimits limits = {});

  // In one transaction: checks that the owner's files plus this one fit in
  // `quota_bytes` (kQuotaExceeded otherwise; kUnlimitedQuota skips it) and
  // in the entry limit (EntryLimitError), inserts the file with created_at = now and its chunk
  // list, and adds one reference per listed chunk. `chunks` must tile [0, file.size) in order and
  // match file.chunks_count. Returns the stored record.
  Result<FileRecord> CommitFile(const FileRecord& file, const std::vector<ChunkRef>& chunks,
                                int64_t quota_bytes);

  // The owner's files, newest first.
  Result<std::vector<FileRecord>> ListFiles(const std::string& owner);

  // kNotFound also when the id exists but belongs to someone else: callers
  // must not learn that another user's id exists.
  Result<FileRecord> GetFile(const std::string& owner, const std::string& id);

  // Removes the file and releases its chunk references in one transaction.
  // Returns the hashes whose refcount reached zero (their rows are gone); the
  // caller removes those chunks from the chunk store after this returns.
  Result<std::vector<std::string>> DeleteFile(const std::string& owner, const std::string& id);

  // The chunks of file `id` that overlap [offset, offset + length), in order.
  Result<std::vector<ChunkRef>> ChunksForRange(const std::string& id, int64_t offset,
                                               int64_t length);

  // Sum of the sizes of the owner's files (logical bytes, before dedup).
  Result<int64_t> UsedBytes(const std::string& owner);

  // Whether the owner may add one more entry (a new file): an early check,
  // so an upload at the limit fails before its bytes are stored; the commit
  // checks again.
  Status CheckRoomForEntry(const std::string& owner);

  // Makes every transaction this store can see durable (sql::Connection::SyncToDisk):
  // the start-up sweep calls it before unlinking what the database does not
  // reference.
  Status SyncToDisk();

  Result<bool> IsChunkReferenced(const std::string& hash);

  // Files and chunks of all owners (two scans: for a metrics scrape).
  Result<StorageTotals> Totals();
  // A query against the migrated schema, for health checks.
  Status Ping();
  Result<std::unordered_set<std::string>> AllReferencedHashes();

  // Runs `body` in one transaction on a borrowed connection: sql::TxMode::kWrite
  // when `write` (the database's write lock up front, so checks and the
  // writes they guard are atomic even across connections), else a read
  // transaction on one snapshot. Commits when `body` returns ok; a non-ok
  // Status rolls back and is returned as is; a sql::Error rolls back and
  // becomes a Status naming `op` (sql::ToStatus: busy, a lost race or a lost
  // connection kUnavailable, else kInternal). `body` must not call
  // other MetadataStore methods: they would run outside its transaction, on
  // another connection, and a writer's would wait on the write lock it holds.
  Status Transact(std::string_view op, bool write,
                  const std::function<Status(MetadataTx& tx)>& body);

 private:
  std::unique_ptr<sql::ConnectionPool> owned_pool_;  // the pool of one, when given a connection
  sql::ConnectionPool& pool_;
  const Clock& clock_;
  const MetadataLimits limits_;
  std::mutex write_mu_;  // held by each write transaction, before its connection
};

}  // namespace nexus::daemon::storage
