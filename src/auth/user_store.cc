#include "auth/user_store.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <exception>

#include "auth/auth_database.h"
#include "common/named_thread.h"
#include "common/sql/connection.h"

namespace nexus::auth {
namespace {

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

// The database's clock, in unix seconds: revocations are stamped and polled
// by it, so the clocks of the machines running nexus-auth do not matter.
const char* DatabaseNow(const sql::Connection& db) {
  return db.dialect() == sql::Dialect::kPostgres ? "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
                                                 : "CAST(strftime('%s', 'now') AS INTEGER)";
}

int64_t SteadySeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ClearWrongTries(sql::Connection& db, CodePurpose purpose, const std::string& email) {
  sql::Statement q = db.Prepare("DELETE FROM code_attempts WHERE purpose = ? AND email = ?");
  q.Bind(1, PurposeName(purpose));
  q.Bind(2, email);
  q.Exec();
}

UserRecord ReadUser(sql::Statement& q) {
  return UserRecord{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int64(4)};
}

std::optional<UserRecord> FindUserWhere(sql::Connection& db, const char* where,
                                        const std::string& value) {
  sql::Statement q =
      db.Prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where);
  q.Bind(1, value);
  if (!q.Step()) return std::nullopt;
  return ReadUser(q);
}

// Loads revocations into `out`: all, or those recorded `window` seconds ago
// or later.
void LoadRevocations(sql::Connection& db, bool all, int64_t window,
                     std::unordered_map<std::string, int64_t>& out) {
  sql::Statement q =
      all ? db.Prepare("SELECT jti, expires_at FROM revoked_tokens")
          : db.Prepare(
                std::string("SELECT jti, expires_at FROM revoked_tokens WHERE revoked_at >= ") +
                DatabaseNow(db) + " - ?");
  if (!all) q.Bind(1, window);
  while (q.Step()) out[q.Text(0)] = q.Int64(1);
}

}  // namespace

UserStore::UserStore(std::unique_ptr<sql::Connection> db,
                     std::unique_ptr<sql::ConnectionPool> readers,
                     std::unique_ptr<sql::Connection> poller)
    : postgres_(db->dialect() == sql::Dialect::kPostgres),
      db_(std::move(db)),
      readers_(std::move(readers)),
      poller_(std::move(poller)) {}

UserStore::~UserStore() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();
}

Result<std::unique_ptr<UserStore>> UserStore::Open(const std::string& target) {
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> db, OpenAuthDatabase(target));
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<sql::ConnectionPool> readers, OpenAuthReaders(target));
  std::unique_ptr<sql::Connection> poller;
  if (db->dialect() == sql::Dialect::kPostgres) {
    NEXUS_ASSIGN_OR_RETURN(poller, ConnectAuthDatabase(target, /*read_only=*/true));
  }
  std::unique_ptr<UserStore> store(
      new UserStore(std::move(db), std::move(readers), std::move(poller)));
  NEXUS_RETURN_IF_ERROR(sql::GuardSql("load revoked tokens", [&]() -> Status {
    std::lock_guard lock(store->mu_);
    std::unique_lock rlock(store->revoked_mu_);
    LoadRevocations(*store->db_, /*all=*/true, 0, store->revoked_);
    return Status::Ok();
  }));
  if (store->postgres_) {
    store->last_poll_ok_ = store->last_full_load_ = SteadySeconds();
    store->poll_thread_ =
        StartNamedThread("auth-revoked", [s = store.get()] { s->PollRevocations(); });
  }
  return store;
}

void UserStore::PollRevocations() {
  bool failing = false;
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::seconds(kRevocationPollSeconds),
                            [this] { return stopping_; })) {
    lock.unlock();
    Status s = RefreshRevoked();
    if (!s.ok() && !failing) spdlog::warn("revoked tokens of other nexus-auth: {}", s.ToString());
    if (s.ok() && failing) spdlog::info("revoked tokens of other nexus-auth: polling again");
    failing = !s.ok();
    lock.lock();
  }
}

