// AppPasswordStore: the app_passwords table of the auth database
// (auth_database.h: SQLite auth.db or PostgreSQL).
//
// Each row is one app password of one user: an id, the name its owner gave
// it, the keyed hash of its secret (app_password_secret.h; the secret itself
// is never stored), when it was created and, to the minute, last used.
// UserStore owns the database's schema: open this store on a target
// UserStore::Open has already migrated.
//
// The validation path (FindBySecretHash) runs on every WebDAV request: it is
// one indexed read on a connection borrowed from a pool of read-only ones
// (OpenAuthReaders), with a prepared statement, joined with the owner's
// account, so it never waits for a write nor for another thread's lookup.
// Nothing is cached: a delete is seen by the next lookup, from any
// nexus-auth sharing the database. Writes go through a connection of their
// own (on SQLite WAL, synchronous=FULL, as UserStore's: a revocation
// survives a power cut); the database serialises them with UserStore's.
//
// Thread-safety: every method may be called from any thread; the writing
// connection is behind a mutex, and each reader is lent to one thread at a
// time. Database errors come back as Statuses naming the operation.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus::sql {
class Connection;
class ConnectionPool;
}  // namespace nexus::sql

namespace nexus::auth {

struct AppPasswordRecord {
  std::string id;
  std::string user_id;
  std::string name;
  std::string secret_hash;  // empty in listings
  int64_t created_at = 0;
  int64_t last_used_at = 0;  // 0: never used
};

// A secret's row and the account it opens.
struct AppPasswordOwner {
  std::string app_password_id;
  int64_t last_used_at = 0;
  std::string user_id;
  std::string username;
  std::string email;
  int64_t user_created_at = 0;
};

class AppPasswordStore {
 public:
  // Connects to the auth database `target` (a SQLite path or a PostgreSQL
  // URI) that UserStore::Open has created and migrated.
  static Result<std::unique_ptr<AppPasswordStore>> Open(const std::string& target);
  ~AppPasswordStore();

  // Inserts `record` if its user has fewer than `max_per_user` app passwords
  // (checked and inserted in one transaction, so concurrent creates cannot
  // pass the cap together). False when the cap is reached.
  Result<bool> InsertIfUnderCap(const AppPasswordRecord& record, int64_t max_per_user);
  // The user's app passwords, oldest first, secret_hash left empty.
  Result<std::vector<AppPasswordRecord>> ListForUser(std::string_view user_id);
  // Deletes app password `id` if it belongs to `user_id`; kNotFound otherwise
  // (an id of another user's reads as unknown).
  Status Delete(std::string_view user_id, std::string_view id);
  // The app password whose secret hashes to `secret_hash`, with its owner.
  Result<std::optional<AppPasswordOwner>> FindBySecretHash(std::string_view secret_hash);
  // Records a use at `now` (unix seconds).
  Status NoteUsed(std::string_view id, int64_t now);

 private:
  AppPasswordStore(std::unique_ptr<sql::Connection> db,
                   std::unique_ptr<sql::ConnectionPool> readers);

  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;  // guarded by mu_

  std::unique_ptr<sql::ConnectionPool> readers_;
};

}  // namespace nexus::auth
