// Dead properties of tree entries (WebDAV PROPPATCH), one row per property
// in vfs_props. The foreign key to vfs_entries makes them follow their
// entry: a move keeps the entry's id and so its properties, a delete (of a
// folder, or of a file by the cascade from its files row) removes them, and
// a copy duplicates them (tree_copy.cc).
#include <SQLiteCpp/Statement.h>

#include "daemon/tree/tree_rows.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon::storage {
namespace {

using tree_rows::Node;
using tree_rows::Quoted;

constexpr char kSchemaV110[] = R"sql(
CREATE TABLE vfs_props (
  entry_id INTEGER NOT NULL REFERENCES vfs_entries(id) ON DELETE CASCADE,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (entry_id, ns, name)
) WITHOUT ROWID;
)sql";

std::vector<DeadProperty> PropsOf(SQLite::Database& db, int64_t entry_id) {
  SQLite::Statement q(db,
                      "SELECT ns, name, value FROM vfs_props WHERE entry_id = ? ORDER BY ns, name");
  q.bind(1, entry_id);
  std::vector<DeadProperty> out;
  while (q.executeStep()) {
    out.push_back(
        {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
  }
  return out;
}

}  // namespace

std::vector<Migration> TreeMigrations() {
  return {{110, "tree: vfs_props (WebDAV dead properties)", kSchemaV110}, TreeLockMigration()};
}

Status TreeStore::SetModified(const std::string& owner, const std::string& path, int64_t modified) {
  const std::string op = "set the time of " + Quoted(path);
  return metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = tree_rows::Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->id == tree_rows::kRootId) return PermissionDeniedError(op + ": it is the root");
    SQLite::Statement up(tx.db(), "UPDATE vfs_entries SET modified = ? WHERE id = ?");
    up.bind(1, modified);
    up.bind(2, node->id);
    up.exec();
    return Status::Ok();
  });
}

Status TreeStore::PatchProps(const std::string& owner, const std::string& path,
                             const std::vector<DeadPropertyChange>& changes) {
  const std::string op = "set properties of " + Quoted(path);
  for (const DeadPropertyChange& c : changes) {
    if (c.prop.name.empty()) return InvalidArgumentError(op + ": a property has no name");
    if (c.prop.value.size() > kMaxPropValueBytes || c.prop.ns.size() > kMaxPropValueBytes ||
        c.prop.name.size() > kMaxPropValueBytes) {
      return InvalidArgumentError(op + ": a property is larger than " +
                                  std::to_string(kMaxPropValueBytes) + " bytes");
    }
  }
  return metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = tree_rows::Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->id == tree_rows::kRootId) return PermissionDeniedError(op + ": the root has none");
    SQLite::Statement set(tx.db(),
                          "INSERT INTO vfs_props(entry_id, ns, name, value) VALUES(?, ?, ?, ?)"
                          " ON CONFLICT(entry_id, ns, name) DO UPDATE SET value = excluded.value");
    SQLite::Statement del(tx.db(),
                          "DELETE FROM vfs_props WHERE entry_id = ? AND ns = ? AND name = ?");
    for (const DeadPropertyChange& c : changes) {
      SQLite::Statement& q = c.remove ? del : set;
      q.bind(1, node->id);
      q.bind(2, c.prop.ns);
      q.bind(3, c.prop.name);
      if (!c.remove) q.bind(4, c.prop.value);
      q.exec();
      q.reset();
    }
    SQLite::Statement count(tx.db(), "SELECT COUNT(*) FROM vfs_props WHERE entry_id = ?");
    count.bind(1, node->id);
    count.executeStep();
    if (count.getColumn(0).getInt64() > kMaxPropsPerEntry) {
      return QuotaExceededError(op + ": more than " + std::to_string(kMaxPropsPerEntry) +
                                " properties");
    }
    return Status::Ok();
  });
}

Result<std::vector<EntryProperties>> TreeStore::ListProps(const std::string& owner,
                                                          const std::string& path, bool children) {
  std::vector<EntryProperties> out;
  const std::string op = "list properties of " + Quoted(path);
  Status s = metadata_.Transact(op, false, [&](MetadataTx& tx) -> Status {
    std::optional<Node> node = tree_rows::Find(tx.db(), owner, path);
    if (!node) return NotFoundError(op + ": not found");
    if (node->id != tree_rows::kRootId) {
      std::vector<DeadProperty> own = PropsOf(tx.db(), node->id);
      if (!own.empty()) out.push_back({"", std::move(own)});
    }
    if (!children || !node->folder) return Status::Ok();
    SQLite::Statement q(tx.db(),
                        "SELECT e.name, p.ns, p.name, p.value FROM vfs_entries e"
                        " JOIN vfs_props p ON p.entry_id = e.id"
                        " WHERE e.owner = ? AND e.parent = ? ORDER BY e.name, p.ns, p.name");
    q.bind(1, owner);
    q.bind(2, node->id);
    while (q.executeStep()) {
      std::string name = q.getColumn(0).getString();
      if (out.empty() || out.back().name != name) out.push_back({name, {}});
      out.back().props.push_back(
          {q.getColumn(1).getString(), q.getColumn(2).getString(), q.getColumn(3).getString()});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace nexus::daemon::storage
