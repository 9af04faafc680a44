#include "auth/user_store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <exception>

#include "common/sqlite_errors.h"

namespace nexus::auth {
namespace {

// Index i holds the SQL that takes the schema from version i to i+1.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL
);
CREATE TABLE pending_registrations (
  email          TEXT PRIMARY KEY COLLATE NOCASE,
  username       TEXT NOT NULL,
  password_hash  TEXT NOT NULL,
  otp_hash       TEXT NOT NULL,
  otp_expires_at INTEGER NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  last_sent_at   INTEGER NOT NULL
);
CREATE TABLE login_challenges (
  email        TEXT PRIMARY KEY COLLATE NOCASE,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  otp_hash     TEXT NOT NULL,
  expires_at   INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_sent_at INTEGER NOT NULL
);
CREATE TABLE revoked_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens(expires_at);
)sql",
    // Wrong tries per client address at the current code of a pending
    // registration ('register') or a login challenge ('login'); cleared
    // whenever that code is replaced or removed.
    R"sql(
CREATE TABLE code_attempts (
  purpose TEXT NOT NULL,
  email   TEXT NOT NULL COLLATE NOCASE,
  address TEXT NOT NULL,
  wrong   INTEGER NOT NULL,
  PRIMARY KEY (purpose, email, address)
);
)sql",
    // App passwords (read and written by AppPasswordStore): the keyed hash
    // of each secret, looked up by that hash on every use.
    R"sql(
CREATE TABLE app_passwords (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  secret_hash  TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX app_passwords_by_user ON app_passwords(user_id, created_at);
)sql",
    // S3 access keys (read and written by S3KeyStore): each secret sealed
    // under the server's S3 key file, looked up by its access key on every
    // S3 request.
    R"sql(
CREATE TABLE s3_keys (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  access_key    TEXT NOT NULL UNIQUE,
  sealed_secret TEXT NOT NULL,
  created_at    INTEGER NOT NULL
);
CREATE INDEX s3_keys_by_user ON s3_keys(user_id, created_at);
)sql",
};
static_assert(std::size(kMigrations) == UserStore::kSchemaVersion);

constexpr int kBusyTimeoutMs = 5000;
constexpr const char* kUserColumns = "id, username, email, password_hash, created_at";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* PurposeName(CodePurpose p) {
  return p == CodePurpose::kRegistration ? "register" : "login";
}

// The table holding the current code of each purpose.
const char* CodeTable(CodePurpose p) {
  return p == CodePurpose::kRegistration ? "pending_registrations" : "login_challenges";
}

void ClearWrongTries(SQLite::Database& db, CodePurpose purpose, const std::string& email) {
  SQLite::Statement q(db, "DELETE FROM code_attempts WHERE purpose = ? AND email = ?");
  q.bind(1, PurposeName(purpose));
  q.bind(2, email);
  q.exec();
}

// Creates the database file 0600 before SQLite does (SQLite would create it
// 0644 less the umask, and gives its -wal and -shm files the database's
// mode), so no byte of it is ever readable by others. A file an older
// version left open to others is made private.
Status EnsurePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    ::close(fd);
    return Status::Ok();
  }
  if (errno != EEXIST) return ErrnoError(StatusCode::kInternal, "create '" + path + "'", errno);
  for (const std::string& f : {path, path + "-wal", path + "-shm"}) {
    struct stat st;
    if (::stat(f.c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
    if (::chmod(f.c_str(), 0600) != 0) {
      return ErrnoError(StatusCode::kInternal,
                        "'" + f + "' is accessible by group or others; chmod 600", errno);
    }
    spdlog::warn("'{}' was accessible by group or others; it is 0600 now", f);
  }
  return Status::Ok();
}

UserRecord ReadUser(SQLite::Statement& q) {
  return UserRecord{q.getColumn(0).getString(), q.getColumn(1).getString(),
                    q.getColumn(2).getString(), q.getColumn(3).getString(),
                    q.getColumn(4).getInt64()};
}

Result<std::optional<UserRecord>> FindUserWhere(SQLite::Database& db, const char* where,
                                                const std::string& value) {
  SQLite::Statement q(db, std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where);
  q.bind(1, value);
  if (!q.executeStep()) return std::optional<UserRecord>();
  return std::optional<UserRecord>(ReadUser(q));
}

Status Migrate(SQLite::Database& db) {
  const int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > UserStore::kSchemaVersion) {
    return InvalidArgumentError("auth database schema version " + std::to_string(version) +
                                " is newer than this nexus-auth understands (" +
                                std::to_string(UserStore::kSchemaVersion) + ")");
  }
  for (int v = version; v < UserStore::kSchemaVersion; ++v) {
    SQLite::Transaction tx(db);
    db.exec(kMigrations[v]);
    db.exec("PRAGMA user_version = " + std::to_string(v + 1));
    tx.commit();
  }
  return Status::Ok();
}

}  // namespace

