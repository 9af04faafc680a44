// Database: opens a service's metadata database, SQLite (WAL, foreign keys,
// busy timeout) or PostgreSQL, and brings its schema up to date from
// versioned migrations. nexusd (nexus.db, storage metadata) and nexus-auth
// (auth.db) both open theirs here.
//
// Durability: WAL with synchronous=FULL, so a commit that returned survives a
// power cut. (NORMAL, the usual WAL setting, syncs the log only at
// checkpoints: a cut could undo the last commits, and bring back a deleted
// file whose chunk files were already unlinked, lose an acknowledged upload,
// or bring back a token its user logged out of.) EXTRA would add nothing in
// WAL mode: it syncs a rollback journal's directory, and SQLite already syncs
// the directory of a WAL it creates.
//
// Privacy: the database file is created mode 0600 before SQLite opens it
// (SQLite would make it 0644 less the umask, and gives its -wal and -shm
// files the database file's mode), and files an older version left readable
// by others are made private.
//
// Each module that owns tables (nexusd's storage, tree, nodes; nexus-auth's
// stores) exports its migrations as a list; the service's main passes all
// of them here. Versions must be unique within one database (each service
// keeps its own range: nexus-auth's are 301 and up, so the two services may
// share one PostgreSQL database); they are applied in order, each in its
// own transaction, and recorded in `schema_migrations`. A SQLite::Database
// is not safe for concurrent use from several threads: owners serialise
// access.
//
// The metadata may instead live in PostgreSQL (OpenMetadataDatabase with a
// postgres:// URI): each migration then also carries its text in
// PostgreSQL's dialect, and each runs under the write lock of the SQL layer
// (TxMode::kWrite), so services starting together apply it once. The
// database must sort text bytewise (collation "C"), as SQLite does:
// listings are ordered by name.
#pragma once

#include <SQLiteCpp/Database.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sql/connection.h"

namespace nexus::sql {

struct Migration {
  int version;
  std::string description;
  std::string sql;           // SQLite's dialect
  std::string postgres_sql;  // PostgreSQL's; "" where the module has none yet
};

// Opens (creating if needed) the database at `path` (":memory:" for tests)
// and applies every migration not yet recorded.
Result<std::unique_ptr<SQLite::Database>> OpenDatabase(const std::string& path,
                                                       std::vector<Migration> migrations);

// Opens the metadata database `target`: a libpq URI (postgres://... or
// postgresql://...) opens PostgreSQL, anything else is a SQLite path as for
// OpenDatabase. Applies every migration not yet recorded, in the target's
// dialect (kInternal for a migration without a PostgreSQL text, or a
// PostgreSQL database whose collation is not "C"); kUnavailable when the
// server cannot be reached.
Result<std::unique_ptr<Connection>> OpenMetadataDatabase(const std::string& target,
                                                         std::vector<Migration> migrations);

// Connects to the metadata database `target` as OpenMetadataDatabase does,
// with no migrations and no checks: another connection of the same process
// opened it (and brought its schema up to date) first.
Result<std::unique_ptr<Connection>> ConnectMetadataDatabase(const std::string& target);

// Applies to `db` every migration of `migrations` (sorted, versions unique)
// that `schema_migrations` does not list, in db's dialect.
Status ApplyMigrations(Connection& db, const std::vector<Migration>& migrations);

}  // namespace nexus::sql
