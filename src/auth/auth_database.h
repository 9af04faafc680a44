// The auth database: where nexus-auth keeps users, pending registrations,
// login challenges, code attempts, revoked tokens, app passwords and S3 keys.
//
// It is either a SQLite file (auth.db, one nexus-auth) or a PostgreSQL
// database (a postgres:// or postgresql:// URI, which several nexus-auth
// processes, one per gateway machine, share). Its schema is AuthMigrations,
// versions 301 and up, applied by the runner of common/sql/database.h into
// `schema_migrations`; on PostgreSQL the same database may also hold
// nexusd's metadata, whose versions are below 300.
//
// SQLite files made before that runner were versioned with PRAGMA
// user_version (1..4, each step the migration 300 + step); OpenAuthDatabase
// adopts them (see auth_database.cc).
//
// Who opens what: UserStore::Open opens the database with OpenAuthDatabase
// (creating and migrating it) and must run first; AppPasswordStore and
// S3KeyStore, and UserStore's extra connections, use ConnectAuthDatabase,
// which neither creates nor migrates; their hot-path lookups read from a
// pool of read-only connections (OpenAuthReaders). Each connection is for
// one thread at a time (sql/connection.h); the stores keep their writing
// ones behind mutexes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sql/connection.h"
#include "common/sql/connection_pool.h"
#include "common/sql/database.h"

namespace nexus::auth {

// The schema of the auth database, in both dialects.
std::vector<sql::Migration> AuthMigrations();

// The highest PRAGMA user_version of the scheme before schema_migrations.
inline constexpr int kLegacySchemaVersion = 4;

// Opens `target` (a SQLite path, created 0600 if missing, in WAL mode with
// synchronous=FULL and foreign keys; or a PostgreSQL URI) and brings its
// schema up to date. A SQLite path must name a file (not ":memory:": the
// stores connect to it more than once); a file whose user_version is newer
// than the legacy scheme knew is refused.
Result<std::unique_ptr<sql::Connection>> OpenAuthDatabase(const std::string& target);

// Another connection to the database at `target`, which OpenAuthDatabase
// has opened before: a missing SQLite file is an error. `read_only` opens a
// SQLite file read-only (PostgreSQL ignores it).
Result<std::unique_ptr<sql::Connection>> ConnectAuthDatabase(const std::string& target,
                                                             bool read_only);

// Connections a store's pool of readers keeps at most: token and app
// password checks on several threads each get one, and none waits for
// another's query.
inline constexpr int kAuthReadConnections = 4;

// A pool of read-only connections (ConnectAuthDatabase) to `target`: the
// first opened now, the others when first needed.
Result<std::unique_ptr<sql::ConnectionPool>> OpenAuthReaders(const std::string& target);

// What a store may say about the database it was opened on, without
// echoing a URI that may hold a password.
std::string DescribeAuthTarget(const std::string& target);

}  // namespace nexus::auth
