#include "daemon/storage/metadata_store.h"

#include <spdlog/spdlog.h>

#include <map>

#include "daemon/storage/chunk_store.h"

namespace nexus::daemon::storage {
namespace {

constexpr char kSchemaV100[] = R"sql(
CREATE TABLE files (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  sha256 TEXT NOT NULL,
  chunks_count INTEGER NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX files_by_owner ON files(owner, created_at);
CREATE TABLE chunks (
  hash TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  refcount INTEGER NOT NULL CHECK (refcount > 0)
) WITHOUT ROWID;
CREATE TABLE file_chunks (
  file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL REFERENCES chunks(hash),
  file_offset INTEGER NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (file_id, seq)
) WITHOUT ROWID;
CREATE INDEX file_chunks_by_hash ON file_chunks(hash);
)sql";

// The per-user tree (tree_store.h). parent 0 is the owner's implicit root;
// other parents are folder ids (no foreign key: 0 names no row, and deletes
// of subtrees are explicit). A file entry's size is its files row's, so
// usage has one source. The unique index serves lookups by name and listing
// and walking a folder's children; file_id's unique index serves the cascade.
constexpr char kSchemaV101[] = R"sql(
CREATE TABLE vfs_entries (
  id INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('folder', 'file')),
  file_id TEXT UNIQUE REFERENCES files(id) ON DELETE CASCADE,
  modified INTEGER NOT NULL,
  CHECK ((kind = 'file') = (file_id IS NOT NULL)),
  UNIQUE (owner, parent, name)
);
)sql";

// An owner's folders are counted for the entry limit on every commit that
// adds entries: an index of folders alone makes that a count of index
// entries (files have files_by_owner).
constexpr char kSchemaV102[] = R"sql(
CREATE INDEX vfs_folders_by_owner ON vfs_entries(owner) WHERE kind = 'folder';
)sql";

// Each owner's bytes, files and folders, kept by triggers in the same
// transaction as the rows they count (cascaded deletes fire them too): the
// quota check of every commit, the entry limit and /api/me read one row
// instead of summing all of an owner's files.
constexpr char kSchemaV103[] = R"sql(
CREATE TABLE owner_usage (
  owner TEXT PRIMARY KEY,
  bytes INTEGER NOT NULL,
  files INTEGER NOT NULL,
  folders INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO owner_usage(owner, bytes, files, folders)
  SELECT owner, SUM(bytes), SUM(files), SUM(folders) FROM (
    SELECT owner, size AS bytes, 1 AS files, 0 AS folders FROM files
    UNION ALL SELECT owner, 0, 0, 1 FROM vfs_entries WHERE kind = 'folder')
  GROUP BY owner;
CREATE TRIGGER files_counted AFTER INSERT ON files BEGIN
  INSERT INTO owner_usage(owner, bytes, files, folders) VALUES(NEW.owner, NEW.size, 1, 0)
    ON CONFLICT(owner) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + 1;
END;
CREATE TRIGGER files_uncounted AFTER DELETE ON files BEGIN
  UPDATE owner_usage SET bytes = bytes - OLD.size, files = files - 1 WHERE owner = OLD.owner;
END;
CREATE TRIGGER files_recounted AFTER UPDATE OF owner, size ON files BEGIN
  UPDATE owner_usage SET bytes = bytes - OLD.size, files = files - 1 WHERE owner = OLD.owner;
  INSERT INTO owner_usage(owner, bytes, files, folders) VALUES(NEW.owner, NEW.size, 1, 0)
    ON CONFLICT(owner) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + 1;
END;
CREATE TRIGGER folders_counted AFTER INSERT ON vfs_entries WHEN NEW.kind = 'folder' BEGIN
  INSERT INTO owner_usage(owner, bytes, files, folders) VALUES(NEW.owner, 0, 0, 1)
    ON CONFLICT(owner) DO UPDATE SET folders = folders + 1;
END;
CREATE TRIGGER folders_uncounted AFTER DELETE ON vfs_entries WHEN OLD.kind = 'folder' BEGIN
  UPDATE owner_usage SET folders = folders - 1 WHERE owner = OLD.owner;
END;
)sql";

// An S3 ETag is an MD5, which nothing else here computes: the gateway
// hashes what S3 clients upload and nexusd keeps the answer with the file.
constexpr char kSchemaV104[] = R"sql(
ALTER TABLE files ADD COLUMN s3_etag TEXT NOT NULL DEFAULT '';
)sql";