UserStore::UserStore(std::unique_ptr<SQLite::Database> db, std::unique_ptr<SQLite::Database> reader)
    : db_(std::move(db)), reader_(std::move(reader)) {}

UserStore::~UserStore() = default;

Result<std::unique_ptr<UserStore>> UserStore::Open(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) {
    // The hot-path reader is a second connection; it must see the same file.
    return InvalidArgumentError("auth database path must name a file, got '" + path + "'");
  }
  NEXUS_RETURN_IF_ERROR(EnsurePrivateFile(path).WithContext("open auth database"));
  return GuardSqlite(
      "open auth database '" + path + "'", [&]() -> Result<std::unique_ptr<UserStore>> {
        auto db = std::make_unique<SQLite::Database>(
            path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
        db->exec("PRAGMA journal_mode = WAL");
        // FULL: WAL mode with NORMAL loses the last commits on a power cut, which
        // here would bring back a token its user logged out of, or drop an
        // account that was just confirmed. Writes are rare (a registration, a
        // login, a logout, a wrong code) and the token hot path only reads, so
        // the fsync per commit costs nothing where it matters.
        db->exec("PRAGMA synchronous = FULL");
        db->exec("PRAGMA foreign_keys = ON");
        NEXUS_RETURN_IF_ERROR(Migrate(*db));
        auto reader =
            std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
        std::unique_ptr<UserStore> store(new UserStore(std::move(db), std::move(reader)));
        store->find_by_id_ = std::make_unique<SQLite::Statement>(
            *store->reader_, std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?");
        NEXUS_RETURN_IF_ERROR(store->LoadRevoked());
        return store;
      });
}

Status UserStore::LoadRevoked() {
  std::lock_guard lock(mu_);
  std::unique_lock rlock(revoked_mu_);
  SQLite::Statement q(*db_, "SELECT jti, expires_at FROM revoked_tokens");
  while (q.executeStep()) revoked_[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
  return Status::Ok();
}

Result<std::optional<UserRecord>> UserStore::FindUserByUsername(std::string_view username) {
  std::lock_guard lock(mu_);
  return GuardSqlite("find user by username",
                     [&] { return FindUserWhere(*db_, "username = ?", std::string(username)); });
}

Result<std::optional<UserRecord>> UserStore::FindUserByEmail(std::string_view email) {
  std::lock_guard lock(mu_);
  return GuardSqlite("find user by email",
                     [&] { return FindUserWhere(*db_, "email = ?", Lower(email)); });
}

Result<std::optional<UserRecord>> UserStore::FindUserById(std::string_view id) {
  std::lock_guard lock(read_mu_);
  return GuardSqlite("find user by id", [&]() -> Result<std::optional<UserRecord>> {
    SQLite::Statement& q = *find_by_id_;
    q.reset();
    q.bind(1, std::string(id));
    std::optional<UserRecord> out;
    if (q.executeStep()) out = ReadUser(q);
    // Ends the read transaction now, so the WAL can be checkpointed.
    q.reset();
    return out;
  });
}

Status UserStore::PutPending(const PendingRegistration& p) {
  std::lock_guard lock(mu_);
  return GuardSqlite("store pending registration", [&]() -> Status {
    SQLite::Transaction tx(*db_);
    // The upsert's WHERE leaves a live row untouched (and changes nothing).
    SQLite::Statement q(*db_,
                        "INSERT INTO pending_registrations (email, username, password_hash, "
                        "otp_hash, otp_expires_at, attempts, last_sent_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (email) DO UPDATE SET username = excluded.username, "
                        "password_hash = excluded.password_hash, otp_hash = excluded.otp_hash, "
                        "otp_expires_at = excluded.otp_expires_at, attempts = excluded.attempts, "
                        "last_sent_at = excluded.last_sent_at "
                        "WHERE pending_registrations.otp_expires_at <= excluded.last_sent_at");
    const std::string email = Lower(p.email);
    q.bind(1, email);
    q.bind(2, p.username);
    q.bind(3, p.password_hash);
    q.bind(4, p.otp_hash);
    q.bind(5, p.otp_expires_at);
    q.bind(6, p.attempts);
    q.bind(7, p.last_sent_at);
    if (q.exec() == 0) {
      return AlreadyExistsError("a registration for this email is already pending");
    }
    ClearWrongTries(*db_, CodePurpose::kRegistration, email);
    tx.commit();
    return Status::Ok();
  });
}

Status UserStore::RenewPendingCode(std::string_view email_in, std::string_view otp_hash,
                                   int64_t otp_expires_at, int64_t sent_at) {
  std::lock_guard lock(mu_);
  return GuardSqlite("renew pending registration code", [&]() -> Status {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_,
                        "UPDATE pending_registrations SET otp_hash = ?, otp_expires_at = ?, "
                        "attempts = 0, last_sent_at = ? WHERE email = ? AND otp_expires_at > ?");
    const std::string email = Lower(email_in);
    q.bind(1, std::string(otp_hash));
    q.bind(2, otp_expires_at);
    q.bind(3, sent_at);
    q.bind(4, email);
    q.bind(5, sent_at);
    if (q.exec() == 0) return NotFoundError("no pending registration for this email");
    ClearWrongTries(*db_, CodePurpose::kRegistration, email);
    tx.commit();
    return Status::Ok();
  });
}

Result<std::optional<PendingRegistration>> UserStore::FindPending(std::string_view email) {
  std::lock_guard lock(mu_);
  return GuardSqlite(
      "find pending registration", [&]() -> Result<std::optional<PendingRegistration>> {
        SQLite::Statement q(*db_,
                            "SELECT email, username, password_hash, otp_hash, otp_expires_at, "
                            "attempts, last_sent_at FROM pending_registrations WHERE email = ?");
        q.bind(1, Lower(email));
        if (!q.executeStep()) return std::optional<PendingRegistration>();
        return std::optional<PendingRegistration>(PendingRegistration{
            q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
            q.getColumn(3).getString(), q.getColumn(4).getInt64(), q.getColumn(5).getInt64(),
            q.getColumn(6).getInt64()});
      });
}

Status UserStore::DeletePending(std::string_view email, std::string_view only_if_otp_hash) {
  std::lock_guard lock(mu_);
  return GuardSqlite("delete pending registration", [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_,
                        "DELETE FROM pending_registrations WHERE email = ? AND (? = '' OR "
                        "otp_hash = ?)");
    q.bind(1, Lower(email));
    q.bind(2, std::string(only_if_otp_hash));
    q.bind(3, std::string(only_if_otp_hash));
    if (q.exec() > 0) ClearWrongTries(*db_, CodePurpose::kRegistration, Lower(email));
    tx.commit();
    return Status::Ok();
  });
}

