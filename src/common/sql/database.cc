#include "common/sql/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <set>

#include "common/private_files.h"
#include "common/sql/postgres_connection.h"
#include "common/sql/sqlite_connection.h"

namespace nexus::sql {
namespace {

// The files SQLite keeps beside the database.
constexpr const char* kSideFiles[] = {"-wal", "-shm", "-journal"};

bool IsFilePath(const std::string& path) {
  return !path.empty() && path != ":memory:" && !path.starts_with("file:");
}

// Creates the database file mode 0600 if it is missing (and makes its entry
// durable); makes the database and its side files private if an older
// version left them readable.
Status PrepareDatabaseFiles(const std::string& path) {
  if (!IsFilePath(path)) return Status::Ok();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    // SQLite syncs the directory of the WAL it creates, not the database's:
    // without this a power cut could keep the log and lose the file.
    std::string dir = std::filesystem::path(path).parent_path().string();
    NEXUS_RETURN_IF_ERROR(SyncDirectory(dir.empty() ? "." : dir));
  } else if (errno != EEXIST) {
    return ErrnoError(StatusCode::kUnavailable, "create database '" + path + "'", errno);
  }
  NEXUS_RETURN_IF_ERROR(MakeFilePrivate(path));
  for (const char* side : kSideFiles) NEXUS_RETURN_IF_ERROR(MakeFilePrivate(path + side));
  return Status::Ok();
}

Status SortAndCheckVersions(std::vector<Migration>& migrations) {
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version == migrations[i - 1].version) {
      return InternalError("duplicate migration version " + std::to_string(migrations[i].version));
    }
  }
  return Status::Ok();
}

bool IsApplied(Connection& db, int version) {
  Statement q = db.Prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
  q.Bind(1, version);
  return q.Step();
}

// Listings are ordered by name: PostgreSQL must compare text as SQLite does,
// byte by byte, not by a locale's rules.
Status CheckPostgresCollation(Connection& db) {
  Statement q = db.Prepare("SELECT datcollate FROM pg_database WHERE datname = current_database()");
  const std::string collation = q.Step() ? q.Text(0) : "";
  if (collation == "C" || collation == "POSIX") return Status::Ok();
  return InternalError("the PostgreSQL database sorts text by collation '" + collation +
                       "'; Nexus needs \"C\" (CREATE DATABASE ... LC_COLLATE 'C' TEMPLATE "
                       "template0)");
}

// The file at `path`, private, in WAL mode with the settings of database.h.
Result<std::unique_ptr<SQLite::Database>> ConnectSqlite(const std::string& path) {
  NEXUS_RETURN_IF_ERROR(PrepareDatabaseFiles(path));
  try {
    auto db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    db->setBusyTimeout(5000);
    db->exec("PRAGMA journal_mode=WAL");
    // Committed means durable (see database.h).
    db->exec("PRAGMA synchronous=FULL");
    db->exec("PRAGMA foreign_keys=ON");
    return db;
  } catch (const SQLite::Exception& e) {
    return InternalError("open database '" + path + "': " + e.what());
  }
}

}  // namespace

Status ApplyMigrations(Connection& db, const std::vector<Migration>& migrations) {
  const bool postgres = db.dialect() == Dialect::kPostgres;
  return GuardSql("apply migrations", [&]() -> Status {
    {
      // Under the write lock: daemons starting together create it once.
      Transaction tx(db, TxMode::kWrite);
      db.ExecScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)");
      tx.Commit();
    }
    // What is recorded already, read once without the write lock: a daemon
    // (re)starting on a migrated database takes that lock for nothing else.
    std::set<int64_t> applied;
    {
      Statement q = db.Prepare("SELECT version FROM schema_migrations");
      while (q.Step()) applied.insert(q.Int64(0));
    }
    for (const auto& m : migrations) {
      if (applied.count(m.version) > 0) continue;
      const std::string& text = postgres ? m.postgres_sql : m.sql;
      Transaction tx(db, TxMode::kWrite);
      // Again under the lock: another daemon may have applied it meanwhile.
      if (IsApplied(db, m.version)) continue;
      if (text.empty()) {
        return InternalError("migration " + std::to_string(m.version) + " (" + m.description +
                             ") has no text for this database");
      }
      db.ExecScript(text);
      Statement ins = db.Prepare(
          "INSERT INTO schema_migrations(version, description, applied_at) VALUES(?, ?, ?)");
      ins.Bind(1, m.version);
      ins.Bind(2, m.description);
      ins.Bind(3, static_cast<int64_t>(std::time(nullptr)));
      ins.Exec();
      tx.Commit();
    }
    return Status::Ok();
  });
}

Result<std::unique_ptr<Connection>> OpenMetadataDatabase(const std::string& target,
                                                         std::vector<Migration> migrations) {
  if (!IsPostgresUri(target)) {
    NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<SQLite::Database> db,
                           OpenDatabase(target, std::move(migrations)));
    return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(std::move(db)));
  }
  NEXUS_RETURN_IF_ERROR(SortAndCheckVersions(migrations));
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<PostgresConnection> db, PostgresConnection::Open(target));
  NEXUS_RETURN_IF_ERROR(GuardSql("check the PostgreSQL database",
                                 [&]() -> Status { return CheckPostgresCollation(*db); }));
  NEXUS_RETURN_IF_ERROR(ApplyMigrations(*db, migrations));
  return std::unique_ptr<Connection>(std::move(db));
}

Result<std::unique_ptr<Connection>> ConnectMetadataDatabase(const std::string& target) {
  if (IsPostgresUri(target)) {
    NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<PostgresConnection> db,
                           PostgresConnection::Open(target));
    return std::unique_ptr<Connection>(std::move(db));
  }
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<SQLite::Database> db, ConnectSqlite(target));
  return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(std::move(db)));
}

Result<std::unique_ptr<SQLite::Database>> OpenDatabase(const std::string& path,
                                                       std::vector<Migration> migrations) {
  NEXUS_RETURN_IF_ERROR(SortAndCheckVersions(migrations));
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<SQLite::Database> db, ConnectSqlite(path));
  SqliteConnection conn(*db);
  Status migrated = ApplyMigrations(conn, migrations);
  if (!migrated.ok()) return migrated.WithContext("open database '" + path + "'");
  return db;
}

}  // namespace nexus::sql