// The same schema in PostgreSQL's dialect, version by version: BIGINT for
// SQLite's 64-bit INTEGER, identity columns for its rowids (files.rowid is
// the order of insertion ListFiles breaks ties of created_at with), and the
// owner_usage triggers as PL/pgSQL functions. A PostgreSQL database starts
// empty, so the back-fills of existing rows are left out.
constexpr char kPgSchemaV100[] = R"sql(
CREATE TABLE files (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  size BIGINT NOT NULL CHECK (size >= 0),
  sha256 TEXT NOT NULL,
  chunks_count BIGINT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  rowid BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX files_by_owner ON files(owner, created_at);
CREATE TABLE chunks (
  hash TEXT PRIMARY KEY,
  size BIGINT NOT NULL,
  refcount BIGINT NOT NULL CHECK (refcount > 0)
);
CREATE TABLE file_chunks (
  file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL REFERENCES chunks(hash),
  file_offset BIGINT NOT NULL,
  size BIGINT NOT NULL,
  PRIMARY KEY (file_id, seq)
);
CREATE INDEX file_chunks_by_hash ON file_chunks(hash);
)sql";

constexpr char kPgSchemaV101[] = R"sql(
CREATE TABLE vfs_entries (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  owner TEXT NOT NULL,
  parent BIGINT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('folder', 'file')),
  file_id TEXT UNIQUE REFERENCES files(id) ON DELETE CASCADE,
  modified BIGINT NOT NULL,
  CHECK ((kind = 'file') = (file_id IS NOT NULL)),
  UNIQUE (owner, parent, name)
);
)sql";

constexpr char kPgSchemaV103[] = R"sql(
CREATE TABLE owner_usage (
  owner TEXT PRIMARY KEY,
  bytes BIGINT NOT NULL,
  files BIGINT NOT NULL,
  folders BIGINT NOT NULL
);
CREATE FUNCTION nexus_count_files() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE owner_usage SET bytes = bytes - OLD.size, files = files - 1 WHERE owner = OLD.owner;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO owner_usage AS u (owner, bytes, files, folders) VALUES (NEW.owner, NEW.size, 1, 0)
      ON CONFLICT (owner) DO UPDATE SET bytes = u.bytes + excluded.bytes, files = u.files + 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER files_counted AFTER INSERT OR DELETE OR UPDATE OF owner, size ON files
  FOR EACH ROW EXECUTE FUNCTION nexus_count_files();
CREATE FUNCTION nexus_count_folders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO owner_usage AS u (owner, bytes, files, folders) VALUES (NEW.owner, 0, 0, 1)
      ON CONFLICT (owner) DO UPDATE SET folders = u.folders + 1;
  ELSE
    UPDATE owner_usage SET folders = folders - 1 WHERE owner = OLD.owner;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER folders_counted AFTER INSERT ON vfs_entries
  FOR EACH ROW WHEN (NEW.kind = 'folder') EXECUTE FUNCTION nexus_count_folders();
CREATE TRIGGER folders_uncounted AFTER DELETE ON vfs_entries
  FOR EACH ROW WHEN (OLD.kind = 'folder') EXECUTE FUNCTION nexus_count_folders();
)sql";

constexpr char kFileColumns[] =
    "id, owner, name, size, sha256, chunks_count, status, created_at, s3_etag";

FileRecord ReadFile(sql::Statement& q) {
  FileRecord f;
  f.id = q.Text(0);
  f.owner = q.Text(1);
  f.name = q.Text(2);
  f.size = q.Int64(3);
  f.sha256 = q.Text(4);
  f.chunks_count = q.Int64(5);
  f.status = q.Text(6);
  f.created_at = q.Int64(7);
  f.s3_etag = q.Text(8);
  return f;
}

Status CheckChunkList(const FileRecord& file, const std::vector<ChunkRef>& chunks) {
  if (static_cast<int64_t>(chunks.size()) != file.chunks_count) {
    return InternalError("file " + file.id + " lists " + std::to_string(chunks.size()) +
                         " chunks but chunks_count is " + std::to_string(file.chunks_count));
  }
  int64_t next = 0;
  for (const auto& c : chunks) {
    if (c.offset != next || c.size <= 0) {
      return InternalError("chunk list of file " + file.id + " does not tile the file at offset " +
                           std::to_string(next));
    }
    next += c.size;
  }
  if (next != file.size) {
    return InternalError("chunks of file " + file.id + " cover " + std::to_string(next) +
                         " bytes, not its size " + std::to_string(file.size));
  }
  return Status::Ok();
}