Status UserStore::RefreshRevoked(bool full) {
  if (!postgres_) return Status::Ok();
  std::lock_guard lock(poll_mu_);
  const int64_t now = SteadySeconds();
  // After failed polls for most of the window, the next window might not
  // reach back to the last one that succeeded: load all.
  full = full || now - last_full_load_ >= kRevocationFullReloadSeconds ||
         now - last_poll_ok_ >= kRevocationWindowSeconds - 10;
  std::unordered_map<std::string, int64_t> loaded;
  NEXUS_RETURN_IF_ERROR(sql::GuardSql("load revoked tokens", [&]() -> Status {
    LoadRevocations(*poller_, full, kRevocationWindowSeconds, loaded);
    return Status::Ok();
  }));
  last_poll_ok_ = now;
  if (full) last_full_load_ = now;
  // Merged, never replaced: rows leave the copy only by expiring
  // (PruneExpired), so a revocation seen once stays seen.
  std::unique_lock rlock(revoked_mu_);
  for (auto& [jti, expires_at] : loaded) revoked_.emplace(jti, expires_at);
  return Status::Ok();
}

Result<std::optional<UserRecord>> UserStore::FindUserByUsername(std::string_view username) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("find user by username", [&]() -> Result<std::optional<UserRecord>> {
    // SQLite: the column is COLLATE NOCASE. PostgreSQL: the unique index
    // on lower(username) serves this.
    return FindUserWhere(*db_, postgres_ ? "lower(username) = lower(?)" : "username = ?",
                         std::string(username));
  });
}

Result<std::optional<UserRecord>> UserStore::FindUserByEmail(std::string_view email) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("find user by email", [&]() -> Result<std::optional<UserRecord>> {
    return FindUserWhere(*db_, "email = ?", Lower(email));
  });
}

Result<std::optional<UserRecord>> UserStore::FindUserById(std::string_view id) {
  NEXUS_ASSIGN_OR_RETURN(sql::ConnectionPool::Lease reader, readers_->Acquire());
  // The statement ends (and on SQLite so does its read transaction, letting
  // the WAL be checkpointed) before the call returns.
  return sql::GuardSql("find user by id", [&]() -> Result<std::optional<UserRecord>> {
    return FindUserWhere(*reader, "id = ?", std::string(id));
  });
}

Status UserStore::PutPending(const PendingRegistration& p) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("store pending registration", [&]() -> Status {
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    // The upsert's WHERE leaves a live row untouched (and changes nothing).
    sql::Statement q = db_->Prepare(
        "INSERT INTO pending_registrations (email, username, password_hash, "
        "otp_hash, otp_expires_at, attempts, last_sent_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (email) DO UPDATE SET username = excluded.username, "
        "password_hash = excluded.password_hash, otp_hash = excluded.otp_hash, "
        "otp_expires_at = excluded.otp_expires_at, attempts = excluded.attempts, "
        "last_sent_at = excluded.last_sent_at "
        "WHERE pending_registrations.otp_expires_at <= excluded.last_sent_at");
    const std::string email = Lower(p.email);
    q.Bind(1, email);
    q.Bind(2, p.username);
    q.Bind(3, p.password_hash);
    q.Bind(4, p.otp_hash);
    q.Bind(5, p.otp_expires_at);
    q.Bind(6, p.attempts);
    q.Bind(7, p.last_sent_at);
    if (q.Exec() == 0) {
      return AlreadyExistsError("a registration for this email is already pending");
    }
    ClearWrongTries(*db_, CodePurpose::kRegistration, email);
    tx.Commit();
    return Status::Ok();
  });
}

Status UserStore::RenewPendingCode(std::string_view email_in, std::string_view otp_hash,
                                   int64_t otp_expires_at, int64_t sent_at) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("renew pending registration code", [&]() -> Status {
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    sql::Statement q = db_->Prepare(
        "UPDATE pending_registrations SET otp_hash = ?, otp_expires_at = ?, "
        "attempts = 0, last_sent_at = ? WHERE email = ? AND otp_expires_at > ?");
    const std::string email = Lower(email_in);
    q.Bind(1, otp_hash);
    q.Bind(2, otp_expires_at);
    q.Bind(3, sent_at);
    q.Bind(4, email);
    q.Bind(5, sent_at);
    if (q.Exec() == 0) return NotFoundError("no pending registration for this email");
    ClearWrongTries(*db_, CodePurpose::kRegistration, email);
    tx.Commit();
    return Status::Ok();
  });
}

