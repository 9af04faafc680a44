#include "daemon/database.h"

#include <SQLiteCpp/Transaction.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

#include "daemon/private_files.h"

namespace nexus::daemon {
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

Status FsyncFile(const std::string& path, bool may_be_missing) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (may_be_missing && errno == ENOENT) return Status::Ok();
    return ErrnoError(StatusCode::kUnavailable, "open '" + path + "' for fsync", errno);
  }
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(StatusCode::kUnavailable, "fsync '" + path + "'", e);
  return Status::Ok();
}

}  // namespace

Status SyncDatabaseFiles(SQLite::Database& db) {
  const char* name = sqlite3_db_filename(db.getHandle(), "main");
  if (name == nullptr || *name == '\0') return Status::Ok();
  const std::string path = name;
  NEXUS_RETURN_IF_ERROR(FsyncFile(path + "-wal", /*may_be_missing=*/true));
  return FsyncFile(path, /*may_be_missing=*/false);
}

Result<std::unique_ptr<SQLite::Database>> OpenDatabase(const std::string& path,
                                                       std::vector<Migration> migrations) {
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version == migrations[i - 1].version) {
      return InternalError("duplicate migration version " + std::to_string(migrations[i].version));
    }
  }
  NEXUS_RETURN_IF_ERROR(PrepareDatabaseFiles(path));
  try {
    auto db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    db->setBusyTimeout(5000);
    db->exec("PRAGMA journal_mode=WAL");
    // Committed means durable (see database.h).
    db->exec("PRAGMA synchronous=FULL");
    db->exec("PRAGMA foreign_keys=ON");
    db->exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    std::set<int> applied;
    SQLite::Statement q(*db, "SELECT version FROM schema_migrations");
    while (q.executeStep()) applied.insert(q.getColumn(0).getInt());
    for (const auto& m : migrations) {
      if (applied.count(m.version)) continue;
      SQLite::Transaction tx(*db);
      db->exec(m.sql);
      SQLite::Statement ins(*db,
                            "INSERT INTO schema_migrations(version, description, applied_at)"
                            " VALUES(?, ?, strftime('%s','now'))");
      ins.bind(1, m.version);
      ins.bind(2, m.description);
      ins.exec();
      tx.commit();
    }
    return db;
  } catch (const SQLite::Exception& e) {
    return InternalError("open database '" + path + "': " + e.what());
  }
}

}  // namespace nexus::daemon
