// OpenTestDatabase: the daemon's database in a test's TempDir, with every
// migration applied; each call opens another connection to the same file.
// TestHealth: a Health probing a metadata store on such a database, for the
// tests whose subject is another service.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/sql/database.h"
#include "common/sql/sqlite_connection.h"
#include "daemon/migrations.h"
#include "daemon/rpc/health.h"
#include "daemon/storage/metadata_store.h"
#include "support/fake_clock.h"
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

class TestHealth {
 public:
  explicit TestHealth(const TempDir& dir) : db_(OpenTestDatabase(dir)) {
    if (!db_) return;
    conn_ = std::make_unique<sql::SqliteConnection>(*db_);
    store_ = std::make_unique<daemon::storage::MetadataStore>(*conn_, clock_);
    health_ = std::make_unique<daemon::Health>(*store_);
  }
  // Null when the database could not be opened (a test failure is recorded).
  daemon::Health* get() { return health_.get(); }

 private:
  FakeClock clock_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<sql::SqliteConnection> conn_;
  std::unique_ptr<daemon::storage::MetadataStore> store_;
  std::unique_ptr<daemon::Health> health_;
};

}  // namespace nexus::testing
