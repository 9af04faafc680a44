#include "daemon/tree/tree_store.h"

#include <optional>

#include "common/vfs_path.h"
#include "daemon/storage/safe_name.h"
#include "daemon/tree/tree_rows.h"

namespace nexus::daemon::storage {
namespace {

using tree_rows::EnsureFolders;
using tree_rows::Find;
using tree_rows::InsertEntry;
using tree_rows::kFile;
using tree_rows::kFolder;
using tree_rows::kRootId;
using tree_rows::Node;
using tree_rows::Prefix;
using tree_rows::Quoted;
using tree_rows::Walk;

// Where an upload to `path` would land: the file entry it replaces, if any.
struct UploadTarget {
  std::optional<Node> replaced;
  int64_t replaced_bytes = 0;
};

Result<UploadTarget> CheckUploadTarget(MetadataTx& tx, const std::string& owner,
                                       const std::string& path) {
  const std::string op = "upload to " + Quoted(path);
  const std::vector<std::string> names = SplitVfsPath(path);
  if (names.empty()) return InvalidArgumentError(op + ": the path names no file");
  std::vector<Node> nodes = Walk(tx.db(), owner, names);
  UploadTarget target;
  if (nodes.size() < names.size()) {
    if (!nodes.empty() && !nodes.back().folder) {
      return AlreadyExistsError(op + ": " + Quoted(Prefix(names, nodes.size())) + " is a file");
    }
    return target;
  }
  if (nodes.back().folder) return AlreadyExistsError(op + ": it is a folder");
  target.replaced = nodes.back();
  std::optional<FileRecord> old = tx.FindFile(owner, nodes.back().file_id);
  if (!old) return InternalError(op + ": entry points at missing file " + nodes.back().file_id);
  target.replaced_bytes = old->size;
  return target;
}

TreeEntry ReadEntry(sql::Statement& q) {
  TreeEntry e;
  e.name = q.Text(0);
  e.kind = q.Text(1) == kFolder ? EntryKind::kFolder : EntryKind::kFile;
  e.size = q.Int64(2);
  e.modified = q.Int64(3);
  e.file_id = q.Text(4);
  e.sha256 = q.Text(5);
  e.s3_etag = q.Text(6);
  return e;
}

constexpr char kEntrySelect[] =
    "SELECT e.name, e.kind, COALESCE(f.size, 0), e.modified, COALESCE(e.file_id, ''),"
    " COALESCE(f.sha256, ''), COALESCE(f.s3_etag, '')"
    " FROM vfs_entries e LEFT JOIN files f ON f.id = e.file_id";

TreeEntry EntryById(sql::Connection& db, int64_t id) {
  sql::Statement q = db.Prepare(std::string(kEntrySelect) + " WHERE e.id = ?");
  q.Bind(1, id);
  q.Step();
  return ReadEntry(q);
}

}  // namespace

std::string_view EntryKindName(EntryKind kind) {
  return kind == EntryKind::kFolder ? kFolder : kFile;
}

Status TreeStore::MakeDirectory(const std::string& owner, const std::string& path) {
  const std::string op = "mkdir " + Quoted(path);
  return metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    const std::vector<std::string> names = SplitVfsPath(path);
    int64_t created = 0;
    NEXUS_RETURN_IF_ERROR(EnsureFolders(tx, owner, names, names.size(), op, &created).status());
    return created > 0 ? tx.CheckEntryLimit(owner) : Status::Ok();
  });
}

