// Database: opens nexusd's SQLite database (WAL, foreign keys, busy timeout)
// and brings its schema up to date from versioned migrations.
//
// Each module that owns tables (storage, runtime) exports its migrations as a
// list; nexusd's main passes all of them here. Versions are global and must be
// unique across modules; they are applied in order, each in its own
// transaction, and recorded in `schema_migrations`. A SQLite::Database is not
// safe for concurrent use from several threads: owners serialise access.
#pragma once

#include <SQLiteCpp/Database.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace nexus::daemon {

struct Migration {
  int version;
  std::string description;
  std::string sql;
};

// Opens (creating if needed) the database at `path` (":memory:" for tests)
// and applies every migration not yet recorded.
Result<std::unique_ptr<SQLite::Database>> OpenDatabase(const std::string& path,
                                                       std::vector<Migration> migrations);

}  // namespace nexus::daemon
