#include "auth/s3_key_store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "common/sqlite_errors.h"

namespace nexus::auth {
namespace {

constexpr int kBusyTimeoutMs = 5000;

}  // namespace

S3KeyStore::S3KeyStore(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

S3KeyStore::~S3KeyStore() = default;

Result<std::unique_ptr<S3KeyStore>> S3KeyStore::Open(const std::string& path) {
  return GuardSqlite(
      "open S3 keys in '" + path + "'", [&]() -> Result<std::unique_ptr<S3KeyStore>> {
        // No OPEN_CREATE: the file is UserStore's, created private and migrated by it.
        auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
        db->exec("PRAGMA synchronous = FULL");
        db->exec("PRAGMA foreign_keys = ON");
        // Checks that the table is there (a file not migrated fails here).
        SQLite::Statement probe(*db, "SELECT COUNT(*) FROM s3_keys");
        return std::unique_ptr<S3KeyStore>(new S3KeyStore(std::move(db)));
      });
}

Result<bool> S3KeyStore::InsertIfUnderCap(const S3KeyRecord& r, int64_t max_per_user) {
  std::lock_guard lock(mu_);
  return GuardSqlite("create S3 key", [&]() -> Result<bool> {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_,
                        "INSERT INTO s3_keys (id, user_id, access_key, sealed_secret, created_at) "
                        "SELECT ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM s3_keys WHERE user_id = "
                        "?) < ?");
    q.bind(1, r.id);
    q.bind(2, r.user_id);
    q.bind(3, r.access_key);
    q.bind(4, r.sealed_secret);
    q.bind(5, r.created_at);
    q.bind(6, r.user_id);
    q.bind(7, max_per_user);
    if (q.exec() == 0) return false;
    tx.commit();
    return true;
  });
}

Result<std::vector<S3KeyRecord>> S3KeyStore::ListForUser(std::string_view user_id) {
  std::lock_guard lock(mu_);
  return GuardSqlite("list S3 keys", [&]() -> Result<std::vector<S3KeyRecord>> {
    SQLite::Statement q(*db_,
                        "SELECT id, access_key, created_at FROM s3_keys WHERE user_id = ? "
                        "ORDER BY created_at, rowid");
    q.bind(1, std::string(user_id));
    std::vector<S3KeyRecord> out;
    while (q.executeStep()) {
      out.push_back(S3KeyRecord{q.getColumn(0).getString(), std::string(user_id),
                                q.getColumn(1).getString(), "", q.getColumn(2).getInt64()});
    }
    return out;
  });
}

Status S3KeyStore::Delete(std::string_view user_id, std::string_view id) {
  std::lock_guard lock(mu_);
  return GuardSqlite("delete S3 key", [&]() -> Status {
    SQLite::Statement q(*db_, "DELETE FROM s3_keys WHERE id = ? AND user_id = ?");
    q.bind(1, std::string(id));
    q.bind(2, std::string(user_id));
    if (q.exec() == 0) return NotFoundError("S3 key '" + std::string(id) + "' not found");
    return Status::Ok();
  });
}

Result<std::optional<S3KeyOwner>> S3KeyStore::FindByAccessKey(std::string_view access_key) {
  std::lock_guard lock(mu_);
  return GuardSqlite("find S3 key", [&]() -> Result<std::optional<S3KeyOwner>> {
    SQLite::Statement q(*db_,
                        "SELECT k.sealed_secret, u.id, u.username, u.email, u.created_at FROM "
                        "s3_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = ?");
    q.bind(1, std::string(access_key));
    std::optional<S3KeyOwner> out;
    if (q.executeStep()) {
      out = S3KeyOwner{q.getColumn(0).getString(), q.getColumn(1).getString(),
                       q.getColumn(2).getString(), q.getColumn(3).getString(),
                       q.getColumn(4).getInt64()};
    }
    return out;
  });
}

}  // namespace nexus::auth
