#include "auth/auth_database.h"

#include <SQLiteCpp/Database.h>

#include <ctime>

#include "common/sql/postgres_connection.h"
#include "common/sql/sqlite_connection.h"

namespace nexus::auth {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// Migration 300 + n is step n of the legacy user_version scheme.
constexpr int kFirstVersion = 301;

// SQLite's texts are those of the legacy scheme, word for word, so that a
// file adopted from it and a file made fresh have the same schema. On
// PostgreSQL: times and counters are BIGINT (INTEGER is 32 bits there);
// there is no COLLATE NOCASE: emails are stored lower-cased (as on SQLite),
// usernames keep their spelling and are unique by lower(username); and
// app_passwords and s3_keys number their rows in insertion order (seq), as
// SQLite's rowid does, so that listings made within one second stay oldest
// first.
std::vector<sql::Migration> Migrations() {
  return {
      {301, "auth: users, pending registrations, login challenges, revoked tokens",
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
       R"sql(
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL,
  email         TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_by_lower_username ON users (lower(username));
CREATE TABLE pending_registrations (
  email          TEXT PRIMARY KEY,
  username       TEXT NOT NULL,
  password_hash  TEXT NOT NULL,
  otp_hash       TEXT NOT NULL,
  otp_expires_at BIGINT NOT NULL,
  attempts       BIGINT NOT NULL DEFAULT 0,
  last_sent_at   BIGINT NOT NULL
);
CREATE TABLE login_challenges (
  email        TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  otp_hash     TEXT NOT NULL,
  expires_at   BIGINT NOT NULL,
  attempts     BIGINT NOT NULL DEFAULT 0,
  last_sent_at BIGINT NOT NULL
);
CREATE TABLE revoked_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens(expires_at);
)sql"},
      // Wrong tries per client address at the current code of a pending
      // registration ('register') or a login challenge ('login'); cleared
      // whenever that code is replaced or removed.
      {302, "auth: code attempts",
       R"sql(
CREATE TABLE code_attempts (
  purpose TEXT NOT NULL,
  email   TEXT NOT NULL COLLATE NOCASE,
  address TEXT NOT NULL,
  wrong   INTEGER NOT NULL,
  PRIMARY KEY (purpose, email, address)
);
)sql",
       R"sql(
CREATE TABLE code_attempts (
  purpose TEXT NOT NULL,
  email   TEXT NOT NULL,
  address TEXT NOT NULL,
  wrong   BIGINT NOT NULL,
  PRIMARY KEY (purpose, email, address)
);
)sql"},
      // App passwords (AppPasswordStore): the keyed hash of each secret,
      // looked up by that hash on every use.
      {303, "auth: app passwords",
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
       R"sql(
CREATE TABLE app_passwords (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  secret_hash  TEXT NOT NULL UNIQUE,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL DEFAULT 0,
  seq          BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX app_passwords_by_user ON app_passwords(user_id, created_at);
)sql"},
      // S3 access keys (S3KeyStore): each secret sealed under the server's
      // S3 key file, looked up by its access key on every S3 request.
      {304, "auth: S3 keys",
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
       R"sql(
CREATE TABLE s3_keys (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  access_key    TEXT NOT NULL UNIQUE,
  sealed_secret TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  seq           BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX s3_keys_by_user ON s3_keys(user_id, created_at);
)sql"},
      // When each revocation was recorded, by the database's clock (unix
      // seconds; 0 for rows older than this column): the other nexus-auth
      // processes on a shared database poll for recent ones (UserStore).
      {305, "auth: revoked_tokens.revoked_at",
       R"sql(
ALTER TABLE revoked_tokens ADD COLUMN revoked_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX revoked_tokens_by_revoked_at ON revoked_tokens(revoked_at);
)sql",
       R"sql(
ALTER TABLE revoked_tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX revoked_tokens_by_revoked_at ON revoked_tokens(revoked_at);
)sql"},
  };
}

bool NamesAFile(const std::string& path) {
  return !path.empty() && path != ":memory:" && !path.starts_with("file:");
}

// A SQLite auth.db made before schema_migrations carries its schema version
// in PRAGMA user_version: version n means the legacy migrations 1..n ran,
// and they made exactly what migrations 301..300+n make (the same texts).
// Running those again would fail on the tables that exist, so they are only
// recorded as applied; the runner then applies the rest. Done under the
// write lock, so two processes opening the file together agree.
Status AdoptLegacySchema(sql::Connection& db, const std::vector<sql::Migration>& migrations) {
  return sql::GuardSql("adopt the legacy auth schema", [&]() -> Status {
    sql::Transaction tx(db, sql::TxMode::kWrite);
    int version = 0;
    {
      sql::Statement q = db.Prepare("PRAGMA user_version");
      if (q.Step()) version = q.Int(0);
    }
    if (version > kLegacySchemaVersion) {
      return InvalidArgumentError("auth database schema version " + std::to_string(version) +
                                  " is newer than this nexus-auth understands (" +
                                  std::to_string(kLegacySchemaVersion) + ")");
    }
    if (version == 0) return Status::Ok();
    for (const sql::Migration& m : migrations) {
      if (m.version >= kFirstVersion + version) continue;
      sql::Statement ins = db.Prepare(
          "INSERT INTO schema_migrations(version, description, applied_at) VALUES(?, ?, ?) "
          "ON CONFLICT (version) DO NOTHING");
      ins.Bind(1, m.version);
      ins.Bind(2, m.description + " (legacy user_version " +
                      std::to_string(m.version - kFirstVersion + 1) + ")");
      ins.Bind(3, static_cast<int64_t>(std::time(nullptr)));
      ins.Exec();
    }
    tx.Commit();
    return Status::Ok();
  });
}

}  // namespace

