// UserStore: the auth service's SQLite database (auth.db).
//
// Tables: users, pending_registrations (one per email, until the code is
// confirmed), login_challenges (one per email, until the code is confirmed),
// code_attempts (wrong tries at the current code of a registration or login,
// per client address), revoked_tokens (jti until the token would have
// expired anyway), and app_passwords (whose rows AppPasswordStore reads and
// writes on connections of its own). The schema of the whole file is
// versioned with PRAGMA user_version and migrated forward here, on Open.
//
// The database runs in WAL mode with synchronous=FULL: a commit is on disk
// when the call returns, so an account, a logout's revocation or a counted
// wrong try survives a power cut. The file (and with it SQLite's -wal and
// -shm, which take its mode) is created 0600; one left readable by others by
// an older version is made 0600 on Open.
//
// Emails are stored lower-cased and compared case-insensitively; usernames
// keep their spelling but are unique case-insensitively ("Alice" and "alice"
// are one account), and lookups by username ignore case.
//
// Thread-safety: every method may be called from any thread. Writes and most
// reads share one connection behind a mutex; FindUserById (the token hot
// path) uses a second, read-only connection with a prepared statement, and
// IsRevoked reads an in-memory copy of revoked_tokens, so neither waits for a
// write. The store is the only writer of revoked_tokens, which keeps that
// copy exact. SQLite errors come back as kInternal naming the operation.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace nexus::auth {

struct UserRecord {
  std::string id;
  std::string username;
  std::string email;
  std::string password_hash;
  int64_t created_at = 0;
};

struct PendingRegistration {
  std::string email;
  std::string username;
  std::string password_hash;
  std::string otp_hash;
  int64_t otp_expires_at = 0;
  int64_t attempts = 0;
  int64_t last_sent_at = 0;
};

// Which kind of stored code a wrong try was made at.
enum class CodePurpose { kRegistration, kLogin };

struct LoginChallenge {
  std::string email;
  std::string user_id;
  std::string otp_hash;
  int64_t expires_at = 0;
  int64_t attempts = 0;
  int64_t last_sent_at = 0;
};

class UserStore {
 public:
  static constexpr int kSchemaVersion = 4;

  // Opens or creates the database file at `path` (its directory must exist)
  // and migrates it. A file from a newer nexus-auth is refused.
  static Result<std::unique_ptr<UserStore>> Open(const std::string& path);
  ~UserStore();

  Result<std::optional<UserRecord>> FindUserByUsername(std::string_view username);
  Result<std::optional<UserRecord>> FindUserByEmail(std::string_view email);
  Result<std::optional<UserRecord>> FindUserById(std::string_view id);

  // Stores the pending registration for its email. A row already there is
  // replaced only if its code had expired by p.last_sent_at (now): a live
  // pending registration is kAlreadyExists, never overwritten.
  Status PutPending(const PendingRegistration& p);
  Result<std::optional<PendingRegistration>> FindPending(std::string_view email);
  // Gives the live pending registration of `email` a new code, keeping its
  // username and password; its wrong tries start again from zero.
  // kNotFound if there is none whose code is unexpired at `sent_at`.
  Status RenewPendingCode(std::string_view email, std::string_view otp_hash, int64_t otp_expires_at,
                          int64_t sent_at);
  // Deletes the row; with `only_if_otp_hash`, only if it still holds that code
  // (so a cleanup cannot remove a newer code sent meanwhile).
  Status DeletePending(std::string_view email, std::string_view only_if_otp_hash = {});
  // In one transaction: inserts `user` and deletes the pending registration
  // for its email. kAlreadyExists if the username or email is taken.
  Status CompleteRegistration(const UserRecord& user);

  // Inserts or replaces the login challenge for its email (a new code; its
  // wrong tries start from zero).
  Status PutChallenge(const LoginChallenge& c);
  Result<std::optional<LoginChallenge>> FindChallenge(std::string_view email);
  Status DeleteChallenge(std::string_view email, std::string_view only_if_otp_hash = {});

  // In one transaction: one more wrong try at the current code of
  // (`purpose`, `email`), in its total and in the count of `address`.
  Status CountWrongTry(CodePurpose purpose, std::string_view email, std::string_view address);
  // Wrong tries from `address` at the current code of (`purpose`, `email`).
  Result<int64_t> WrongTriesFrom(CodePurpose purpose, std::string_view email,
                                 std::string_view address);

  // Records `jti` as revoked until `expires_at`. Idempotent.
  Status RevokeToken(std::string_view jti, int64_t expires_at);
  bool IsRevoked(std::string_view jti) const;

  // Removes codes and revocations that expired before `now_seconds`.
  Status PruneExpired(int64_t now_seconds);

  // A trivial query, for health checks.
  Status Ping();

  // PRAGMA synchronous of the writing connection (2 = FULL).
  int synchronous_for_test();

 private:
  UserStore(std::unique_ptr<SQLite::Database> db, std::unique_ptr<SQLite::Database> reader);
  Status LoadRevoked();

  std::mutex mu_;
  std::unique_ptr<SQLite::Database> db_;  // guarded by mu_

  std::mutex read_mu_;
  std::unique_ptr<SQLite::Database> reader_;       // guarded by read_mu_
  std::unique_ptr<SQLite::Statement> find_by_id_;  // guarded by read_mu_

  mutable std::shared_mutex revoked_mu_;
  std::unordered_map<std::string, int64_t> revoked_;  // jti -> expires_at; guarded by revoked_mu_
};

}  // namespace nexus::auth