Result<std::optional<PendingRegistration>> UserStore::FindPending(std::string_view email) {
  std::lock_guard lock(mu_);
  return sql::GuardSql(
      "find pending registration", [&]() -> Result<std::optional<PendingRegistration>> {
        sql::Statement q = db_->Prepare(
            "SELECT email, username, password_hash, otp_hash, otp_expires_at, "
            "attempts, last_sent_at FROM pending_registrations WHERE email = ?");
        q.Bind(1, Lower(email));
        if (!q.Step()) return std::optional<PendingRegistration>();
        return std::optional<PendingRegistration>(PendingRegistration{
            q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int64(4), q.Int64(5), q.Int64(6)});
      });
}

Status UserStore::DeletePending(std::string_view email_in, std::string_view only_if_otp_hash) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("delete pending registration", [&]() -> Status {
    const std::string email = Lower(email_in);
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    sql::Statement q = db_->Prepare(
        "DELETE FROM pending_registrations WHERE email = ? AND (? = '' OR otp_hash = ?)");
    q.Bind(1, email);
    q.Bind(2, only_if_otp_hash);
    q.Bind(3, only_if_otp_hash);
    if (q.Exec() > 0) ClearWrongTries(*db_, CodePurpose::kRegistration, email);
    tx.Commit();
    return Status::Ok();
  });
}

Status UserStore::CompleteRegistration(const UserRecord& user) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("create user", [&]() -> Status {
    const std::string email = Lower(user.email);
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    sql::Statement ins = db_->Prepare(std::string("INSERT INTO users (") + kUserColumns +
                                      ") VALUES (?, ?, ?, ?, ?)");
    ins.Bind(1, user.id);
    ins.Bind(2, user.username);
    ins.Bind(3, email);
    ins.Bind(4, user.password_hash);
    ins.Bind(5, user.created_at);
    try {
      ins.Exec();
    } catch (const sql::Error& e) {
      if (sql::IsDuplicateKey(e)) {
        return AlreadyExistsError("username or email is already registered");
      }
      throw;
    }
    sql::Statement del = db_->Prepare("DELETE FROM pending_registrations WHERE email = ?");
    del.Bind(1, email);
    del.Exec();
    ClearWrongTries(*db_, CodePurpose::kRegistration, email);
    tx.Commit();
    return Status::Ok();
  });
}

Status UserStore::PutChallenge(const LoginChallenge& c) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("store login challenge", [&]() -> Status {
    const std::string email = Lower(c.email);
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    sql::Statement q = db_->Prepare(
        "INSERT INTO login_challenges (email, user_id, otp_hash, expires_at, attempts, "
        "last_sent_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET "
        "user_id = excluded.user_id, otp_hash = excluded.otp_hash, "
        "expires_at = excluded.expires_at, attempts = excluded.attempts, "
        "last_sent_at = excluded.last_sent_at");
    q.Bind(1, email);
    q.Bind(2, c.user_id);
    q.Bind(3, c.otp_hash);
    q.Bind(4, c.expires_at);
    q.Bind(5, c.attempts);
    q.Bind(6, c.last_sent_at);
    q.Exec();
    ClearWrongTries(*db_, CodePurpose::kLogin, email);
    tx.Commit();
    return Status::Ok();
  });
}

Result<std::optional<LoginChallenge>> UserStore::FindChallenge(std::string_view email) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("find login challenge", [&]() -> Result<std::optional<LoginChallenge>> {
    sql::Statement q = db_->Prepare(
        "SELECT email, user_id, otp_hash, expires_at, attempts, last_sent_at "
        "FROM login_challenges WHERE email = ?");
    q.Bind(1, Lower(email));
    if (!q.Step()) return std::optional<LoginChallenge>();
    return std::optional<LoginChallenge>(
        LoginChallenge{q.Text(0), q.Text(1), q.Text(2), q.Int64(3), q.Int64(4), q.Int64(5)});
  });
}

