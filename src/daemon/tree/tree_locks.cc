// WebDAV write locks on tree paths (RFC 4918 §6–7), one row per lock in
// vfs_locks. Locks live in nexusd because the gateway keeps no state: any
// gateway of several sees the same locks. A lock names a path, so a deep
// one also covers what is created under it; deleting or moving a path
// drops the locks at and below it (tree_store.cc). Each lock also points
// at the entry it was taken on (migration 113), so when that entry goes by
// another road (DELETE /api/files/:id, whose files row takes the entry
// with it) its locks go by the same cascade. Expired locks are dropped by
// the next lock operation of their owner; until then every query ignores
// them.
#include <SQLiteCpp/Statement.h>

#include "common/vfs_path.h"
#include "daemon/tree/tree_rows.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon::storage {
namespace {

using tree_rows::Quoted;

constexpr char kSchemaV111[] = R"sql(
CREATE TABLE vfs_locks (
  token TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  path TEXT NOT NULL,
  deep INTEGER NOT NULL,
  shared INTEGER NOT NULL,
  holder TEXT NOT NULL,
  timeout INTEGER NOT NULL,
  expires INTEGER NOT NULL
);
CREATE INDEX vfs_locks_by_path ON vfs_locks(owner, path);
)sql";

// Rows from before 113 keep a NULL entry and follow their path only.
constexpr char kSchemaV113[] =
    "ALTER TABLE vfs_locks ADD COLUMN entry_id INTEGER"
    " REFERENCES vfs_entries(id) ON DELETE CASCADE;"
    "CREATE INDEX vfs_locks_by_entry ON vfs_locks(entry_id);";

constexpr char kLockColumns[] = "token, path, deep, shared, holder, timeout, expires";

PathLock ReadLock(SQLite::Statement& q) {
  PathLock l;
  l.token = q.getColumn(0).getString();
  l.path = q.getColumn(1).getString();
  l.deep = q.getColumn(2).getInt() != 0;
  l.shared = q.getColumn(3).getInt() != 0;
  l.holder = q.getColumn(4).getString();
  l.timeout_seconds = q.getColumn(5).getInt64();
  l.expires = q.getColumn(6).getInt64();
  return l;
}

void DropExpired(MetadataTx& tx, const std::string& owner) {
  SQLite::Statement q(tx.db(), "DELETE FROM vfs_locks WHERE owner = ? AND expires <= ?");
  q.bind(1, owner);
  q.bind(2, tx.NowSeconds());
  q.exec();
}

// The live locks that cover `path` (at it, or deep at an ancestor) and,
// when `below`, those at paths under it.
std::vector<PathLock> LocksFor(MetadataTx& tx, const std::string& owner, const std::string& path,
                               bool below) {
  SQLite::Statement q(tx.db(), std::string("SELECT ") + kLockColumns +
                                   " FROM vfs_locks WHERE owner = ? AND expires > ?"
                                   " ORDER BY path, token");
  q.bind(1, owner);
  q.bind(2, tx.NowSeconds());
  std::vector<PathLock> out;
  while (q.executeStep()) {
    PathLock l = ReadLock(q);
    const bool at_or_above = l.path == path || (l.deep && VfsIsSelfOrDescendant(path, l.path));
    const bool under = below && VfsIsSelfOrDescendant(l.path, path);
    if (at_or_above || under) out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

Migration TreeLockMigration() { return {111, "tree: vfs_locks (WebDAV write locks)", kSchemaV111}; }

Migration TreeLockEntryMigration() {
  return {113, "tree: vfs_locks.entry_id, locks go with their entry", kSchemaV113};
}

Result<PathLock> TreeStore::Lock(const std::string& owner, const PathLock& want) {
  PathLock out = want;
  const std::string op = "lock " + Quoted(want.path);
  Status s = metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    DropExpired(tx, owner);
    std::optional<tree_rows::Node> node = tree_rows::Find(tx.db(), owner, want.path);
    if (!node) return NotFoundError(op + ": not found");
    for (const PathLock& l : LocksFor(tx, owner, want.path, want.deep)) {
      if (!l.shared || !want.shared) {
        return AlreadyExistsError(op + ": a conflicting lock is held on " + Quoted(l.path));
      }
    }
    SQLite::Statement count(tx.db(), "SELECT COUNT(*) FROM vfs_locks WHERE owner = ?");
    count.bind(1, owner);
    count.executeStep();
    if (count.getColumn(0).getInt64() >= kMaxLocksPerOwner) {
      return QuotaExceededError(op + ": " + std::to_string(kMaxLocksPerOwner) +
                                " locks are held already");
    }
    out.expires = tx.NowSeconds() + want.timeout_seconds;
    SQLite::Statement ins(tx.db(),
                          "INSERT INTO vfs_locks(token, owner, path, deep, shared, holder,"
                          " timeout, expires, entry_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, out.token);
    ins.bind(2, owner);
    ins.bind(3, out.path);
    ins.bind(4, out.deep ? 1 : 0);
    ins.bind(5, out.shared ? 1 : 0);
    ins.bind(6, out.holder);
    ins.bind(7, out.timeout_seconds);
    ins.bind(8, out.expires);
    ins.bind(9, node->id);
    ins.exec();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<PathLock> TreeStore::RefreshLock(const std::string& owner, const std::string& path,
                                        const std::string& token, int64_t timeout_seconds) {
  PathLock out;
  const std::string op = "refresh the lock of " + Quoted(path);
  Status s = metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    DropExpired(tx, owner);
    for (PathLock& l : LocksFor(tx, owner, path, false)) {
      if (l.token != token) continue;
      l.timeout_seconds = timeout_seconds;
      l.expires = tx.NowSeconds() + timeout_seconds;
      SQLite::Statement up(tx.db(),
                           "UPDATE vfs_locks SET timeout = ?, expires = ? WHERE token = ?");
      up.bind(1, l.timeout_seconds);
      up.bind(2, l.expires);
      up.bind(3, l.token);
      up.exec();
      out = std::move(l);
      return Status::Ok();
    }
    return NotFoundError(op + ": no such lock covers it");
  });
  if (!s.ok()) return s;
  return out;
}

Status TreeStore::Unlock(const std::string& owner, const std::string& path,
                         const std::string& token) {
  const std::string op = "unlock " + Quoted(path);
  return metadata_.Transact(op, true, [&](MetadataTx& tx) -> Status {
    DropExpired(tx, owner);
    for (const PathLock& l : LocksFor(tx, owner, path, false)) {
      if (l.token != token) continue;
      SQLite::Statement del(tx.db(), "DELETE FROM vfs_locks WHERE token = ?");
      del.bind(1, token);
      del.exec();
      return Status::Ok();
    }
    return NotFoundError(op + ": no such lock covers it");
  });
}

Result<std::vector<PathLock>> TreeStore::LocksAt(const std::string& owner, const std::string& path,
                                                 bool below) {
  std::vector<PathLock> out;
  Status s = metadata_.Transact("locks of " + Quoted(path), false, [&](MetadataTx& tx) -> Status {
    out = LocksFor(tx, owner, path, below);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace nexus::daemon::storage
