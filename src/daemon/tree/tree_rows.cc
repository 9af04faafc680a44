#include "daemon/tree/tree_rows.h"

#include <SQLiteCpp/Statement.h>

#include "common/vfs_path.h"

namespace nexus::daemon::storage::tree_rows {

std::string Quoted(std::string_view path) { return "'" + std::string(path) + "'"; }

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
    SQLite::Statement q(tx.db(),
                        "WITH RECURSIVE sub(id, kind, file_id) AS ("
                        "  SELECT id, kind, file_id FROM vfs_entries WHERE id = ?1"
                        "  UNION ALL"
                        "  SELECT e.id, e.kind, e.file_id FROM sub"
                        "  JOIN vfs_entries e ON e.owner = ?2 AND e.parent = sub.id"
                        "  WHERE sub.kind = 'folder'"
                        ") SELECT id, kind, file_id FROM sub");
    q.bind(1, node.id);
    q.bind(2, owner);
    while (q.executeStep()) {
      if (q.getColumn(1).getString() == kFolder) {
        folders.push_back(q.getColumn(0).getInt64());
      } else {
        files.push_back(q.getColumn(2).getString());
      }
    }
  }
  for (std::string& h : tx.DeleteFiles(files)) deletion->released.push_back(std::move(h));
  SQLite::Statement del(tx.db(), "DELETE FROM vfs_entries WHERE id = ?");
  for (int64_t id : folders) {
    del.bind(1, id);
    del.exec();
    del.reset();
  }
  deletion->files += static_cast<int64_t>(files.size());
  deletion->folders += static_cast<int64_t>(folders.size());
}

void DropLocksAt(MetadataTx& tx, const std::string& owner, const std::string& path) {
  SQLite::Statement q(tx.db(),
                      "DELETE FROM vfs_locks WHERE owner = ?1 AND (path = ?2 OR"
                      " substr(path, 1, length(?2) + 1) = ?2 || '/')");
  q.bind(1, owner);
  q.bind(2, path);
  q.exec();
}

}  // namespace nexus::daemon::storage::tree_rows