Status UserStore::DeleteChallenge(std::string_view email_in, std::string_view only_if_otp_hash) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("delete login challenge", [&]() -> Status {
    const std::string email = Lower(email_in);
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    sql::Statement q =
        db_->Prepare("DELETE FROM login_challenges WHERE email = ? AND (? = '' OR otp_hash = ?)");
    q.Bind(1, email);
    q.Bind(2, only_if_otp_hash);
    q.Bind(3, only_if_otp_hash);
    if (q.Exec() > 0) ClearWrongTries(*db_, CodePurpose::kLogin, email);
    tx.Commit();
    return Status::Ok();
  });
}

Status UserStore::CountWrongTry(CodePurpose purpose, std::string_view email_in,
                                std::string_view address) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("count wrong code", [&]() -> Status {
    const std::string email = Lower(email_in);
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    sql::Statement total = db_->Prepare(std::string("UPDATE ") + CodeTable(purpose) +
                                        " SET attempts = attempts + 1 WHERE email = ?");
    total.Bind(1, email);
    total.Exec();
    sql::Statement per_address = db_->Prepare(
        "INSERT INTO code_attempts (purpose, email, address, wrong) "
        "VALUES (?, ?, ?, 1) ON CONFLICT (purpose, email, address) "
        "DO UPDATE SET wrong = code_attempts.wrong + 1");
    per_address.Bind(1, PurposeName(purpose));
    per_address.Bind(2, email);
    per_address.Bind(3, address);
    per_address.Exec();
    tx.Commit();
    return Status::Ok();
  });
}

Result<int64_t> UserStore::WrongTriesFrom(CodePurpose purpose, std::string_view email,
                                          std::string_view address) {
  std::lock_guard lock(mu_);
  return sql::GuardSql("read wrong code count", [&]() -> Result<int64_t> {
    sql::Statement q = db_->Prepare(
        "SELECT wrong FROM code_attempts WHERE purpose = ? AND email = ? AND address = ?");
    q.Bind(1, PurposeName(purpose));
    q.Bind(2, Lower(email));
    q.Bind(3, address);
    return q.Step() ? q.Int64(0) : int64_t{0};
  });
}

Status UserStore::RevokeToken(std::string_view jti, int64_t expires_at) {
  std::lock_guard lock(mu_);
  NEXUS_RETURN_IF_ERROR(sql::GuardSql("revoke token", [&]() -> Status {
    sql::Statement q = db_->Prepare(
        std::string("INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES (?, ?, ") +
        DatabaseNow(*db_) + ") ON CONFLICT (jti) DO NOTHING");
    q.Bind(1, jti);
    q.Bind(2, expires_at);
    q.Exec();
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
  NEXUS_RETURN_IF_ERROR(sql::GuardSql("prune expired rows", [&]() -> Status {
    sql::Transaction tx(*db_, sql::TxMode::kWrite);
    const char* statements[] = {
        "DELETE FROM pending_registrations WHERE otp_expires_at < ?",
        "DELETE FROM login_challenges WHERE expires_at < ?",
        "DELETE FROM revoked_tokens WHERE expires_at < ?",
    };
    for (const char* text : statements) {
      sql::Statement q = db_->Prepare(text);
      q.Bind(1, now_seconds);
      q.Exec();
    }
    // Counts of codes that are gone (expired above, or a challenge whose
    // user was deleted).
    db_->Prepare(
           "DELETE FROM code_attempts WHERE (purpose = 'register' AND email NOT IN "
           "(SELECT email FROM pending_registrations)) OR (purpose = 'login' AND email NOT IN "
           "(SELECT email FROM login_challenges))")
        .Exec();
    tx.Commit();
    return Status::Ok();
  }));
  std::unique_lock rlock(revoked_mu_);
  std::erase_if(revoked_, [&](const auto& kv) { return kv.second < now_seconds; });
  return Status::Ok();
}

int UserStore::synchronous_for_test() {
  if (postgres_) return -1;
  std::lock_guard lock(mu_);
  sql::Statement q = db_->Prepare("PRAGMA synchronous");
  return q.Step() ? q.Int(0) : -1;
}

Status UserStore::Ping() {
  std::lock_guard lock(mu_);
  return sql::GuardSql("query auth database", [&]() -> Status {
    sql::Statement q = db_->Prepare("SELECT 1");
    q.Step();
    return Status::Ok();
  });
}

}  // namespace nexus::auth
