// UserStore: the users, pending registrations (one per email, until the code
// is confirmed), login challenges (one per email, until the code is
// confirmed), code_attempts (wrong tries at the current code of a
// registration or login, per client address) and revoked_tokens (jti until
// the token would have expired anyway) of the auth database
// (auth_database.h: a SQLite auth.db or a PostgreSQL database). UserStore
// opens the database first and migrates its whole schema, the tables of
// AppPasswordStore and S3KeyStore included.
//
// On SQLite the database runs in WAL mode with synchronous=FULL: a commit is
// on disk when the call returns, so an account, a logout's revocation or a
// counted wrong try survives a power cut. The file (and with it SQLite's
// -wal and -shm, which take its mode) is created 0600; one left readable by
// others by an older version is made 0600 on Open.
//
// Emails are stored lower-cased and compared case-insensitively; usernames
// keep their spelling but are unique case-insensitively ("Alice" and "alice"
// are one account), and lookups by username ignore case.
//
// Every check and the write it guards run in one write transaction
// (sql::TxMode::kWrite), which serialises them with every other writer of
// the database, in this process or another.
//
// Revocations: IsRevoked reads an in-memory copy of revoked_tokens, so the
// token hot path never waits for the database. RevokeToken updates it at
// once. On SQLite this process is the only writer, so the copy is exact. On
// PostgreSQL other nexus-auth processes revoke too: a thread of the store
// loads every second the revocations recorded (by the database's clock) in
// the last minute; it loads all of them every five minutes, and after polls
// have failed for 50 seconds (so a gap never outlasts the window). A
// revocation's row is visible once its commit returns, so a logout through
// another nexus-auth is honoured here within about a second (one poll
// interval plus the query) while the database answers; while it does not,
// the copy stays as it was (and FindUserById, which token checks also
// need, fails). Rows leave the copy only when they expire (PruneExpired).
//
// Thread-safety: every method may be called from any thread. Writes and most
// reads share one connection behind a mutex; FindUserById (the token hot
// path) borrows one of a pool of read-only connections (OpenAuthReaders), so
// it never waits for a write nor for another thread's lookup; the
// revocation poll has one more on PostgreSQL.
// Database errors come back as Statuses naming the operation.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/result.h"

namespace nexus::sql {
class Connection;
class ConnectionPool;
}  // namespace nexus::sql

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
  // How often the revocations of other processes are loaded (PostgreSQL),
  // and how far back each poll looks.
  static constexpr int kRevocationPollSeconds = 1;
  static constexpr int kRevocationWindowSeconds = 60;
  static constexpr int kRevocationFullReloadSeconds = 300;

  // Opens the auth database `target` (auth_database.h: a SQLite path, whose
  // directory must exist, or a PostgreSQL URI), creating and migrating it. A
  // SQLite file from a newer nexus-auth is refused.
  static Result<std::unique_ptr<UserStore>> Open(const std::string& target);
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
  // One poll for revocations recorded by other processes (see above): those
  // of the last kRevocationWindowSeconds, or all with `full`. The store's
  // thread calls it every kRevocationPollSeconds on PostgreSQL; tests call
  // it to poll now. A no-op on SQLite.
  Status RefreshRevoked(bool full = false);

  // Removes codes and revocations that expired before `now_seconds`.
  Status PruneExpired(int64_t now_seconds);

  // A trivial query, for health checks.
  Status Ping();

  // PRAGMA synchronous of the writing connection (2 = FULL); -1 on
  // PostgreSQL.
  int synchronous_for_test();

 private:
  UserStore(std::unique_ptr<sql::Connection> db, std::unique_ptr<sql::ConnectionPool> readers,
            std::unique_ptr<sql::Connection> poller);
  void PollRevocations();

  const bool postgres_;

  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;  // guarded by mu_

  std::unique_ptr<sql::ConnectionPool> readers_;

  mutable std::shared_mutex revoked_mu_;
  std::unordered_map<std::string, int64_t> revoked_;  // jti -> expires_at; guarded by revoked_mu_

  // PostgreSQL only: the revocation poll.
  std::mutex poll_mu_;
  std::unique_ptr<sql::Connection> poller_;  // guarded by poll_mu_
  int64_t last_poll_ok_ = 0;                 // steady seconds; guarded by poll_mu_
  int64_t last_full_load_ = 0;               // steady seconds; guarded by poll_mu_
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread poll_thread_;
};

}  // namespace nexus::auth
