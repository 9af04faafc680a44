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

// PostgreSQL's dialect: BIGINT for SQLite's 64-bit INTEGER.
constexpr char kPgSchemaV111[] = R"sql(
CREATE TABLE vfs_locks (
  token TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  path TEXT NOT NULL,
  deep BIGINT NOT NULL,
  shared BIGINT NOT NULL,
  holder TEXT NOT NULL,
  timeout BIGINT NOT NULL,
  expires BIGINT NOT NULL
);
CREATE INDEX vfs_locks_by_path ON vfs_locks(owner, path);
)sql";

constexpr char kPgSchemaV113[] =
    "ALTER TABLE vfs_locks ADD COLUMN entry_id BIGINT"
    " REFERENCES vfs_entries(id) ON DELETE CASCADE;"
    "CREATE INDEX vfs_locks_by_entry ON vfs_locks(entry_id);";

constexpr char kLockColumns[] = "token, path, deep, shared, holder, timeout, expires";

PathLock ReadLock(sql::Statement& q) {
  PathLock l;
  l.token = q.Text(0);
  l.path = q.Text(1);
  l.deep = q.Int(2) != 0;
  l.shared = q.Int(3) != 0;
  l.holder = q.Text(4);
  l.timeout_seconds = q.Int64(5);
  l.expires = q.Int64(6);
  return l;
}

void DropExpired(MetadataTx& tx, const std::string& owner) {
  sql::Statement q = tx.db().Prepare("DELETE FROM vfs_locks WHERE owner = ? AND expires <= ?");
  q.Bind(1, owner);
  q.Bind(2, tx.NowSeconds());
  q.Exec();
}

// The live locks that cover `path` (at it, or deep at an ancestor) and,
// when `below`, those at paths under it.
std::vector<PathLock> LocksFor(MetadataTx& tx, const std::string& owner, const std::string& path,
                               bool below) {
  sql::Statement q = tx.db().Prepare(std::string("SELECT ") + kLockColumns +
                                     " FROM vfs_locks WHERE owner = ? AND expires > ?"
                                     " ORDER BY path, token");
  q.Bind(1, owner);
  q.Bind(2, tx.NowSeconds());
  std::vector<PathLock> out;
  while (q.Step()) {
    PathLock l = ReadLock(q);
    const bool at_or_above = l.path == path || (l.deep && VfsIsSelfOrDescendant(path, l.path));
    const bool under = below && VfsIsSelfOrDescendant(l.path, path);
    if (at_or_above || under) out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

sql::Migration TreeLockMigration() {
  return {111, "tree: vfs_locks (WebDAV write locks)", kSchemaV111, kPgSchemaV111};
}

sql::Migration TreeLockEntryMigration() {
  return {113, "tree: vfs_locks.entry_id, locks go with their entry", kSchemaV113, kPgSchemaV113};
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
    sql::Statement count = tx.db().Prepare("SELECT COUNT(*) FROM vfs_locks WHERE owner = ?");
    count.Bind(1, owner);
    count.Step();
    if (count.Int64(0) >= kMaxLocksPerOwner) {
      return QuotaExceededError(op + ": " + std::to_string(kMaxLocksPerOwner) +
                                " locks are held already");
    }
    out.expires = tx.NowSeconds() + want.timeout_seconds;
    sql::Statement ins = tx.db().Prepare(
        "INSERT INTO vfs_locks(token, owner, path, deep, shared, holder,"
        " timeout, expires, entry_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.Bind(1, out.token);
    ins.Bind(2, owner);
    ins.Bind(3, out.path);
    ins.Bind(4, out.deep ? 1 : 0);
    ins.Bind(5, out.shared ? 1 : 0);
    ins.Bind(6, out.holder);
    ins.Bind(7, out.timeout_seconds);
    ins.Bind(8, out.expires);
    ins.Bind(9, node->id);
    ins.Exec();
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
      sql::Statement up =
          tx.db().Prepare("UPDATE vfs_locks SET timeout = ?, expires = ? WHERE token = ?");
      up.Bind(1, l.timeout_seconds);
      up.Bind(2, l.expires);
      up.Bind(3, l.token);
      up.Exec();
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
      sql::Statement del = tx.db().Prepare("DELETE FROM vfs_locks WHERE token = ?");
      del.Bind(1, token);
      del.Exec();
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
