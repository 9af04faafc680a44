// S3KeyStore: the s3_keys table of the auth database (auth_database.h:
// SQLite auth.db or PostgreSQL).
//
// Each row is one S3 access key of one user: an id, the access key id
// (public, unique), the secret key sealed by S3SecretBox (never in clear)
// and when it was created. UserStore owns the database's schema: open this
// store on a target UserStore::Open has already migrated.
//
// FindByAccessKey runs on every S3 request: one indexed read joined with the
// owner's account. Nothing is cached, so a deleted key fails the next
// request, whichever nexus-auth sharing the database deleted it.
//
// Thread-safety: every method may be called from any thread (one connection
// behind a mutex). Database errors come back as Statuses naming the
// operation.
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
}  // namespace nexus::sql

namespace nexus::auth {

struct S3KeyRecord {
  std::string id;
  std::string user_id;
  std::string access_key;
  std::string sealed_secret;  // empty in listings
  int64_t created_at = 0;
};

// An access key's sealed secret and the account it opens.
struct S3KeyOwner {
  std::string sealed_secret;
  std::string user_id;
  std::string username;
  std::string email;
  int64_t user_created_at = 0;
};

class S3KeyStore {
 public:
  // Connects to the auth database `target` (a SQLite path or a PostgreSQL
  // URI) that UserStore::Open has created and migrated.
  static Result<std::unique_ptr<S3KeyStore>> Open(const std::string& target);
  ~S3KeyStore();

  // Inserts `record` if its user has fewer than `max_per_user` keys (checked
  // and inserted in one transaction). False when the cap is reached.
  Result<bool> InsertIfUnderCap(const S3KeyRecord& record, int64_t max_per_user);
  // The user's keys, oldest first, sealed_secret left empty.
  Result<std::vector<S3KeyRecord>> ListForUser(std::string_view user_id);
  // Deletes key `id` if it belongs to `user_id`; kNotFound otherwise.
  Status Delete(std::string_view user_id, std::string_view id);
  Result<std::optional<S3KeyOwner>> FindByAccessKey(std::string_view access_key);

 private:
  explicit S3KeyStore(std::unique_ptr<sql::Connection> db);

  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;  // guarded by mu_
};

}  // namespace nexus::auth