Status UserStore::CompleteRegistration(const UserRecord& user) {
  std::lock_guard lock(mu_);
  return GuardSqlite("create user", [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement ins(
        *db_, std::string("INSERT INTO users (") + kUserColumns + ") VALUES (?, ?, ?, ?, ?)");
    ins.bind(1, user.id);
    ins.bind(2, user.username);
    ins.bind(3, Lower(user.email));
    ins.bind(4, user.password_hash);
    ins.bind(5, user.created_at);
    try {
      ins.exec();
    } catch (const SQLite::Exception& e) {
      if (IsDuplicateKey(e)) return AlreadyExistsError("username or email is already registered");
      throw;
    }
    SQLite::Statement del(*db_, "DELETE FROM pending_registrations WHERE email = ?");
    del.bind(1, Lower(user.email));
    del.exec();
    ClearWrongTries(*db_, CodePurpose::kRegistration, Lower(user.email));
    tx.commit();
    return Status::Ok();
  });
}

Status UserStore::PutChallenge(const LoginChallenge& c) {
  std::lock_guard lock(mu_);
  return GuardSqlite("store login challenge", [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_,
                        "INSERT OR REPLACE INTO login_challenges (email, user_id, otp_hash, "
                        "expires_at, attempts, last_sent_at) VALUES (?, ?, ?, ?, ?, ?)");
    q.bind(1, Lower(c.email));
    q.bind(2, c.user_id);
    q.bind(3, c.otp_hash);
    q.bind(4, c.expires_at);
    q.bind(5, c.attempts);
    q.bind(6, c.last_sent_at);
    q.exec();
    ClearWrongTries(*db_, CodePurpose::kLogin, Lower(c.email));
    tx.commit();
    return Status::Ok();
  });
}

Result<std::optional<LoginChallenge>> UserStore::FindChallenge(std::string_view email) {
  std::lock_guard lock(mu_);
  return GuardSqlite("find login challenge", [&]() -> Result<std::optional<LoginChallenge>> {
    SQLite::Statement q(*db_,
                        "SELECT email, user_id, otp_hash, expires_at, attempts, last_sent_at "
                        "FROM login_challenges WHERE email = ?");
    q.bind(1, Lower(email));
    if (!q.executeStep()) return std::optional<LoginChallenge>();
    return std::optional<LoginChallenge>(LoginChallenge{
        q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
        q.getColumn(3).getInt64(), q.getColumn(4).getInt64(), q.getColumn(5).getInt64()});
  });
}

