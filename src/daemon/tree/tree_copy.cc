// TreeStore::Copy: a copy in the tree is metadata only. Each file below the
// source becomes a new files row that lists the same chunks (InsertFile adds
// one reference per chunk), so copying a file of any size costs a few rows
// per chunk and no byte of the chunk store is read or written.

#include "common/vfs_path.h"
#include "daemon/storage/safe_name.h"
#include "daemon/tree/tree_rows.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon::storage {
namespace {

using tree_rows::Node;
using tree_rows::Quoted;

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

// The dead properties (tree_props.cc) go with the copy.
void CopyProps(sql::Connection& db, int64_t from_entry, int64_t to_entry) {
  sql::Statement q = db.Prepare(
      "INSERT INTO vfs_props(entry_id, ns, name, value, owner)"
      " SELECT ?, ns, name, value, owner FROM vfs_props WHERE entry_id = ?");
  q.Bind(1, to_entry);
  q.Bind(2, from_entry);
  q.Exec();
}

struct Child {
  Node node;
  std::string name;
};

std::vector<Child> ChildrenOf(sql::Connection& db, const std::string& owner, int64_t parent) {
  sql::Statement q = db.Prepare(
      "SELECT id, kind, COALESCE(file_id, ''), modified, name FROM vfs_entries"
      " WHERE owner = ? AND parent = ?");
  q.Bind(1, owner);
  q.Bind(2, parent);
  std::vector<Child> out;
  while (q.Step()) {
    Child c;
    c.node.id = q.Int64(0);
    c.node.folder = q.Text(1) == tree_rows::kFolder;
    c.node.file_id = q.Text(2);
    c.node.modified = q.Int64(3);
    c.name = q.Text(4);
    out.push_back(std::move(c));
  }
  return out;
}

// Copies `src` as `name` into the folder `parent`; below a folder only when
// `recursive`. Counts what it made into `*made`.
Status CopyNode(MetadataTx& tx, const std::string& owner, const Node& src, int64_t parent,
                const std::string& name, bool recursive, const NewFileIdFn& new_id,
                TreeCopy* made) {
  if (!src.folder) {
    std::optional<FileRecord> file = tx.FindFile(owner, src.file_id);
    if (!file) return InternalError("copy: entry points at missing file " + src.file_id);
    NEXUS_ASSIGN_OR_RETURN(file->id, new_id());
    file->name = SafeBaseName(name);
    NEXUS_ASSIGN_OR_RETURN(FileRecord copy, tx.InsertFile(*file, ChunksOf(tx.db(), src.file_id)));
    const int64_t entry =
        tree_rows::InsertEntry(tx.db(), owner, parent, name, copy.id, copy.created_at);
    CopyProps(tx.db(), src.id, entry);
    made->files += 1;
    return Status::Ok();
  }
  const int64_t folder = tree_rows::InsertEntry(tx.db(), owner, parent, name, "", tx.NowSeconds());
  CopyProps(tx.db(), src.id, folder);
  made->folders += 1;
  if (!recursive) return Status::Ok();
  for (const Child& c : ChildrenOf(tx.db(), owner, src.id)) {
    NEXUS_RETURN_IF_ERROR(CopyNode(tx, owner, c.node, folder, c.name, true, new_id, made));
  }
  return Status::Ok();
}

}  // namespace

Result<TreeCopy> TreeStore::Copy(const std::string& owner, const std::string& from,
                                 const std::string& to, bool recursive, bool replace,
                                 int64_t quota_bytes, const NewFileIdFn& new_id) {
  TreeCopy out;
  const std::string op = "copy " + Quoted(from) + " to " + Quoted(to);
  Status s = metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    std::optional<Node> src = tree_rows::Find(tx.db(), owner, from);
    if (!src) return NotFoundError(op + ": " + Quoted(from) + " not found");
    if (VfsIsSelfOrDescendant(to, from)) {
      return InvalidArgumentError(op + ": the target is the source or lies inside it");
    }
    const std::vector<std::string> names = SplitVfsPath(to);
    if (names.empty()) return AlreadyExistsError(op + ": the target exists");
    std::vector<Node> nodes = tree_rows::Walk(tx.db(), owner, names);
    TreeDeletion deleted;
    if (nodes.size() == names.size()) {
      if (!replace) return AlreadyExistsError(op + ": the target exists");
      if (VfsIsSelfOrDescendant(from, to)) {
        return InvalidArgumentError(op + ": the target holds the source");
      }
      tree_rows::DeleteNode(tx, owner, nodes.back(), &deleted);
      tree_rows::DropLocksAt(tx, owner, to);
      out.replaced = true;
    }
    const int64_t used_before = tx.UsedBytes(owner);
    int64_t created = 0;
    NEXUS_ASSIGN_OR_RETURN(
        int64_t parent, tree_rows::EnsureFolders(tx, owner, names, names.size() - 1, op, &created));
    NEXUS_RETURN_IF_ERROR(CopyNode(tx, owner, *src, parent, names.back(), recursive, new_id, &out));
    if (quota_bytes != kUnlimitedQuota) {
      const int64_t used_after = tx.UsedBytes(owner);
      if (used_after > quota_bytes) {
        return QuotaError(used_before, quota_bytes, used_after - used_before);
      }
    }
    NEXUS_RETURN_IF_ERROR(CheckPropBytes(tx, owner, op));
    out.released = std::move(deleted.released);
    return tx.CheckEntryLimit(owner);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace nexus::daemon::storage
