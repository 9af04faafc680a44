#include "daemon/tree/tree_store.h"

#include <SQLiteCpp/Statement.h>

#include <optional>

#include "common/vfs_path.h"
#include "daemon/storage/safe_name.h"

namespace nexus::daemon::storage {
namespace {

constexpr int64_t kRootId = 0;
constexpr char kFolder[] = "folder";
constexpr char kFile[] = "file";

struct Node {
  int64_t id = kRootId;
  bool folder = true;
  std::string file_id;
  int64_t modified = 0;
};

std::string Quoted(std::string_view path) { return "'" + std::string(path) + "'"; }

// "/" followed by the first `n` names.
std::string Prefix(const std::vector<std::string>& names, size_t n) {
  if (n == 0) return "/";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + names[i];
  return out;
}

std::optional<Node> FindChild(SQLite::Database& db, const std::string& owner, int64_t parent,
                              const std::string& name) {
  SQLite::Statement q(db,
                      "SELECT id, kind, file_id, modified FROM vfs_entries"
                      " WHERE owner = ? AND parent = ? AND name = ?");
  q.bind(1, owner);
  q.bind(2, parent);
  q.bind(3, name);
  if (!q.executeStep()) return std::nullopt;
  Node n;
  n.id = q.getColumn(0).getInt64();
  n.folder = q.getColumn(1).getString() == kFolder;
  n.file_id = q.getColumn(2).isNull() ? "" : q.getColumn(2).getString();
  n.modified = q.getColumn(3).getInt64();
  return n;
}

// The entries along `names` from the root, as far as they exist; a file ends
// the walk (nothing can be below it).
std::vector<Node> Walk(SQLite::Database& db, const std::string& owner,
                       const std::vector<std::string>& names) {
  std::vector<Node> nodes;
  int64_t parent = kRootId;
  for (const auto& name : names) {
    std::optional<Node> child = FindChild(db, owner, parent, name);
    if (!child) break;
    nodes.push_back(*child);
    if (!child->folder) break;
    parent = child->id;
  }
  return nodes;
}

// The entry at a normalised path (the root is a folder with id 0), or none.
std::optional<Node> Find(SQLite::Database& db, const std::string& owner, const std::string& path) {
  const std::vector<std::string> names = SplitVfsPath(path);
  if (names.empty()) return Node{};
  std::vector<Node> nodes = Walk(db, owner, names);
  if (nodes.size() != names.size()) return std::nullopt;
  return nodes.back();
}

int64_t InsertEntry(SQLite::Database& db, const std::string& owner, int64_t parent,
                    const std::string& name, const std::string& file_id, int64_t modified) {
  SQLite::Statement ins(db,
                        "INSERT INTO vfs_entries(owner, parent, name, kind, file_id, modified)"
                        " VALUES(?, ?, ?, ?, ?, ?)");
  ins.bind(1, owner);
  ins.bind(2, parent);
  ins.bind(3, name);
  ins.bind(4, file_id.empty() ? kFolder : kFile);
  if (file_id.empty()) {
    ins.bind(5);
  } else {
    ins.bind(5, file_id);
  }
  ins.bind(6, modified);
  ins.exec();
  return db.getLastInsertRowid();
}

// Makes sure the folder made of the first `n` names exists, creating what is
// missing (mkdir -p); a file in the way is kAlreadyExists. Returns its id;
// adds the number of folders it created to `*created`.
Result<int64_t> EnsureFolders(MetadataTx& tx, const std::string& owner,
                              const std::vector<std::string>& names, size_t n, std::string_view op,
                              int64_t* created) {
  int64_t parent = kRootId;
  bool creating = false;  // below a folder just created, nothing exists yet
  for (size_t i = 0; i < n; ++i) {
    if (!creating) {
      std::optional<Node> child = FindChild(tx.db(), owner, parent, names[i]);
      if (child && !child->folder) {
        return AlreadyExistsError(std::string(op) + ": " + Quoted(Prefix(names, i + 1)) +
                                  " is a file");
      }
      if (child) {
        parent = child->id;
        continue;
      }
      creating = true;
    }
    parent = InsertEntry(tx.db(), owner, parent, names[i], "", tx.NowSeconds());
    ++*created;
  }
  return parent;
}

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

TreeEntry ReadEntry(SQLite::Statement& q) {
  TreeEntry e;
  e.name = q.getColumn(0).getString();
  e.kind = q.getColumn(1).getString() == kFolder ? EntryKind::kFolder : EntryKind::kFile;
  e.size = q.getColumn(2).getInt64();
  e.modified = q.getColumn(3).getInt64();
  e.file_id = q.getColumn(4).getString();
  return e;
}

constexpr char kEntrySelect[] =
    "SELECT e.name, e.kind, COALESCE(f.size, 0), e.modified, COALESCE(e.file_id, '')"
    " FROM vfs_entries e LEFT JOIN files f ON f.id = e.file_id";

TreeEntry EntryById(SQLite::Database& db, int64_t id) {
  SQLite::Statement q(db, std::string(kEntrySelect) + " WHERE e.id = ?");
  q.bind(1, id);
  q.executeStep();
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
    SQLite::Statement q(tx.db(), std::string(kEntrySelect) +
                                     " WHERE e.owner = ? AND e.parent = ?"
                                     " ORDER BY e.kind = 'file', e.name");
    q.bind(1, owner);
    q.bind(2, node->id);
    while (q.executeStep()) out.push_back(ReadEntry(q));
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

Result<CommitOutcome> TreeStore::CommitFileAt(const std::string& path, const FileRecord& file,
                                              const std::vector<ChunkRef>& chunks,
                                              int64_t quota_bytes) {
  CommitOutcome out;
  const std::string op = "upload to " + Quoted(path);
  Status s = metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    const std::string& owner = file.owner;
    NEXUS_ASSIGN_OR_RETURN(UploadTarget target, CheckUploadTarget(tx, owner, path));
    if (quota_bytes != kUnlimitedQuota) {
      const int64_t counted = tx.UsedBytes(owner) - target.replaced_bytes;
      if (counted + file.size > quota_bytes) return QuotaError(counted, quota_bytes, file.size);
    }
    NEXUS_ASSIGN_OR_RETURN(out.file, tx.InsertFile(file, chunks));
    if (target.replaced) {
      // Repoint the entry first: deleting the old files row cascades to
      // whatever entry still points at it.
      SQLite::Statement up(tx.db(),
                           "UPDATE vfs_entries SET file_id = ?, modified = ? WHERE id = ?");
      up.bind(1, out.file.id);
      up.bind(2, out.file.created_at);
      up.bind(3, target.replaced->id);
      up.exec();
      out.released = tx.DeleteFiles({target.replaced->file_id});
      return Status::Ok();
    }
    const std::vector<std::string> names = SplitVfsPath(path);
    int64_t created = 0;
    NEXUS_ASSIGN_OR_RETURN(int64_t parent,
                           EnsureFolders(tx, owner, names, names.size() - 1, op, &created));
    InsertEntry(tx.db(), owner, parent, names.back(), out.file.id, out.file.created_at);
    return tx.CheckEntryLimit(owner);
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
    if (!node->folder) {
      out.files = 1;
      out.released = tx.DeleteFiles({node->file_id});  // its entry goes by cascade
      return Status::Ok();
    }
    // The whole subtree in one recursive query; each step probes the
    // (owner, parent, name) index, so this is O(entries) lookups.
    std::vector<int64_t> folders;
    std::vector<std::string> files;
    {
      SQLite::Statement q(tx.db(),
                          "WITH RECURSIVE sub(id, kind, file_id) AS ("
                          "  SELECT id, kind, file_id FROM vfs_entries WHERE id = ?1"
                          "  UNION ALL"
                          "  SELECT e.id, e.kind, e.file_id FROM sub"
                          "  JOIN vfs_entries e ON e.owner = ?2 AND e.parent = sub.id"
                          "  WHERE sub.kind = 'folder'"
                          ") SELECT id, kind, file_id FROM sub");
      q.bind(1, node->id);
      q.bind(2, owner);
      while (q.executeStep()) {
        if (q.getColumn(1).getString() == kFolder) {
          folders.push_back(q.getColumn(0).getInt64());
        } else {
          files.push_back(q.getColumn(2).getString());
        }
      }
    }
    out.released = tx.DeleteFiles(files);
    SQLite::Statement del(tx.db(), "DELETE FROM vfs_entries WHERE id = ?");
    for (int64_t id : folders) {
      del.bind(1, id);
      del.exec();
      del.reset();
    }
    out.files = static_cast<int64_t>(files.size());
    out.folders = static_cast<int64_t>(folders.size());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status TreeStore::Move(const std::string& owner, const std::string& from, const std::string& to) {
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
    if (nodes.size() == names.size()) return AlreadyExistsError(op + ": the target exists");
    int64_t created = 0;
    NEXUS_ASSIGN_OR_RETURN(int64_t parent,
                           EnsureFolders(tx, owner, names, names.size() - 1, op, &created));
    if (created > 0) NEXUS_RETURN_IF_ERROR(tx.CheckEntryLimit(owner));
    SQLite::Statement up(tx.db(), "UPDATE vfs_entries SET parent = ?, name = ? WHERE id = ?");
    up.bind(1, parent);
    up.bind(2, names.back());
    up.bind(3, src->id);
    up.exec();
    if (!src->folder) {
      // The Files API shows the same file under its new name.
      SQLite::Statement rename(tx.db(), "UPDATE files SET name = ? WHERE id = ?");
      rename.bind(1, SafeBaseName(names.back()));
      rename.bind(2, src->file_id);
      rename.exec();
    }
    return Status::Ok();
  });
}

Result<TreeCounts> TreeStore::Counts(const std::string& owner) {
  TreeCounts out;
  Status s = metadata_.Transact("usage of " + owner, false, [&](MetadataTx& tx) -> Status {
    out.used_bytes = tx.UsedBytes(owner);
    SQLite::Statement files(tx.db(), "SELECT COUNT(*) FROM files WHERE owner = ?");
    files.bind(1, owner);
    files.executeStep();
    out.files = files.getColumn(0).getInt64();
    SQLite::Statement folders(
        tx.db(), "SELECT COUNT(*) FROM vfs_entries WHERE owner = ? AND kind = 'folder'");
    folders.bind(1, owner);
    folders.executeStep();
    out.folders = folders.getColumn(0).getInt64();
    SQLite::Statement largest(tx.db(),
                              "SELECT f.size, f.id FROM vfs_entries e JOIN files f "
                              "ON f.id = e.file_id WHERE e.owner = ? ORDER BY f.size DESC LIMIT 1");
    largest.bind(1, owner);
    if (largest.executeStep()) {
      out.largest_file_bytes = largest.getColumn(0).getInt64();
      out.largest_file_id = largest.getColumn(1).getString();
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace nexus::daemon::storage
