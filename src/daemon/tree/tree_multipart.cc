// TreeStore's S3 multipart uploads (see kStatusPart in tree_store.h). The
// parts' bytes are ordinary chunks referenced by ordinary files rows, so the
// chunk refcounts, the quota (owner_usage) and the start-up sweep need
// nothing new; what is new is the two tables that say which files rows are
// the parts of which upload, and the one transaction that turns them into
// the object.

#include <algorithm>

#include "daemon/tree/tree_rows.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon::storage {
namespace {

using tree_rows::Quoted;

// mp_parts.file_id cascades: a part whose files row goes (Abort, a newer
// part of the same number, Complete) loses its row with it. Size and time
// of a part are its files row's, so they have one source.
constexpr char kSchemaV114[] = R"sql(
CREATE TABLE mp_uploads (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  path TEXT NOT NULL,
  created INTEGER NOT NULL,
  -- set on the object by Complete (TreeStore::CreateMultipartUpload)
  prop_ns TEXT NOT NULL DEFAULT '',
  prop_name TEXT NOT NULL DEFAULT '',
  prop_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mp_uploads_by_owner ON mp_uploads(owner, path, created);
CREATE INDEX mp_uploads_by_age ON mp_uploads(created);
CREATE TABLE mp_parts (
  upload_id TEXT NOT NULL REFERENCES mp_uploads(id) ON DELETE CASCADE,
  number INTEGER NOT NULL CHECK (number BETWEEN 1 AND 10000),
  file_id TEXT NOT NULL UNIQUE REFERENCES files(id) ON DELETE CASCADE,
  md5 TEXT NOT NULL,
  PRIMARY KEY (upload_id, number)
) WITHOUT ROWID;
)sql";

// PostgreSQL's dialect: BIGINT for SQLite's 64-bit INTEGER.
constexpr char kPgSchemaV114[] = R"sql(
CREATE TABLE mp_uploads (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  path TEXT NOT NULL,
  created BIGINT NOT NULL,
  prop_ns TEXT NOT NULL DEFAULT '',
  prop_name TEXT NOT NULL DEFAULT '',
  prop_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mp_uploads_by_owner ON mp_uploads(owner, path, created);
CREATE INDEX mp_uploads_by_age ON mp_uploads(created);
CREATE TABLE mp_parts (
  upload_id TEXT NOT NULL REFERENCES mp_uploads(id) ON DELETE CASCADE,
  number BIGINT NOT NULL CHECK (number BETWEEN 1 AND 10000),
  file_id TEXT NOT NULL UNIQUE REFERENCES files(id) ON DELETE CASCADE,
  md5 TEXT NOT NULL,
  PRIMARY KEY (upload_id, number)
);
)sql";

Status NoSuchUpload(const std::string& id) {
  return NotFoundError("NoSuchUpload: multipart upload " + Quoted(id) + " not found");
}

// The upload `id` of `owner` at `path`, if there is one.
std::optional<MultipartUploadRow> FindUpload(sql::Connection& db, const std::string& owner,
                                             const std::string& id, const std::string& path) {
  sql::Statement q = db.Prepare(
      "SELECT id, path, created FROM mp_uploads"
      " WHERE id = ? AND owner = ? AND path = ?");
  q.Bind(1, id);
  q.Bind(2, owner);
  q.Bind(3, path);
  if (!q.Step()) return std::nullopt;
  return MultipartUploadRow{q.Text(0), q.Text(1), q.Int64(2)};
}

std::vector<MultipartPartRow> PartsOf(sql::Connection& db, const std::string& upload_id) {
  sql::Statement q = db.Prepare(
      "SELECT p.number, f.size, p.md5, f.created_at, p.file_id"
      " FROM mp_parts p JOIN files f ON f.id = p.file_id"
      " WHERE p.upload_id = ? ORDER BY p.number");
  q.Bind(1, upload_id);
  std::vector<MultipartPartRow> out;
  while (q.Step()) {
    out.push_back({q.Int(0), q.Int64(1), q.Text(2), q.Int64(3), q.Text(4)});
  }
  return out;
}

std::vector<ChunkRef> ChunksOf(sql::Connection& db, const std::string& file_id) {
  sql::Statement q = db.Prepare(
      "SELECT hash, file_offset, size FROM file_chunks WHERE file_id = ?"
      " ORDER BY seq");
  q.Bind(1, file_id);
  std::vector<ChunkRef> out;
  while (q.Step()) {
    out.push_back({q.Text(0), q.Int64(1), q.Int64(2)});
  }
  return out;
}

// Deletes the upload's parts (files rows, chunk references) and the upload.
std::vector<std::string> DropUpload(MetadataTx& tx, const std::string& upload_id) {
  std::vector<std::string> files;
  for (const MultipartPartRow& p : PartsOf(tx.db(), upload_id)) files.push_back(p.file_id);
  std::vector<std::string> released = tx.DeleteFiles(files);
  sql::Statement del = tx.db().Prepare("DELETE FROM mp_uploads WHERE id = ?");
  del.Bind(1, upload_id);
  del.Exec();
  return released;
}

Status Refused(const char* code, const std::string& why) {
  return InvalidArgumentError(std::string(code) + ": " + why);
}

}  // namespace

