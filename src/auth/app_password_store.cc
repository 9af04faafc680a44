#include "auth/app_password_store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "common/sqlite_errors.h"

namespace nexus::auth {
namespace {

constexpr int kBusyTimeoutMs = 5000;

}  // namespace

AppPasswordStore::AppPasswordStore(std::unique_ptr<SQLite::Database> db,
                                   std::unique_ptr<SQLite::Database> reader)
    : db_(std::move(db)), reader_(std::move(reader)) {}

AppPasswordStore::~AppPasswordStore() = default;

Result<std::unique_ptr<AppPasswordStore>> AppPasswordStore::Open(const std::string& path) {
  return GuardSqlite(
      "open app passwords in '" + path + "'", [&]() -> Result<std::unique_ptr<AppPasswordStore>> {
        // No OPEN_CREATE: the file is UserStore's, created private and
        // migrated by it.
        auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
        db->exec("PRAGMA synchronous = FULL");  // journal_mode WAL is the file's, set by UserStore
        db->exec("PRAGMA foreign_keys = ON");
        auto reader =
            std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
        std::unique_ptr<AppPasswordStore> store(
            new AppPasswordStore(std::move(db), std::move(reader)));
        // Preparing it checks that the table is there (a file not migrated).
        store->find_by_hash_ = std::make_unique<SQLite::Statement>(
            *store->reader_,
            "SELECT a.id, a.last_used_at, u.id, u.username, u.email, u.created_at "
            "FROM app_passwords a JOIN users u ON u.id = a.user_id WHERE a.secret_hash = ?");
        return store;
      });
}

Result<bool> AppPasswordStore::InsertIfUnderCap(const AppPasswordRecord& r, int64_t max_per_user) {
  std::lock_guard lock(mu_);
  return GuardSqlite("create app password", [&]() -> Result<bool> {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_,
                        "INSERT INTO app_passwords (id, user_id, name, secret_hash, created_at, "
                        "last_used_at) SELECT ?, ?, ?, ?, ?, 0 WHERE (SELECT COUNT(*) FROM "
                        "app_passwords WHERE user_id = ?) < ?");
    q.bind(1, r.id);
    q.bind(2, r.user_id);
    q.bind(3, r.name);
    q.bind(4, r.secret_hash);
    q.bind(5, r.created_at);
    q.bind(6, r.user_id);
    q.bind(7, max_per_user);
    if (q.exec() == 0) return false;
    tx.commit();
    return true;
  });
}

Result<std::vector<AppPasswordRecord>> AppPasswordStore::ListForUser(std::string_view user_id) {
  std::lock_guard lock(mu_);
  return GuardSqlite("list app passwords", [&]() -> Result<std::vector<AppPasswordRecord>> {
    SQLite::Statement q(*db_,
                        "SELECT id, name, created_at, last_used_at FROM app_passwords "
                        "WHERE user_id = ? ORDER BY created_at, rowid");
    q.bind(1, std::string(user_id));
    std::vector<AppPasswordRecord> out;
    while (q.executeStep()) {
      out.push_back(AppPasswordRecord{q.getColumn(0).getString(), std::string(user_id),
                                      q.getColumn(1).getString(), "", q.getColumn(2).getInt64(),
                                      q.getColumn(3).getInt64()});
    }
    return out;
  });
}

Status AppPasswordStore::Delete(std::string_view user_id, std::string_view id) {
  std::lock_guard lock(mu_);
  return GuardSqlite("delete app password", [&]() -> Status {
    SQLite::Statement q(*db_, "DELETE FROM app_passwords WHERE id = ? AND user_id = ?");
    q.bind(1, std::string(id));
    q.bind(2, std::string(user_id));
    if (q.exec() == 0) return NotFoundError("app password '" + std::string(id) + "' not found");
    return Status::Ok();
  });
}

Result<std::optional<AppPasswordOwner>> AppPasswordStore::FindBySecretHash(
    std::string_view secret_hash) {
  std::lock_guard lock(read_mu_);
  return GuardSqlite("find app password", [&]() -> Result<std::optional<AppPasswordOwner>> {
    SQLite::Statement& q = *find_by_hash_;
    q.reset();
    q.bind(1, std::string(secret_hash));
    std::optional<AppPasswordOwner> out;
    if (q.executeStep()) {
      out = AppPasswordOwner{q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                             q.getColumn(2).getString(), q.getColumn(3).getString(),
                             q.getColumn(4).getString(), q.getColumn(5).getInt64()};
    }
    // Ends the read transaction now: the next lookup sees every commit made
    // before it (a delete included), and the WAL can be checkpointed.
    q.reset();
    return out;
  });
}

Status AppPasswordStore::NoteUsed(std::string_view id, int64_t now) {
  std::lock_guard lock(mu_);
  return GuardSqlite("note app password use", [&] {
    SQLite::Statement q(*db_, "UPDATE app_passwords SET last_used_at = ? WHERE id = ?");
    q.bind(1, now);
    q.bind(2, std::string(id));
    q.exec();
    return Status::Ok();
  });
}

}  // namespace nexus::auth
