#include "daemon/nodes/node_store.h"

#include "common/sql/error.h"

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

// PostgreSQL's INTEGER is 32 bits: sizes and times need BIGINT.
constexpr const char* kPostgresSchemaV200 = R"sql(
CREATE TABLE nodes (
  uid TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  ip TEXT NOT NULL DEFAULT '',
  memory_mb BIGINT NOT NULL,
  cpu_shares BIGINT NOT NULL,
  storage_size TEXT NOT NULL,
  storage_bytes BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (owner, name)
);
)sql";

// '' until a daemon adopts the row (NodeStore::Open).
constexpr const char* kSchemaV201 = R"sql(
ALTER TABLE nodes ADD COLUMN host TEXT NOT NULL DEFAULT '';
CREATE INDEX nodes_by_host ON nodes (host);
)sql";

// BIGINT for PostgreSQL; SQLite gives the name the same integer affinity.
constexpr const char* kSchemaV202 = R"sql(
CREATE TABLE node_hosts (
  host TEXT PRIMARY KEY,
  seen_at BIGINT NOT NULL
);
)sql";

constexpr const char* kColumns =
    "uid, owner, name, state, ip, memory_mb, cpu_shares, storage_size, storage_bytes, created_at, "
    "host";

NodeRecord FromRow(sql::Statement& q) {
  NodeRecord n;
  n.uid = q.Text(0);
  n.owner = q.Text(1);
  n.name = q.Text(2);
  n.state = q.Text(3);
  n.ip = q.Text(4);
  n.memory_mb = q.Int64(5);
  n.cpu_shares = q.Int64(6);
  n.storage_size = q.Text(7);
  n.storage_bytes = q.Int64(8);
  n.created_at = q.Int64(9);
  n.host = q.Text(10);
  return n;
}

std::vector<NodeRecord> AllRows(sql::Statement& q) {
  std::vector<NodeRecord> out;
  while (q.Step()) out.push_back(FromRow(q));
  return out;
}

}  // namespace

std::vector<sql::Migration> NodeMigrations() {
  return {{200, "nodes: nodes (owner, name, state, ip, limits, storage)", kSchemaV200,
           kPostgresSchemaV200},
          {201, "nodes: the host each node lives on", kSchemaV201, kSchemaV201},
          {202, "nodes: when each host was last seen alive", kSchemaV202, kSchemaV202}};
}

Result<std::unique_ptr<NodeStore>> NodeStore::Open(sql::Connection& db, std::string host) {
  if (host.empty()) return InvalidArgumentError("a node store needs the name of its host");
  NEXUS_RETURN_IF_ERROR(sql::GuardSql("adopt nodes without a host", [&]() -> Status {
    sql::Transaction tx(db, sql::TxMode::kWrite);
    db.Prepare("UPDATE nodes SET host = ? WHERE host = ''").Bind(1, host).Exec();
    tx.Commit();
    return Status::Ok();
  }));
  return std::unique_ptr<NodeStore>(new NodeStore(db, std::move(host)));
}

Status NodeStore::Insert(const NodeRecord& n) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    sql::Statement ins = db_.Prepare(std::string("INSERT INTO nodes(") + kColumns +
                                     ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.Bind(1, n.uid)
        .Bind(2, n.owner)
        .Bind(3, n.name)
        .Bind(4, n.state)
        .Bind(5, n.ip)
        .Bind(6, n.memory_mb)
        .Bind(7, n.cpu_shares)
        .Bind(8, n.storage_size)
        .Bind(9, n.storage_bytes)
        .Bind(10, n.created_at)
        .Bind(11, host_);
    ins.Exec();
    return Status::Ok();
  } catch (const sql::Error& e) {
    if (sql::IsDuplicateKey(e)) return AlreadyExistsError("node '" + n.name + "' already exists");
    return sql::ToStatus("insert node '" + n.name + "'", e);
  }
}

Status NodeStore::Update(const std::string& uid, const std::string& state, const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("update node " + uid, [&]() -> Status {
    sql::Statement q = db_.Prepare("UPDATE nodes SET state = ?, ip = ? WHERE uid = ?");
    q.Bind(1, state).Bind(2, ip).Bind(3, uid);
    if (q.Exec() == 0) return NotFoundError("node " + uid + " not found");
    return Status::Ok();
  });
}

Result<NodeRecord> NodeStore::Get(const std::string& owner, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("get node '" + name + "'", [&]() -> Result<NodeRecord> {
    sql::Statement q =
        db_.Prepare(std::string("SELECT ") + kColumns + " FROM nodes WHERE owner = ? AND name = ?");
    q.Bind(1, owner).Bind(2, name);
    if (!q.Step()) return NotFoundError("node '" + name + "' not found");
    return FromRow(q);
  });
}

Result<NodeRecord> NodeStore::GetByUid(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("get node " + uid, [&]() -> Result<NodeRecord> {
    sql::Statement q = db_.Prepare(std::string("SELECT ") + kColumns + " FROM nodes WHERE uid = ?");
    q.Bind(1, uid);
    if (!q.Step()) return NotFoundError("node " + uid + " not found");
    return FromRow(q);
  });
}

Result<std::vector<NodeRecord>> NodeStore::List(const std::string& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("list nodes of '" + owner + "'", [&]() -> Result<std::vector<NodeRecord>> {
    sql::Statement q = db_.Prepare(std::string("SELECT ") + kColumns +
                                   " FROM nodes WHERE owner = ? ORDER BY name");
    q.Bind(1, owner);
    return AllRows(q);
  });
}

Result<std::vector<NodeRecord>> NodeStore::ListOnHost() {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("list the nodes of host " + host_, [&]() -> Result<std::vector<NodeRecord>> {
    sql::Statement q =
        db_.Prepare(std::string("SELECT ") + kColumns + " FROM nodes WHERE host = ? ORDER BY uid");
    q.Bind(1, host_);
    return AllRows(q);
  });
}

Status NodeStore::Delete(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("delete node " + uid, [&]() -> Status {
    db_.Prepare("DELETE FROM nodes WHERE uid = ?").Bind(1, uid).Exec();
    return Status::Ok();
  });
}

Status NodeStore::MarkHostSeen(int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("record host " + host_ + " alive", [&]() -> Status {
    db_.Prepare(
           "INSERT INTO node_hosts(host, seen_at) VALUES(?, ?) "
           "ON CONFLICT (host) DO UPDATE SET seen_at = excluded.seen_at")
        .Bind(1, host_)
        .Bind(2, now)
        .Exec();
    return Status::Ok();
  });
}

Result<std::map<std::string, int64_t>> NodeStore::HostsSeen() {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::GuardSql("read when hosts were seen",
                       [&]() -> Result<std::map<std::string, int64_t>> {
                         sql::Statement q = db_.Prepare("SELECT host, seen_at FROM node_hosts");
                         std::map<std::string, int64_t> out;
                         while (q.Step()) out[q.Text(0)] = q.Int64(1);
                         return out;
                       });
}

}  // namespace nexus::daemon::runtime
