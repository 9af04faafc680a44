#include "daemon/tree/tree_rows.h"

#include "common/vfs_path.h"

namespace nexus::daemon::storage::tree_rows {

std::string Quoted(std::string_view path) { return "'" + std::string(path) + "'"; }

std::string Prefix(const std::vector<std::string>& names, size_t n) {
  if (n == 0) return "/";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + names[i];
  return out;
}

std::optional<Node> FindChild(sql::Connection& db, const std::string& owner, int64_t parent,
                              const std::string& name) {
  sql::Statement q = db.Prepare(
      "SELECT id, kind, file_id, modified FROM vfs_entries"
      " WHERE owner = ? AND parent = ? AND name = ?");
  q.Bind(1, owner);
  q.Bind(2, parent);
  q.Bind(3, name);
  if (!q.Step()) return std::nullopt;
  Node n;
  n.id = q.Int64(0);
  n.folder = q.Text(1) == kFolder;
  n.file_id = q.IsNull(2) ? "" : q.Text(2);
  n.modified = q.Int64(3);
  return n;
}

std::vector<Node> Walk(sql::Connection& db, const std::string& owner,
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

std::optional<Node> Find(sql::Connection& db, const std::string& owner, const std::string& path) {
  const std::vector<std::string> names = SplitVfsPath(path);
  if (names.empty()) return Node{};
  std::vector<Node> nodes = Walk(db, owner, names);
  if (nodes.size() != names.size()) return std::nullopt;
  return nodes.back();
}

int64_t InsertEntry(sql::Connection& db, const std::string& owner, int64_t parent,
                    const std::string& name, const std::string& file_id, int64_t modified) {
  sql::Statement ins = db.Prepare(
      "INSERT INTO vfs_entries(owner, parent, name, kind, file_id, modified)"
      " VALUES(?, ?, ?, ?, ?, ?) RETURNING id");
  ins.Bind(1, owner);
  ins.Bind(2, parent);
  ins.Bind(3, name);
  ins.Bind(4, file_id.empty() ? kFolder : kFile);
  if (file_id.empty()) {
    ins.BindNull(5);
  } else {
    ins.Bind(5, file_id);
  }
  ins.Bind(6, modified);
  ins.Step();
  return ins.Int64(0);
}

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

void DeleteNode(MetadataTx& tx, const std::string& owner, const Node& node,
                TreeDeletion* deletion) {
  if (!node.folder) {
    deletion->files += 1;
    // Its entry goes by cascade.
    for (std::string& h : tx.DeleteFiles({node.file_id}))
      deletion->released.push_back(std::move(h));
    return;
  }
  // The whole subtree in one recursive query; each step probes the
  // (owner, parent, name) index, so this is O(entries) lookups.
  std::vector<int64_t> folders;
  std::vector<std::string> files;
  {
    sql::Statement q = tx.db().Prepare(
        "WITH RECURSIVE sub(id, kind, file_id) AS ("
        "  SELECT id, kind, file_id FROM vfs_entries WHERE id = ?1"
        "  UNION ALL"
        "  SELECT e.id, e.kind, e.file_id FROM sub"
        "  JOIN vfs_entries e ON e.owner = ?2 AND e.parent = sub.id"
        "  WHERE sub.kind = 'folder'"
        ") SELECT id, kind, file_id FROM sub");
    q.Bind(1, node.id);
    q.Bind(2, owner);
    while (q.Step()) {
      if (q.Text(1) == kFolder) {
        folders.push_back(q.Int64(0));
      } else {
        files.push_back(q.Text(2));
      }
    }
  }
  for (std::string& h : tx.DeleteFiles(files)) deletion->released.push_back(std::move(h));
  sql::Statement del = tx.db().Prepare("DELETE FROM vfs_entries WHERE id = ?");
  for (int64_t id : folders) {
    del.Bind(1, id);
    del.Exec();
    del.Reset();
  }
  deletion->files += static_cast<int64_t>(files.size());
  deletion->folders += static_cast<int64_t>(folders.size());
}

void DropLocksAt(MetadataTx& tx, const std::string& owner, const std::string& path) {
  sql::Statement q = tx.db().Prepare(
      "DELETE FROM vfs_locks WHERE owner = ?1 AND (path = ?2 OR"
      " substr(path, 1, length(?2) + 1) = ?2 || '/')");
  q.Bind(1, owner);
  q.Bind(2, path);
  q.Exec();
}

}  // namespace nexus::daemon::storage::tree_rows
