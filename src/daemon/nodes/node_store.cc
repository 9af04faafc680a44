#include "daemon/nodes/node_store.h"

#include <SQLiteCpp/Statement.h>

#include "common/sqlite_errors.h"

namespace nexus::daemon::runtime {
namespace {

constexpr const char* kSchemaV200 = R"sql(
CREATE TABLE nodes (
  uid TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  ip TEXT NOT NULL DEFAULT '',
  memory_mb INTEGER NOT NULL,
  cpu_shares INTEGER NOT NULL,
  storage_size TEXT NOT NULL,
  storage_bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (owner, name)
);
)sql";

constexpr const char* kColumns =
    "uid, owner, name, state, ip, memory_mb, cpu_shares, storage_size, storage_bytes, created_at";

NodeRecord FromRow(SQLite::Statement& q) {
  NodeRecord n;
  n.uid = q.getColumn(0).getString();
  n.owner = q.getColumn(1).getString();
  n.name = q.getColumn(2).getString();
  n.state = q.getColumn(3).getString();
  n.ip = q.getColumn(4).getString();
  n.memory_mb = q.getColumn(5).getInt64();
  n.cpu_shares = q.getColumn(6).getInt64();
  n.storage_size = q.getColumn(7).getString();
  n.storage_bytes = q.getColumn(8).getInt64();
  n.created_at = q.getColumn(9).getInt64();
  return n;
}

}  // namespace

std::vector<Migration> NodeMigrations() {
  return {{200, "nodes: nodes (owner, name, state, ip, limits, storage)", kSchemaV200}};
}

Status NodeStore::Insert(const NodeRecord& n) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement ins(db_, std::string("INSERT INTO nodes(") + kColumns +
                                   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, n.uid);
    ins.bind(2, n.owner);
    ins.bind(3, n.name);
    ins.bind(4, n.state);
    ins.bind(5, n.ip);
    ins.bind(6, n.memory_mb);
    ins.bind(7, n.cpu_shares);
    ins.bind(8, n.storage_size);
    ins.bind(9, n.storage_bytes);
    ins.bind(10, n.created_at);
    ins.exec();
    return Status::Ok();
  } catch (const SQLite::Exception& e) {
    if (IsDuplicateKey(e)) {
      return AlreadyExistsError("node '" + n.name + "' already exists");
    }
    return SqliteError("insert node '" + n.name + "'", e);
  }
}

Status NodeStore::Update(const std::string& uid, const std::string& state, const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement q(db_, "UPDATE nodes SET state = ?, ip = ? WHERE uid = ?");
    q.bind(1, state);
    q.bind(2, ip);
    q.bind(3, uid);
    if (q.exec() == 0) return NotFoundError("node " + uid + " not found");
    return Status::Ok();
  } catch (const SQLite::Exception& e) {
    return SqliteError("update node " + uid, e);
  }
}

Result<NodeRecord> NodeStore::Get(const std::string& owner, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement q(
        db_, std::string("SELECT ") + kColumns + " FROM nodes WHERE owner = ? AND name = ?");
    q.bind(1, owner);
    q.bind(2, name);
    if (!q.executeStep()) return NotFoundError("node '" + name + "' not found");
    return FromRow(q);
  } catch (const SQLite::Exception& e) {
    return SqliteError("get node '" + name + "'", e);
  }
}

Result<NodeRecord> NodeStore::GetByUid(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement q(db_, std::string("SELECT ") + kColumns + " FROM nodes WHERE uid = ?");
    q.bind(1, uid);
    if (!q.executeStep()) return NotFoundError("node " + uid + " not found");
    return FromRow(q);
  } catch (const SQLite::Exception& e) {
    return SqliteError("get node " + uid, e);
  }
}

Result<std::vector<NodeRecord>> NodeStore::List(const std::string& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement q(
        db_, std::string("SELECT ") + kColumns + " FROM nodes WHERE owner = ? ORDER BY name");
    q.bind(1, owner);
    std::vector<NodeRecord> out;
    while (q.executeStep()) out.push_back(FromRow(q));
    return out;
  } catch (const SQLite::Exception& e) {
    return SqliteError("list nodes of '" + owner + "'", e);
  }
}

Result<std::vector<NodeRecord>> NodeStore::ListAll() {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement q(db_, std::string("SELECT ") + kColumns + " FROM nodes ORDER BY uid");
    std::vector<NodeRecord> out;
    while (q.executeStep()) out.push_back(FromRow(q));
    return out;
  } catch (const SQLite::Exception& e) {
    return SqliteError("list all nodes", e);
  }
}

Status NodeStore::Delete(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement q(db_, "DELETE FROM nodes WHERE uid = ?");
    q.bind(1, uid);
    q.exec();
    return Status::Ok();
  } catch (const SQLite::Exception& e) {
    return SqliteError("delete node " + uid, e);
  }
}

}  // namespace nexus::daemon::runtime