int64_t SumSizes(sql::Connection& db, const std::string& owner) {
  sql::Statement q = db.Prepare("SELECT bytes FROM owner_usage WHERE owner = ?");
  q.Bind(1, owner);
  return q.Step() ? q.Int64(0) : 0;
}

}  // namespace

std::vector<sql::Migration> StorageMigrations() {
  return {{100, "storage: files, file_chunks, chunks", kSchemaV100, kPgSchemaV100},
          {101, "storage: vfs_entries (per-user file tree)", kSchemaV101, kPgSchemaV101},
          {102, "storage: index of each owner's folders (entry limit)", kSchemaV102, kSchemaV102},
          {103, "storage: each owner's bytes, files and folders (owner_usage)", kSchemaV103,
           kPgSchemaV103},
          {104, "storage: the S3 ETag of files S3 clients wrote", kSchemaV104, kSchemaV104}};
}

bool ValidS3Etag(std::string_view etag) {
  if (etag.size() < 32) return false;
  for (char c : etag.substr(0, 32)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  std::string_view parts = etag.substr(32);
  if (parts.empty()) return true;
  if (parts.front() != '-' || parts.size() < 2 || parts.size() > 6 || parts[1] == '0') {
    return false;
  }
  int n = 0;
  for (char c : parts.substr(1)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n <= 10000;
}

Status QuotaError(int64_t used, int64_t quota, int64_t needed) {
  return QuotaExceededError("storage quota exceeded: " + std::to_string(used) + " of " +
                            std::to_string(quota) + " bytes used, file needs " +
                            std::to_string(needed));
}

Status EntryLimitError(int64_t max_entries) {
  return QuotaExceededError("too many files and folders: at most " + std::to_string(max_entries) +
                            " per user");
}

// ---- MetadataTx --------------------------------------------------------------

int64_t MetadataTx::UsedBytes(const std::string& owner) { return SumSizes(db_, owner); }

int64_t MetadataTx::EntryCount(const std::string& owner) {
  sql::Statement q = db_.Prepare("SELECT files + folders FROM owner_usage WHERE owner = ?");
  q.Bind(1, owner);
  return q.Step() ? q.Int64(0) : 0;
}

OwnerUsage MetadataTx::Usage(const std::string& owner) {
  sql::Statement q = db_.Prepare("SELECT bytes, files, folders FROM owner_usage WHERE owner = ?");
  q.Bind(1, owner);
  OwnerUsage out;
  if (q.Step()) {
    out.bytes = q.Int64(0);
    out.files = q.Int64(1);
    out.folders = q.Int64(2);
  }
  return out;
}

Status MetadataTx::CheckEntryLimit(const std::string& owner) {
  if (limits_.max_entries < 0) return Status::Ok();
  if (EntryCount(owner) > limits_.max_entries) return EntryLimitError(limits_.max_entries);
  return Status::Ok();
}

Result<FileRecord> MetadataTx::InsertFile(const FileRecord& file,
                                          const std::vector<ChunkRef>& chunks) {
  NEXUS_RETURN_IF_ERROR(CheckChunkList(file, chunks));
  FileRecord stored = file;
  stored.created_at = clock_.NowSeconds();
  sql::Statement ins = db_.Prepare(std::string("INSERT INTO files(") + kFileColumns +
                                   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, stored.id);
  ins.Bind(2, stored.owner);
  ins.Bind(3, stored.name);
  ins.Bind(4, stored.size);
  ins.Bind(5, stored.sha256);
  ins.Bind(6, stored.chunks_count);
  ins.Bind(7, stored.status);
  ins.Bind(8, stored.created_at);
  ins.Bind(9, stored.s3_etag);
  try {
    ins.Exec();
  } catch (const sql::Error& e) {
    if (sql::IsDuplicateKey(e)) {
      return AlreadyExistsError("file id " + file.id + " already exists");
    }
    throw;
  }

  // One upsert per distinct chunk: a file may repeat a chunk many times.
  std::map<std::string, std::pair<int64_t, int64_t>> refs;  // hash -> (size, count)
  for (const auto& c : chunks) {
    auto& r = refs[c.hash];
    r.first = c.size;
    ++r.second;
  }
  sql::Statement up = db_.Prepare(
      "INSERT INTO chunks(hash, size, refcount) VALUES(?, ?, ?)"
      " ON CONFLICT(hash) DO UPDATE SET refcount = chunks.refcount + excluded.refcount");
  for (const auto& [hash, r] : refs) {
    up.Bind(1, hash);
    up.Bind(2, r.first);
    up.Bind(3, r.second);
    up.Exec();
    up.Reset();
  }
  sql::Statement link = db_.Prepare(
      "INSERT INTO file_chunks(file_id, seq, hash, file_offset, size)"
      " VALUES(?, ?, ?, ?, ?)");
  for (size_t i = 0; i < chunks.size(); ++i) {
    link.Bind(1, stored.id);
    link.Bind(2, static_cast<int64_t>(i));
    link.Bind(3, chunks[i].hash);
    link.Bind(4, chunks[i].offset);
    link.Bind(5, chunks[i].size);
    link.Exec();
    link.Reset();
  }
  return stored;
}

std::optional<FileRecord> MetadataTx::FindFile(const std::string& owner, const std::string& id) {
  sql::Statement q =
      db_.Prepare(std::string("SELECT ") + kFileColumns + " FROM files WHERE id = ? AND owner = ?");
  q.Bind(1, id);
  q.Bind(2, owner);
  if (!q.Step()) return std::nullopt;
  return ReadFile(q);
}

std::vector<std::string> MetadataTx::DeleteFiles(const std::vector<std::string>& ids) {
  // References are summed over all the files first, so a chunk shared by
  // many of them costs one update, not one per file.
  std::map<std::string, int64_t> refs;
  sql::Statement count =
      db_.Prepare("SELECT hash, COUNT(*) FROM file_chunks WHERE file_id = ? GROUP BY hash");
  sql::Statement del = db_.Prepare("DELETE FROM files WHERE id = ?");  // cascades to chunks, entry
  for (const auto& id : ids) {
    count.Bind(1, id);
    while (count.Step()) refs[count.Text(0)] += count.Int64(1);
    count.Reset();
    del.Bind(1, id);
    del.Exec();
    del.Reset();
  }
  std::vector<std::string> released;
  sql::Statement dec =
      db_.Prepare("UPDATE chunks SET refcount = refcount - ? WHERE hash = ? AND refcount > ?");
  sql::Statement drop = db_.Prepare("DELETE FROM chunks WHERE hash = ?");
  for (const auto& [hash, n] : refs) {
    dec.Bind(1, n);
    dec.Bind(2, hash);
    dec.Bind(3, n);
    if (dec.Exec() == 0) {
      // These files held the last references.
      drop.Bind(1, hash);
      drop.Exec();
      drop.Reset();
      released.push_back(hash);
    }
    dec.Reset();
  }
  return released;
}

// ---- MetadataStore -----------------------------------------------------------

MetadataStore::MetadataStore(sql::Connection& db, const Clock& clock, MetadataLimits limits)
    : owned_pool_(std::make_unique<sql::ConnectionPool>(db)),
      pool_(*owned_pool_),
      clock_(clock),
      limits_(limits) {}

MetadataStore::MetadataStore(sql::ConnectionPool& pool, const Clock& clock, MetadataLimits limits)
    : pool_(pool), clock_(clock), limits_(limits) {}

Status MetadataStore::Transact(std::string_view op, bool write,
                               const std::function<Status(MetadataTx& tx)>& body) {
  // Writers queue here rather than each holding a connection while it waits
  // for the database's write lock, which would leave readers none.
  std::unique_lock<std::mutex> write_turn;
  if (write) write_turn = std::unique_lock(write_mu_);
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  try {
    sql::Transaction tx(*db, write ? sql::TxMode::kWrite : sql::TxMode::kRead);
    MetadataTx mtx(*db, clock_, limits_);
    NEXUS_RETURN_IF_ERROR(body(mtx));
    tx.Commit();
    return Status::Ok();
  } catch (const sql::Error& e) {
    return sql::ToStatus(op, e);
  }
}

Result<FileRecord> MetadataStore::CommitFile(const FileRecord& file,
                                             const std::vector<ChunkRef>& chunks,
                                             int64_t quota_bytes) {
  FileRecord stored;
  Status s = Transact("commit file " + file.id, true, [&](MetadataTx& tx) -> Status {
    if (quota_bytes != kUnlimitedQuota) {
      const int64_t used = tx.UsedBytes(file.owner);
      if (used + file.size > quota_bytes) return QuotaError(used, quota_bytes, file.size);
    }
    NEXUS_ASSIGN_OR_RETURN(stored, tx.InsertFile(file, chunks));
    return tx.CheckEntryLimit(file.owner);
  });
  if (!s.ok()) return s;
  return stored;
}

Status MetadataStore::CheckRoomForEntry(const std::string& owner) {
  if (limits_.max_entries < 0) return Status::Ok();
  return Transact("count entries of " + owner, false, [&](MetadataTx& tx) -> Status {
    if (tx.EntryCount(owner) >= limits_.max_entries) return EntryLimitError(limits_.max_entries);
    return Status::Ok();
  });
}

Status MetadataStore::SyncToDisk() {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  return db->SyncToDisk();
}

Result<std::vector<FileRecord>> MetadataStore::ListFiles(const std::string& owner) {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  try {
    sql::Statement q = db->Prepare(std::string("SELECT ") + kFileColumns +
                                   " FROM files WHERE owner = ? AND status = 'Uploaded'"
                                   " ORDER BY created_at DESC, rowid DESC");
    q.Bind(1, owner);
    std::vector<FileRecord> out;
    while (q.Step()) out.push_back(ReadFile(q));
    return out;
  } catch (const sql::Error& e) {
    return sql::ToStatus("list files of " + owner, e);
  }
}

Result<FileRecord> MetadataStore::GetFile(const std::string& owner, const std::string& id) {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  try {
    sql::Statement q = db->Prepare(std::string("SELECT ") + kFileColumns +
                                   " FROM files WHERE id = ? AND owner = ?");
    q.Bind(1, id);
    q.Bind(2, owner);
    if (!q.Step()) return NotFoundError("file " + id + " not found");
    return ReadFile(q);
  } catch (const sql::Error& e) {
    return sql::ToStatus("get file " + id, e);
  }
}

Result<std::vector<std::string>> MetadataStore::DeleteFile(const std::string& owner,
                                                           const std::string& id) {
  std::vector<std::string> released;
  Status s = Transact("delete file " + id, true, [&](MetadataTx& tx) -> Status {
    sql::Statement q = tx.db().Prepare("SELECT 1 FROM files WHERE id = ? AND owner = ?");
    q.Bind(1, id);
    q.Bind(2, owner);
    if (!q.Step()) return NotFoundError("file " + id + " not found");
    released = tx.DeleteFiles({id});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return released;
}

Result<std::vector<ChunkRef>> MetadataStore::ChunksForRange(const std::string& id, int64_t offset,
                                                            int64_t length) {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  try {
    sql::Statement q = db->Prepare(
        "SELECT hash, file_offset, size FROM file_chunks WHERE file_id = ?"
        " AND file_offset < ? AND file_offset + size > ? ORDER BY seq");
    q.Bind(1, id);
    q.Bind(2, offset + length);
    q.Bind(3, offset);
    std::vector<ChunkRef> out;
    while (q.Step()) {
      out.push_back({q.Text(0), q.Int64(1), q.Int64(2)});
    }
    return out;
  } catch (const sql::Error& e) {
    return sql::ToStatus("list chunks of file " + id, e);
  }
}

Result<int64_t> MetadataStore::UsedBytes(const std::string& owner) {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  try {
    return SumSizes(*db, owner);
  } catch (const sql::Error& e) {
    return sql::ToStatus("sum file sizes of " + owner, e);
  }
}

Result<bool> MetadataStore::IsChunkReferenced(const std::string& hash) {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  try {
    sql::Statement q = db->Prepare("SELECT 1 FROM chunks WHERE hash = ?");
    q.Bind(1, hash);
    return q.Step();
  } catch (const sql::Error& e) {
    return sql::ToStatus("look up chunk " + hash, e);
  }
}

Result<StorageTotals> MetadataStore::Totals() {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  return sql::GuardSql("read storage totals", [&]() -> Result<StorageTotals> {
    StorageTotals t;
    sql::Statement files = db->Prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files");
    if (files.Step()) {
      t.files = files.Int64(0);
      t.logical_bytes = files.Int64(1);
    }
    sql::Statement chunks = db->Prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM chunks");
    if (chunks.Step()) {
      t.chunks = chunks.Int64(0);
      t.stored_bytes = chunks.Int64(1);
    }
    return t;
  });
}

Status MetadataStore::Ping() {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  return sql::GuardSql("ping the metadata database", [&]() -> Status {
    sql::Statement q = db->Prepare("SELECT COUNT(*) FROM schema_migrations");
    if (!q.Step()) return UnavailableError("no row from schema_migrations");
    return Status::Ok();
  });
}

Result<std::unordered_set<std::string>> MetadataStore::AllReferencedHashes() {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease db, pool_.Acquire());
  try {
    sql::Statement q = db->Prepare("SELECT hash FROM chunks");
    std::unordered_set<std::string> out;
    while (q.Step()) out.insert(q.Text(0));
    return out;
  } catch (const sql::Error& e) {
    return sql::ToStatus("list referenced chunks", e);
  }
}

}  // namespace nexus::daemon::storage
