#include "daemon/storage/chunk_lease_table.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>

#include "common/sql/error.h"

namespace nexus::daemon::storage {
namespace {

// BIGINT for PostgreSQL; SQLite gives the name the same integer affinity.
constexpr const char* kSchemaV105 = R"sql(
CREATE TABLE chunk_leases (
  hash TEXT NOT NULL,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (hash, holder)
);
CREATE INDEX chunk_leases_by_holder ON chunk_leases (holder);
CREATE TABLE chunk_removals (
  hash TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  started_at BIGINT NOT NULL
);
)sql";

constexpr const char* kSchemaV106 = R"sql(
CREATE TABLE chunk_orphans (hash TEXT PRIMARY KEY);
)sql";

// Whether a removal of one of `hashes` started after `since`.
bool AnyRemovalSince(sql::Connection& db, const std::vector<std::string>& hashes, int64_t since) {
  sql::Statement q = db.Prepare("SELECT 1 FROM chunk_removals WHERE hash = ? AND started_at > ?");
  for (const std::string& hash : hashes) {
    q.Reset();
    q.Bind(1, hash).Bind(2, since);
    if (q.Step()) return true;
  }
  return false;
}

}  // namespace

std::vector<sql::Migration> ChunkLeaseMigrations() {
  return {{105, "storage: chunk leases and removals shared by daemons", kSchemaV105, kSchemaV105},
          {106, "storage: chunks whose removal a lease held up", kSchemaV106, kSchemaV106}};
}

std::string ChunkLeaseTable::HolderName(const std::string& host) {
  unsigned char b[6] = {};
  (void)RAND_bytes(b, sizeof b);
  char tail[16];
  std::snprintf(tail, sizeof tail, "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return host + ":" + std::to_string(::getpid()) + ":" + tail;
}

int64_t ChunkLeaseTable::Now() const { return clock_.NowSeconds(); }

Result<bool> ChunkLeaseTable::Acquire(const std::vector<std::string>& hashes) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("lease chunks", [&]() -> Result<bool> {
    const int64_t now = Now();
    sql::Transaction tx(db_, sql::TxMode::kWrite);
    sql::Statement upsert = db_.Prepare(
        "INSERT INTO chunk_leases(hash, holder, expires_at) VALUES(?, ?, ?) "
        "ON CONFLICT (hash, holder) DO UPDATE SET expires_at = excluded.expires_at");
    for (const std::string& hash : hashes) {
      upsert.Reset();
      upsert.Bind(1, hash).Bind(2, holder_).Bind(3, now + kLeaseTtlSeconds);
      upsert.Exec();
    }
    const bool removing = AnyRemovalSince(db_, hashes, now - kRemovalTtlSeconds);
    tx.Commit();
    return removing;
  });
}

Result<bool> ChunkLeaseTable::RemovalsUnderWay(const std::vector<std::string>& hashes) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("look for chunk removals", [&]() -> Result<bool> {
    sql::Transaction tx(db_, sql::TxMode::kRead);
    const bool removing = AnyRemovalSince(db_, hashes, Now() - kRemovalTtlSeconds);
    tx.Commit();
    return removing;
  });
}

Result<std::vector<std::string>> ChunkLeaseTable::Release(const std::vector<std::string>& hashes) {
  if (hashes.empty()) return std::vector<std::string>{};
  std::lock_guard lock(mu_);
  return sql::GuardSql("release chunk leases", [&]() -> Result<std::vector<std::string>> {
    const int64_t now = Now();
    sql::Transaction tx(db_, sql::TxMode::kWrite);
    sql::Statement del = db_.Prepare("DELETE FROM chunk_leases WHERE hash = ? AND holder = ?");
    sql::Statement orphan = db_.Prepare(
        "SELECT 1 FROM chunk_orphans o WHERE o.hash = ? AND NOT EXISTS ("
        "SELECT 1 FROM chunk_leases l WHERE l.hash = o.hash AND l.expires_at > ?)");
    std::vector<std::string> orphans;
    for (const std::string& hash : hashes) {
      del.Reset();
      del.Bind(1, hash).Bind(2, holder_);
      del.Exec();
      orphan.Reset();
      orphan.Bind(1, hash).Bind(2, now);
      if (orphan.Step()) orphans.push_back(hash);
    }
    tx.Commit();
    return orphans;
  });
}

Status ChunkLeaseTable::Renew() {
  std::lock_guard lock(mu_);
  return sql::GuardSql("renew chunk leases", [&]() -> Status {
    sql::Transaction tx(db_, sql::TxMode::kWrite);
    db_.Prepare("UPDATE chunk_leases SET expires_at = ? WHERE holder = ?")
        .Bind(1, Now() + kLeaseTtlSeconds)
        .Bind(2, holder_)
        .Exec();
    tx.Commit();
    return Status::Ok();
  });
}

Result<bool> ChunkLeaseTable::BeginRemoval(const std::string& hash) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("begin removing chunk " + hash, [&]() -> Result<bool> {
    const int64_t now = Now();
    sql::Transaction tx(db_, sql::TxMode::kWrite);
    if (db_.Prepare("SELECT 1 FROM chunks WHERE hash = ?").Bind(1, hash).Step()) return false;
    if (db_.Prepare("SELECT 1 FROM chunk_leases WHERE hash = ? AND holder <> ? AND expires_at > ?")
            .Bind(1, hash)
            .Bind(2, holder_)
            .Bind(3, now)
            .Step()) {
      // The holder finds it in Release once it lets go.
      db_.Prepare("INSERT INTO chunk_orphans(hash) VALUES(?) ON CONFLICT (hash) DO NOTHING")
          .Bind(1, hash)
          .Exec();
      tx.Commit();
      return false;
    }
    if (db_.Prepare("SELECT 1 FROM chunk_removals WHERE hash = ? AND holder <> ? AND "
                    "started_at > ?")
            .Bind(1, hash)
            .Bind(2, holder_)
            .Bind(3, now - kRemovalTtlSeconds)
            .Step()) {
      return false;
    }
    db_.Prepare(
           "INSERT INTO chunk_removals(hash, holder, started_at) VALUES(?, ?, ?) "
           "ON CONFLICT (hash) DO UPDATE SET holder = excluded.holder, started_at = "
           "excluded.started_at")
        .Bind(1, hash)
        .Bind(2, holder_)
        .Bind(3, now)
        .Exec();
    db_.Prepare("DELETE FROM chunk_orphans WHERE hash = ?").Bind(1, hash).Exec();
    tx.Commit();
    return true;
  });
}

Status ChunkLeaseTable::EndRemoval(const std::vector<std::string>& hashes) {
  if (hashes.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  return sql::GuardSql("end chunk removals", [&]() -> Status {
    sql::Transaction tx(db_, sql::TxMode::kWrite);
    sql::Statement del = db_.Prepare("DELETE FROM chunk_removals WHERE hash = ? AND holder = ?");
    for (const std::string& hash : hashes) {
      del.Reset();
      del.Bind(1, hash).Bind(2, holder_);
      del.Exec();
    }
    tx.Commit();
    return Status::Ok();
  });
}

}  // namespace nexus::daemon::storage
