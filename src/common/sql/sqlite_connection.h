// SqliteConnection: the SQL layer (connection.h) over a SQLiteCpp database,
// which it either owns or borrows (a caller that still uses the database
// directly). SQLite's failures become sql::Error by their result codes
// (error.h). Not thread-safe, like the database under it.
#pragma once

#include <SQLiteCpp/Database.h>

#include <memory>

#include "common/sql/connection.h"

namespace nexus::sql {

class SqliteConnection : public Connection {
 public:
  explicit SqliteConnection(std::unique_ptr<SQLite::Database> owned)
      : owned_(std::move(owned)), db_(*owned_) {}
  explicit SqliteConnection(SQLite::Database& borrowed) : db_(borrowed) {}

  SQLite::Database& database() { return db_; }

  Dialect dialect() const override { return Dialect::kSqlite; }
  Statement Prepare(std::string_view sql) override;
  void ExecScript(std::string_view script) override;
  void Begin(TxMode mode) override;
  void Commit() override;
  void Rollback() noexcept override;
  Status SyncToDisk() override;

 private:
  std::unique_ptr<SQLite::Database> owned_;
  SQLite::Database& db_;
};

// The sql::Error of a SQLiteCpp exception.
Error FromSqlite(const SQLite::Exception& e);

}  // namespace nexus::sql
