#include "auth/s3_key_store.h"

#include "auth/auth_database.h"
#include "common/sql/connection.h"

namespace nexus::auth {

S3KeyStore::S3KeyStore(std::unique_ptr<sql::Connection> db) : db_(std::move(db)) {}

S3KeyStore::~S3KeyStore() = default;

Result<std::unique_ptr<S3KeyStore>> S3KeyStore::Open(const std::string& target) {
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> db,
                         ConnectAuthDatabase(target, /*read_only=*/false));
  // Checks that the table is there (a database not migrated fails here).
  NEXUS_RETURN_IF_ERROR(
      sql::GuardSql("open S3 keys in " + DescribeAuthTarget(target), [&]() -> Status {
        sql::Statement probe = db->Prepare("SELECT COUNT(*) FROM s3_keys");
        probe.Step();
        return Status::Ok();
      }));
  return std::unique_ptr<S3KeyStore>(new S3KeyStore(std::move(db)));
}

Result<bool> S3KeyStore::InsertIfUnderCap(const S3KeyRecord& r, int64_t max_per_user) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("create S3 key", [&]() -> Result<bool> {
    // The write lock from the count on: concurrent creates, from this
    // process or another, cannot pass the cap together.
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    {
      sql::Statement count = db_->Prepare("SELECT COUNT(*) FROM s3_keys WHERE user_id = ?");
      count.Bind(1, r.user_id);
      if (count.Step() && count.Int64(0) >= max_per_user) return false;
    }
    sql::Statement q = db_->Prepare(
        "INSERT INTO s3_keys (id, user_id, access_key, sealed_secret, created_at) "
        "VALUES (?, ?, ?, ?, ?)");
    q.Bind(1, r.id);
    q.Bind(2, r.user_id);
    q.Bind(3, r.access_key);
    q.Bind(4, r.sealed_secret);
    q.Bind(5, r.created_at);
    q.Exec();
    tx.Commit();
    return true;
  });
}

Result<std::vector<S3KeyRecord>> S3KeyStore::ListForUser(std::string_view user_id) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("list S3 keys", [&]() -> Result<std::vector<S3KeyRecord>> {
    // Ties in created_at (one second): insertion order, by rowid on SQLite
    // and by seq on PostgreSQL, which has no rowid.
    sql::Statement q = db_->Prepare(db_->dialect() == sql::Dialect::kPostgres
                                        ? "SELECT id, access_key, created_at FROM s3_keys "
                                          "WHERE user_id = ? ORDER BY created_at, seq"
                                        : "SELECT id, access_key, created_at FROM s3_keys "
                                          "WHERE user_id = ? ORDER BY created_at, rowid");
    q.Bind(1, user_id);
    std::vector<S3KeyRecord> out;
    while (q.Step()) {
      out.push_back(S3KeyRecord{q.Text(0), std::string(user_id), q.Text(1), "", q.Int64(2)});
    }
    return out;
  });
}

Status S3KeyStore::Delete(std::string_view user_id, std::string_view id) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("delete S3 key", [&]() -> Status {
    sql::Statement q = db_->Prepare("DELETE FROM s3_keys WHERE id = ? AND user_id = ?");
    q.Bind(1, id);
    q.Bind(2, user_id);
    if (q.Exec() == 0) return NotFoundError("S3 key '" + std::string(id) + "' not found");
    return Status::Ok();
  });
}

Result<std::optional<S3KeyOwner>> S3KeyStore::FindByAccessKey(std::string_view access_key) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("find S3 key", [&]() -> Result<std::optional<S3KeyOwner>> {
    sql::Statement q = db_->Prepare(
        "SELECT k.sealed_secret, u.id, u.username, u.email, u.created_at FROM "
        "s3_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = ?");
    q.Bind(1, access_key);
    if (!q.Step()) return std::optional<S3KeyOwner>();
    return std::optional<S3KeyOwner>(
        S3KeyOwner{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int64(4)});
  });
}

}  // namespace nexus::auth