Status UserStore::DeleteChallenge(std::string_view email, std::string_view only_if_otp_hash) {
  std::lock_guard lock(mu_);
  return GuardSqlite("delete login challenge", [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(
        *db_, "DELETE FROM login_challenges WHERE email = ? AND (? = '' OR otp_hash = ?)");
    q.bind(1, Lower(email));
    q.bind(2, std::string(only_if_otp_hash));
    q.bind(3, std::string(only_if_otp_hash));
    if (q.exec() > 0) ClearWrongTries(*db_, CodePurpose::kLogin, Lower(email));
    tx.commit();
    return Status::Ok();
  });
}

Status UserStore::CountWrongTry(CodePurpose purpose, std::string_view email_in,
                                std::string_view address) {
  std::lock_guard lock(mu_);
  return GuardSqlite("count wrong code", [&] {
    const std::string email = Lower(email_in);
    SQLite::Transaction tx(*db_);
    SQLite::Statement total(*db_, std::string("UPDATE ") + CodeTable(purpose) +
                                      " SET attempts = attempts + 1 WHERE email = ?");
    total.bind(1, email);
    total.exec();
    SQLite::Statement per_address(*db_,
                                  "INSERT INTO code_attempts (purpose, email, address, wrong) "
                                  "VALUES (?, ?, ?, 1) ON CONFLICT (purpose, email, address) "
                                  "DO UPDATE SET wrong = wrong + 1");
    per_address.bind(1, PurposeName(purpose));
    per_address.bind(2, email);
    per_address.bind(3, std::string(address));
    per_address.exec();
    tx.commit();
    return Status::Ok();
  });
}

Result<int64_t> UserStore::WrongTriesFrom(CodePurpose purpose, std::string_view email,
                                          std::string_view address) {
  std::lock_guard lock(mu_);
  return GuardSqlite("read wrong code count", [&]() -> Result<int64_t> {
    SQLite::Statement q(*db_,
                        "SELECT wrong FROM code_attempts WHERE purpose = ? AND email = ? AND "
                        "address = ?");
    q.bind(1, PurposeName(purpose));
    q.bind(2, Lower(email));
    q.bind(3, std::string(address));
    return q.executeStep() ? q.getColumn(0).getInt64() : int64_t{0};
  });
}

Status UserStore::RevokeToken(std::string_view jti, int64_t expires_at) {
  std::lock_guard lock(mu_);
  NEXUS_RETURN_IF_ERROR(GuardSqlite("revoke token", [&] {
    SQLite::Statement q(*db_,
                        "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)");
    q.bind(1, std::string(jti));
    q.bind(2, expires_at);
    q.exec();
    return Status::Ok();
  }));
  std::unique_lock rlock(revoked_mu_);
  revoked_.emplace(std::string(jti), expires_at);
  return Status::Ok();
}

bool UserStore::IsRevoked(std::string_view jti) const {
  std::shared_lock lock(revoked_mu_);
  return revoked_.count(std::string(jti)) > 0;
}

Status UserStore::PruneExpired(int64_t now_seconds) {
  std::lock_guard lock(mu_);
  NEXUS_RETURN_IF_ERROR(GuardSqlite("prune expired rows", [&] {
    SQLite::Transaction tx(*db_);
    const char* statements[] = {
        "DELETE FROM pending_registrations WHERE otp_expires_at < ?",
        "DELETE FROM login_challenges WHERE expires_at < ?",
        "DELETE FROM revoked_tokens WHERE expires_at < ?",
    };
    for (const char* sql : statements) {
      SQLite::Statement q(*db_, sql);
      q.bind(1, now_seconds);
      q.exec();
    }
    // Counts of codes that are gone (expired above, or a challenge whose
    // user was deleted).
    db_->exec(
        "DELETE FROM code_attempts WHERE (purpose = 'register' AND email NOT IN "
        "(SELECT email FROM pending_registrations)) OR (purpose = 'login' AND email NOT IN "
        "(SELECT email FROM login_challenges))");
    tx.commit();
    return Status::Ok();
  }));
  std::unique_lock rlock(revoked_mu_);
  std::erase_if(revoked_, [&](const auto& kv) { return kv.second < now_seconds; });
  return Status::Ok();
}

int UserStore::synchronous_for_test() {
  std::lock_guard lock(mu_);
  return db_->execAndGet("PRAGMA synchronous").getInt();
}

Status UserStore::Ping() {
  std::lock_guard lock(mu_);
  return GuardSqlite("query auth database", [&] {
    (void)db_->execAndGet("SELECT 1").getInt();
    return Status::Ok();
  });
}

}  // namespace nexus::auth