Result<std::vector<TreeEntry>> TreeStore::List(const std::string& owner, const std::string& path) {
  std::vector<TreeEntry> out;
  const std::string op = "list " + Quoted(path);
  Status s = metadata_.Transact(op, false, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (!node->folder) {
      out.push_back(EntryById(tx.db(), node->id));
      return Status::Ok();
    }
    sql::Statement q = tx.db().Prepare(std::string(kEntrySelect) +
                                       " WHERE e.owner = ? AND e.parent = ?"
                                       " ORDER BY e.kind = 'file', e.name");
    q.Bind(1, owner);
    q.Bind(2, node->id);
    while (q.Step()) out.push_back(ReadEntry(q));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<TreeEntry>> TreeStore::ListInKeyOrder(const std::string& owner,
                                                         const std::string& path,
                                                         const std::string& after, int64_t limit) {
  std::vector<TreeEntry> out;
  const std::string op = "list " + Quoted(path);
  Status s = metadata_.Transact(op, false, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = Find(tx.db(), owner, path);
    if (!node || !node->folder) return NotFoundError(op + ": no such folder");
    // The key is computed per child and the page picked by a top-N sort:
    // one pass over the folder's index entries, and only the page's rows
    // are joined with their files.
    sql::Statement q = tx.db().Prepare(
        "SELECT e.name, e.kind, COALESCE(f.size, 0), e.modified,"
        " COALESCE(e.file_id, ''), COALESCE(f.sha256, ''),"
        " COALESCE(f.s3_etag, '')"
        " FROM (SELECT id, k FROM (SELECT id,"
        " name || CASE kind WHEN 'folder' THEN '/' ELSE '' END AS k"
        " FROM vfs_entries WHERE owner = ? AND parent = ?) keyed"
        " WHERE k > ? ORDER BY k LIMIT ?) page"
        " JOIN vfs_entries e ON e.id = page.id"
        " LEFT JOIN files f ON f.id = e.file_id ORDER BY page.k");
    q.Bind(1, owner);
    q.Bind(2, node->id);
    q.Bind(3, after);
    q.Bind(4, limit);
    while (q.Step()) out.push_back(ReadEntry(q));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<TreeEntry> TreeStore::Stat(const std::string& owner, const std::string& path) {
  TreeEntry out;
  const std::string op = "stat " + Quoted(path);
  Status s = metadata_.Transact(op, false, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->id != kRootId) out = EntryById(tx.db(), node->id);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<FileRecord> TreeStore::FileAt(const std::string& owner, const std::string& path) {
  FileRecord out;
  const std::string op = "open " + Quoted(path);
  Status s = metadata_.Transact(op, false, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->folder) return InvalidArgumentError(op + ": it is a folder");
    std::optional<FileRecord> file = tx.FindFile(owner, node->file_id);
    if (!file) return InternalError(op + ": entry points at missing file " + node->file_id);
    out = std::move(*file);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<ReplacedFile> TreeStore::ReplaceableFile(const std::string& owner, const std::string& path) {
  ReplacedFile out;
  Status s =
      metadata_.Transact("check upload to " + Quoted(path), false, [&](MetadataTx& tx) -> Status {
        NEXUS_ASSIGN_OR_RETURN(UploadTarget target, CheckUploadTarget(tx, owner, path));
        if (target.replaced) {
          out.file_id = target.replaced->file_id;
          out.bytes = target.replaced_bytes;
        }
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return out;
}

Status tree_rows::PlaceFile(MetadataTx& tx, const std::string& path, const FileRecord& file,
                            const std::vector<ChunkRef>& chunks, int64_t quota_bytes,
                            int64_t freed_bytes, CommitOutcome* out) {
  const std::string op = "upload to " + Quoted(path);
  const std::string& owner = file.owner;
  NEXUS_ASSIGN_OR_RETURN(UploadTarget target, CheckUploadTarget(tx, owner, path));
  if (quota_bytes != kUnlimitedQuota) {
    const int64_t counted = tx.UsedBytes(owner) - target.replaced_bytes - freed_bytes;
    if (counted + file.size > quota_bytes) return QuotaError(counted, quota_bytes, file.size);
  }
  NEXUS_ASSIGN_OR_RETURN(out->file, tx.InsertFile(file, chunks));
  if (target.replaced) {
    // Repoint the entry first: deleting the old files row cascades to
    // whatever entry still points at it.
    sql::Statement up =
        tx.db().Prepare("UPDATE vfs_entries SET file_id = ?, modified = ? WHERE id = ?");
    up.Bind(1, out->file.id);
    up.Bind(2, out->file.created_at);
    up.Bind(3, target.replaced->id);
    up.Exec();
    out->released = tx.DeleteFiles({target.replaced->file_id});
    return Status::Ok();
  }
  const std::vector<std::string> names = SplitVfsPath(path);
  int64_t created = 0;
  NEXUS_ASSIGN_OR_RETURN(int64_t parent,
                         EnsureFolders(tx, owner, names, names.size() - 1, op, &created));
  InsertEntry(tx.db(), owner, parent, names.back(), out->file.id, out->file.created_at);
  return tx.CheckEntryLimit(owner);
}

Result<CommitOutcome> TreeStore::CommitFileAt(const std::string& path, const FileRecord& file,
                                              const std::vector<ChunkRef>& chunks,
                                              int64_t quota_bytes) {
  CommitOutcome out;
  Status s = metadata_.Transact("upload to " + Quoted(path), true, [&](MetadataTx& tx) -> Status {
    return tree_rows::PlaceFile(tx, path, file, chunks, quota_bytes, 0, &out);
  });
  if (!s.ok()) return s;
  return out;
}

Result<TreeDeletion> TreeStore::Delete(const std::string& owner, const std::string& path) {
  TreeDeletion out;
  const std::string op = "delete " + Quoted(path);
  if (path == "/") return InvalidArgumentError(op + ": the root cannot be deleted");
  Status s = metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    tree_rows::DeleteNode(tx, owner, *node, &out);
    tree_rows::DropLocksAt(tx, owner, path);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status TreeStore::Move(const std::string& owner, const std::string& from, const std::string& to,
                       TreeDeletion* replaced) {
  const std::string op = "move " + Quoted(from) + " to " + Quoted(to);
  if (from == "/") return InvalidArgumentError(op + ": the root cannot be moved");
  return metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    std::optional<Node> src = Find(tx.db(), owner, from);
    if (!src) return NotFoundError(op + ": " + Quoted(from) + " not found");
    if (VfsIsSelfOrDescendant(to, from)) {
      return InvalidArgumentError(op + ": the target is the source or lies inside it");
    }
    const std::vector<std::string> names = SplitVfsPath(to);
    if (names.empty()) return AlreadyExistsError(op + ": the target exists");
    std::vector<Node> nodes = Walk(tx.db(), owner, names);
    if (nodes.size() == names.size()) {
      if (!replaced) return AlreadyExistsError(op + ": the target exists");
      if (VfsIsSelfOrDescendant(from, to)) {
        return InvalidArgumentError(op + ": the target holds the source");
      }
      tree_rows::DeleteNode(tx, owner, nodes.back(), replaced);
      tree_rows::DropLocksAt(tx, owner, to);
    }
    tree_rows::DropLocksAt(tx, owner, from);
    int64_t created = 0;
    NEXUS_ASSIGN_OR_RETURN(int64_t parent,
                           EnsureFolders(tx, owner, names, names.size() - 1, op, &created));
    if (created > 0) NEXUS_RETURN_IF_ERROR(tx.CheckEntryLimit(owner));
    sql::Statement up = tx.db().Prepare("UPDATE vfs_entries SET parent = ?, name = ? WHERE id = ?");
    up.Bind(1, parent);
    up.Bind(2, names.back());
    up.Bind(3, src->id);
    up.Exec();
    if (!src->folder) {
      // The Files API shows the same file under its new name.
      sql::Statement rename = tx.db().Prepare("UPDATE files SET name = ? WHERE id = ?");
      rename.Bind(1, SafeBaseName(names.back()));
      rename.Bind(2, src->file_id);
      rename.Exec();
    }
    return Status::Ok();
  });
}

Result<TreeCounts> TreeStore::Counts(const std::string& owner, bool with_largest) {
  TreeCounts out;
  Status s = metadata_.Transact("usage of " + owner, false, [&](MetadataTx& tx) -> Status {
    const OwnerUsage usage = tx.Usage(owner);
    out.used_bytes = usage.bytes;
    out.files = usage.files;
    out.folders = usage.folders;
    if (!with_largest) return Status::Ok();
    sql::Statement largest = tx.db().Prepare(
        "SELECT f.size, f.id FROM vfs_entries e JOIN files f "
        "ON f.id = e.file_id WHERE e.owner = ? ORDER BY f.size DESC LIMIT 1");
    largest.Bind(1, owner);
    if (largest.Step()) {
      out.largest_file_bytes = largest.Int64(0);
      out.largest_file_id = largest.Text(1);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace nexus::daemon::storage