sql::Migration TreeMultipartMigration() {
  return {114, "tree: mp_uploads, mp_parts (S3 multipart uploads)", kSchemaV114, kPgSchemaV114};
}

Result<std::vector<MultipartPartRow>> ChooseParts(const std::vector<MultipartPartRow>& parts,
                                                  const std::vector<PartChoice>& choices,
                                                  int64_t min_part_size) {
  if (choices.empty()) {
    return InvalidArgumentError("MalformedXML: the request names no part");
  }
  std::vector<MultipartPartRow> out;
  out.reserve(choices.size());
  for (size_t i = 0; i < choices.size(); ++i) {
    const PartChoice& c = choices[i];
    if (i > 0 && c.number <= choices[i - 1].number) {
      return Refused(kInvalidPartOrder, "the list of parts was not in ascending order");
    }
    auto it =
        std::lower_bound(parts.begin(), parts.end(), c.number,
                         [](const MultipartPartRow& p, int number) { return p.number < number; });
    if (it == parts.end() || it->number != c.number || it->md5 != c.md5) {
      return Refused(kInvalidPart, "part " + std::to_string(c.number) +
                                       " was not uploaded or its ETag does not match");
    }
    out.push_back(*it);
  }
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i].size < min_part_size) {
      return Refused(kEntityTooSmall, "part " + std::to_string(out[i].number) + " has " +
                                          std::to_string(out[i].size) +
                                          " bytes, less than the minimum allowed " +
                                          std::to_string(min_part_size));
    }
  }
  return out;
}

namespace {

// The property the upload's Create asked for, set on (or, with an empty
// value, removed from) the entry now holding `file_id`. The props triggers
// keep the owner's property bytes.
void SetPropOnComplete(sql::Connection& db, const std::string& upload_id,
                       const std::string& file_id, const std::string& owner) {
  sql::Statement q = db.Prepare(
      "SELECT u.prop_ns, u.prop_name, u.prop_value, e.id FROM mp_uploads u,"
      " vfs_entries e WHERE u.id = ? AND e.file_id = ? AND u.prop_name != ''");
  q.Bind(1, upload_id);
  q.Bind(2, file_id);
  if (!q.Step()) return;
  const std::string ns = q.Text(0);
  const std::string name = q.Text(1);
  const std::string value = q.Text(2);
  const int64_t entry = q.Int64(3);
  sql::Statement del =
      db.Prepare("DELETE FROM vfs_props WHERE entry_id = ? AND ns = ? AND name = ?");
  del.Bind(1, entry);
  del.Bind(2, ns);
  del.Bind(3, name);
  del.Exec();
  if (value.empty()) return;
  sql::Statement ins = db.Prepare(
      "INSERT INTO vfs_props(entry_id, ns, name, value, owner)"
      " VALUES(?, ?, ?, ?, ?)");
  ins.Bind(1, entry);
  ins.Bind(2, ns);
  ins.Bind(3, name);
  ins.Bind(4, value);
  ins.Bind(5, owner);
  ins.Exec();
}

}  // namespace

