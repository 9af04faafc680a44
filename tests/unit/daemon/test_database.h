// OpenTestDatabase: the daemon's database in a test's TempDir, with every
// migration applied; each call opens another connection to the same file.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/sql/database.h"
#include "daemon/migrations.h"
#include "support/temp_dir.h"

namespace nexus::testing {

// Null, with the reason recorded as a test failure, if it cannot be opened.
inline std::unique_ptr<SQLite::Database> OpenTestDatabase(const TempDir& dir) {
  auto db = sql::OpenDatabase(dir.File("nexus.db"), daemon::DaemonMigrations());
  if (!db.ok()) {
    ADD_FAILURE() << db.status().ToString();
    return nullptr;
  }
  return std::move(db).value();
}

}  // namespace nexus::testing