std::vector<sql::Migration> AuthMigrations() { return Migrations(); }

std::string DescribeAuthTarget(const std::string& target) {
  if (sql::IsPostgresUri(target)) return "the PostgreSQL auth database";
  return "'" + target + "'";
}

Result<std::unique_ptr<sql::Connection>> OpenAuthDatabase(const std::string& target) {
  if (sql::IsPostgresUri(target)) {
    Result<std::unique_ptr<sql::Connection>> db =
        sql::OpenMetadataDatabase(target, AuthMigrations());
    if (!db.ok()) return db.status().WithContext("open " + DescribeAuthTarget(target));
    return db;
  }
  if (!NamesAFile(target)) {
    // The stores open more connections to it: they must see the same file.
    return InvalidArgumentError("auth database path must name a file, got '" + target + "'");
  }
  const std::string context = "open auth database " + DescribeAuthTarget(target);
  Result<std::unique_ptr<SQLite::Database>> file = sql::OpenDatabase(target, {});
  if (!file.ok()) return file.status().WithContext(context);
  std::unique_ptr<sql::Connection> db =
      std::make_unique<sql::SqliteConnection>(std::move(file).value());
  const std::vector<sql::Migration> migrations = AuthMigrations();
  NEXUS_RETURN_IF_ERROR(AdoptLegacySchema(*db, migrations).WithContext(context));
  NEXUS_RETURN_IF_ERROR(sql::ApplyMigrations(*db, migrations).WithContext(context));
  return db;
}

Result<std::unique_ptr<sql::Connection>> ConnectAuthDatabase(const std::string& target,
                                                             bool read_only) {
  if (sql::IsPostgresUri(target)) {
    Result<std::unique_ptr<sql::PostgresConnection>> db = sql::PostgresConnection::Open(target);
    if (!db.ok()) return db.status().WithContext("open " + DescribeAuthTarget(target));
    return std::unique_ptr<sql::Connection>(std::move(db).value());
  }
  return sql::GuardSql(
      "open auth database '" + target + "'", [&]() -> Result<std::unique_ptr<sql::Connection>> {
        // No OPEN_CREATE: OpenAuthDatabase made the file
        // (private, in WAL mode) and migrated it.
        auto db = std::make_unique<SQLite::Database>(
            target, read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE, kBusyTimeoutMs);
        if (!read_only) {
          // Committed means durable, as on the first
          // connection (common/sql/database.h).
          db->exec("PRAGMA synchronous = FULL");
          db->exec("PRAGMA foreign_keys = ON");
        }
        return std::unique_ptr<sql::Connection>(
            std::make_unique<sql::SqliteConnection>(std::move(db)));
      });
}

Result<std::unique_ptr<sql::ConnectionPool>> OpenAuthReaders(const std::string& target) {
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> first,
                         ConnectAuthDatabase(target, /*read_only=*/true));
  return std::make_unique<sql::ConnectionPool>(
      std::move(first), [target]() { return ConnectAuthDatabase(target, /*read_only=*/true); },
      kAuthReadConnections);
}

}  // namespace nexus::auth