Result<MultipartUploadRow> TreeStore::CreateMultipartUpload(const std::string& owner,
                                                            const std::string& path,
                                                            const std::string& id,
                                                            const DeadProperty& on_complete) {
  if (on_complete.value.size() > kMaxPropValueBytes || on_complete.ns.size() > kMaxPropValueBytes ||
      on_complete.name.size() > kMaxPropValueBytes) {
    return InvalidArgumentError("start multipart upload: a property is larger than " +
                                std::to_string(kMaxPropValueBytes) + " bytes");
  }
  // Fails early, as an upload does, on a folder at the path.
  NEXUS_RETURN_IF_ERROR(ReplaceableFile(owner, path).status());
  MultipartUploadRow out{id, path, 0};
  Status s = metadata_.Transact(
      "start multipart upload to " + Quoted(path), true, [&](MetadataTx& tx) -> Status {
        sql::Statement open = tx.db().Prepare("SELECT COUNT(*) FROM mp_uploads WHERE owner = ?");
        open.Bind(1, owner);
        open.Step();
        if (open.Int64(0) >= kMaxOpenUploadsPerOwner) {
          return QuotaExceededError("TooManyUploads: " + std::to_string(kMaxOpenUploadsPerOwner) +
                                    " multipart uploads are open already; complete or "
                                    "abort some first");
        }
        out.created = tx.NowSeconds();
        sql::Statement ins = tx.db().Prepare(
            "INSERT INTO mp_uploads(id, owner, path,"
            " created, prop_ns, prop_name, prop_value)"
            " VALUES(?, ?, ?, ?, ?, ?, ?)");
        ins.Bind(1, id);
        ins.Bind(2, owner);
        ins.Bind(3, path);
        ins.Bind(4, out.created);
        ins.Bind(5, on_complete.ns);
        ins.Bind(6, on_complete.name);
        ins.Bind(7, on_complete.value);
        ins.Exec();
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return out;
}

Result<CommitOutcome> TreeStore::CommitPart(const std::string& upload_id, const std::string& path,
                                            int number, const std::string& md5,
                                            const FileRecord& file,
                                            const std::vector<ChunkRef>& chunks,
                                            int64_t quota_bytes) {
  CommitOutcome out;
  const std::string op = "part " + std::to_string(number) + " of upload " + Quoted(upload_id);
  Status s = metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    if (!FindUpload(tx.db(), file.owner, upload_id, path)) return NoSuchUpload(upload_id);
    std::optional<MultipartPartRow> old;
    for (MultipartPartRow& p : PartsOf(tx.db(), upload_id)) {
      if (p.number == number) old = std::move(p);
    }
    if (quota_bytes != kUnlimitedQuota) {
      const int64_t counted = tx.UsedBytes(file.owner) - (old ? old->size : 0);
      if (counted + file.size > quota_bytes) return QuotaError(counted, quota_bytes, file.size);
    }
    FileRecord part = file;
    part.status = kStatusPart;
    NEXUS_ASSIGN_OR_RETURN(out.file, tx.InsertFile(part, chunks));
    if (old) out.released = tx.DeleteFiles({old->file_id});  // its mp_parts row cascades
    sql::Statement ins = tx.db().Prepare(
        "INSERT INTO mp_parts(upload_id, number, file_id, md5)"
        " VALUES(?, ?, ?, ?)");
    ins.Bind(1, upload_id);
    ins.Bind(2, number);
    ins.Bind(3, out.file.id);
    ins.Bind(4, md5);
    ins.Exec();
    return tx.CheckEntryLimit(file.owner);
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<MultipartPartRow>> TreeStore::ListParts(const std::string& owner,
                                                           const std::string& upload_id,
                                                           const std::string& path,
                                                           MultipartUploadRow* upload) {
  std::vector<MultipartPartRow> out;
  Status s = metadata_.Transact(
      "list parts of " + Quoted(upload_id), false, [&](MetadataTx& tx) -> Status {
        std::optional<MultipartUploadRow> u = FindUpload(tx.db(), owner, upload_id, path);
        if (!u) return NoSuchUpload(upload_id);
        if (upload) *upload = *u;
        out = PartsOf(tx.db(), upload_id);
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<MultipartUploadRow>> TreeStore::ListMultipartUploads(
    const std::string& owner, const std::string& path_prefix) {
  std::vector<MultipartUploadRow> out;
  Status s = metadata_.Transact("list multipart uploads", false, [&](MetadataTx& tx) -> Status {
    // substr instead of LIKE: a prefix may hold '%' and '_'.
    sql::Statement q = tx.db().Prepare(
        "SELECT id, path, created FROM mp_uploads WHERE owner = ?"
        " AND substr(path, 1, length(?)) = ? ORDER BY path, created, id");
    q.Bind(1, owner);
    q.Bind(2, path_prefix);
    q.Bind(3, path_prefix);
    while (q.Step()) {
      out.push_back({q.Text(0), q.Text(1), q.Int64(2)});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<CommitOutcome> TreeStore::CompleteMultipartUpload(
    const std::string& upload_id, const std::string& path, const std::vector<PartChoice>& choices,
    int64_t min_part_size, const std::vector<std::string>& expected_files, const FileRecord& file,
    int64_t quota_bytes) {
  CommitOutcome out;
  const std::string op = "complete upload " + Quoted(upload_id) + " to " + Quoted(path);
  Status s = metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    if (!FindUpload(tx.db(), file.owner, upload_id, path)) return NoSuchUpload(upload_id);
    const std::vector<MultipartPartRow> all = PartsOf(tx.db(), upload_id);
    NEXUS_ASSIGN_OR_RETURN(std::vector<MultipartPartRow> chosen,
                           ChooseParts(all, choices, min_part_size));
    if (chosen.size() != expected_files.size()) {
      return UnavailableError(op + ": the parts changed meanwhile");
    }
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (chosen[i].file_id != expected_files[i]) {
        return UnavailableError(op + ": part " + std::to_string(chosen[i].number) +
                                " was replaced meanwhile");
      }
    }
    // The object's chunk list: the parts' lists one after the other.
    std::vector<ChunkRef> chunks;
    int64_t size = 0;
    int64_t freed = 0;
    for (const MultipartPartRow& p : chosen) {
      for (ChunkRef c : ChunksOf(tx.db(), p.file_id)) {
        c.offset += size;
        chunks.push_back(std::move(c));
      }
      size += p.size;
    }
    for (const MultipartPartRow& p : all) freed += p.size;
    FileRecord composed = file;
    composed.size = size;
    composed.chunks_count = static_cast<int64_t>(chunks.size());
    NEXUS_RETURN_IF_ERROR(
        tree_rows::PlaceFile(tx, path, composed, chunks, quota_bytes, freed, &out));
    SetPropOnComplete(tx.db(), upload_id, out.file.id, file.owner);
    // After the insert: the chunks the object shares with its parts keep a
    // reference throughout, so none is released only to be taken again.
    std::vector<std::string> released = DropUpload(tx, upload_id);
    out.released.insert(out.released.end(), released.begin(), released.end());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<std::string>> TreeStore::AbortMultipartUpload(const std::string& owner,
                                                                 const std::string& upload_id,
                                                                 const std::string& path) {
  std::vector<std::string> released;
  Status s =
      metadata_.Transact("abort upload " + Quoted(upload_id), true, [&](MetadataTx& tx) -> Status {
        if (!FindUpload(tx.db(), owner, upload_id, path)) {
          return NoSuchUpload(upload_id);
        }
        released = DropUpload(tx, upload_id);
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return released;
}

Result<std::vector<std::string>> TreeStore::ExpireMultipartUploads(int64_t created_before,
                                                                   int64_t* uploads) {
  std::vector<std::string> released;
  Status s = metadata_.Transact("expire multipart uploads", true, [&](MetadataTx& tx) -> Status {
    std::vector<std::string> ids;
    sql::Statement q = tx.db().Prepare("SELECT id FROM mp_uploads WHERE created < ?");
    q.Bind(1, created_before);
    while (q.Step()) ids.push_back(q.Text(0));
    for (const std::string& id : ids) {
      std::vector<std::string> r = DropUpload(tx, id);
      released.insert(released.end(), r.begin(), r.end());
    }
    if (uploads) *uploads += static_cast<int64_t>(ids.size());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return released;
}

}  // namespace nexus::daemon::storage
