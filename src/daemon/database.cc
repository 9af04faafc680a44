#include "daemon/database.h"

#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <set>

namespace nexus::daemon {

Result<std::unique_ptr<SQLite::Database>> OpenDatabase(const std::string& path,
                                                       std::vector<Migration> migrations) {
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version == migrations[i - 1].version) {
      return InternalError("duplicate migration version " + std::to_string(migrations[i].version));
    }
  }
  try {
    auto db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    db->setBusyTimeout(5000);
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=NORMAL");
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
