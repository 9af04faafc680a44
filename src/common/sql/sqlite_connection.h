// SqliteConnection: the SQL layer (connection.h) over a SQLiteCpp database,
// which it either owns or borrows (a caller that still uses the database
// directly). SQLite's failures become sql::Error by their result codes
// (error.h). Not thread-safe, like the database under it.
#pragma once

#include <SQLiteCpp/Database.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/sql/connection.h"

namespace nexus::sql {

class SqliteConnection : public Connection {
 public:
  explicit SqliteConnection(std::unique_ptr<SQLite::Database> owned)
      : owned_(std::move(owned)), db_(*owned_) {}
  explicit SqliteConnection(SQLite::Database& borrowed) : db_(borrowed) {}

  Dialect dialect() const override { return Dialect::kSqlite; }
  Statement Prepare(std::string_view sql) override;
  void ExecScript(std::string_view script) override;
  void Begin(TxMode mode) override;
  void Commit() override;
  void Rollback() noexcept override;
  Status SyncToDisk() override;

 private:
  friend class SqliteStatement;

  // Takes back a statement that is done with (reset, bindings cleared), to
  // hand out again for the same text.
  void Park(std::string sql, std::unique_ptr<SQLite::Statement> q);

  std::unique_ptr<SQLite::Database> owned_;
  SQLite::Database& db_;
  // Prepared statements by their text, waiting for their next use: the
  // stores run the same few dozen statements again and again, and SQLite
  // would parse and plan each one every time (a sixth of nexusd's CPU on
  // small uploads). After owned_, so they are finalised before it closes.
  std::unordered_map<std::string, std::vector<std::unique_ptr<SQLite::Statement>>> idle_;
  size_t idle_count_ = 0;
};

// The sql::Error of a SQLiteCpp exception.
Error FromSqlite(const SQLite::Exception& e);

}  // namespace nexus::sql
