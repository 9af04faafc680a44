#include "auth/app_password_store.h"

#include "auth/auth_database.h"
#include "common/sql/connection.h"

namespace nexus::auth {

AppPasswordStore::AppPasswordStore(std::unique_ptr<sql::Connection> db,
                                   std::unique_ptr<sql::ConnectionPool> readers)
    : db_(std::move(db)), readers_(std::move(readers)) {}

AppPasswordStore::~AppPasswordStore() = default;

Result<std::unique_ptr<AppPasswordStore>> AppPasswordStore::Open(const std::string& target) {
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> db,
                         ConnectAuthDatabase(target, /*read_only=*/false));
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<sql::ConnectionPool> readers, OpenAuthReaders(target));
  // Checks that the table is there (a database not migrated fails here).
  NEXUS_RETURN_IF_ERROR(
      sql::GuardSql("open app passwords in " + DescribeAuthTarget(target), [&]() -> Status {
        sql::Statement probe = db->Prepare("SELECT COUNT(*) FROM app_passwords");
        probe.Step();
        return Status::Ok();
      }));
  return std::unique_ptr<AppPasswordStore>(new AppPasswordStore(std::move(db), std::move(readers)));
}

Result<bool> AppPasswordStore::InsertIfUnderCap(const AppPasswordRecord& r, int64_t max_per_user) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("create app password", [&]() -> Result<bool> {
    // The write lock from the count on: concurrent creates, from this
    // process or another, cannot pass the cap together.
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    {
      sql::Statement count = db_->Prepare("SELECT COUNT(*) FROM app_passwords WHERE user_id = ?");
      count.Bind(1, r.user_id);
      if (count.Step() && count.Int64(0) >= max_per_user) return false;
    }
    sql::Statement q = db_->Prepare(
        "INSERT INTO app_passwords (id, user_id, name, secret_hash, created_at, last_used_at) "
        "VALUES (?, ?, ?, ?, ?, 0)");
    q.Bind(1, r.id);
    q.Bind(2, r.user_id);
    q.Bind(3, r.name);
    q.Bind(4, r.secret_hash);
    q.Bind(5, r.created_at);
    q.Exec();
    tx.Commit();
    return true;
  });
}

Result<std::vector<AppPasswordRecord>> AppPasswordStore::ListForUser(std::string_view user_id) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("list app passwords", [&]() -> Result<std::vector<AppPasswordRecord>> {
    // Ties in created_at (one second): insertion order, by rowid on SQLite
    // and by seq on PostgreSQL, which has no rowid.
    sql::Statement q =
        db_->Prepare(db_->dialect() == sql::Dialect::kPostgres
                         ? "SELECT id, name, created_at, last_used_at FROM app_passwords "
                           "WHERE user_id = ? ORDER BY created_at, seq"
                         : "SELECT id, name, created_at, last_used_at FROM app_passwords "
                           "WHERE user_id = ? ORDER BY created_at, rowid");
    q.Bind(1, user_id);
    std::vector<AppPasswordRecord> out;
    while (q.Step()) {
      out.push_back(AppPasswordRecord{q.Text(0), std::string(user_id), q.Text(1), "", q.Int64(2),
                                      q.Int64(3)});
    }
    return out;
  });
}

Status AppPasswordStore::Delete(std::string_view user_id, std::string_view id) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("delete app password", [&]() -> Status {
    sql::Statement q = db_->Prepare("DELETE FROM app_passwords WHERE id = ? AND user_id = ?");
    q.Bind(1, id);
    q.Bind(2, user_id);
    if (q.Exec() == 0) return NotFoundError("app password '" + std::string(id) + "' not found");
    return Status::Ok();
  });
}

Result<std::optional<AppPasswordOwner>> AppPasswordStore::FindBySecretHash(
    std::string_view secret_hash) {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease reader, readers_->Acquire());
  return sql::GuardSql("find app password", [&]() -> Result<std::optional<AppPasswordOwner>> {
    // The statement ends before the call returns: the next lookup sees every
    // commit made before it (a delete included), and on SQLite the WAL can
    // be checkpointed.
    sql::Statement q = reader->Prepare(
        "SELECT a.id, a.last_used_at, u.id, u.username, u.email, u.created_at "
        "FROM app_passwords a JOIN users u ON u.id = a.user_id WHERE a.secret_hash = ?");
    q.Bind(1, secret_hash);
    if (!q.Step()) return std::optional<AppPasswordOwner>();
    return std::optional<AppPasswordOwner>(
        AppPasswordOwner{q.Text(0), q.Int64(1), q.Text(2), q.Text(3), q.Text(4), q.Int64(5)});
  });
}

Status AppPasswordStore::NoteUsed(std::string_view id, int64_t now) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("note app password use", [&]() -> Status {
    sql::Statement q = db_->Prepare("UPDATE app_passwords SET last_used_at = ? WHERE id = ?");
    q.Bind(1, now);
    q.Bind(2, id);
    q.Exec();
    return Status::Ok();
  });
}

}  // namespace nexus::auth
