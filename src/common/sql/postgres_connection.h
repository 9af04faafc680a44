// PostgresConnection: the SQL layer (connection.h) over one libpq
// connection. Each statement text is rewritten to `$N` placeholders and
// prepared once per connection (the server keeps the plan); parameters go
// as text (blobs as binary) and their types are inferred by the server
// from where they appear. Results come back as text, read as the column
// accessors ask.
//
// kWrite transactions take the transaction-scoped advisory lock
// kWriteLockKey before their first statement: every writer to the same
// database, from any connection or daemon, is serialised as SQLite's
// BEGIN IMMEDIATE serialises them, and at READ COMMITTED each statement
// sees every commit made before the lock was granted, so a check and the
// write it guards are atomic without retries.
//
// A connection the server dropped is re-established at the next Begin or
// Prepare (its prepared statements are prepared again); the failed call
// itself throws kConnection. Not thread-safe: the owner serialises use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "common/sql/connection.h"

struct pg_conn;

namespace nexus::sql {

class PostgresConnection : public Connection {
 public:
  // The advisory lock (two-key form: class, object) of kWrite transactions.
  static constexpr int kWriteLockClass = 0x4e5853;  // "NXS"
  static constexpr int kWriteLockObject = 1;

  // Connects to `uri` (a libpq connection URI, postgres://... or
  // postgresql://...). kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<PostgresConnection>> Open(const std::string& uri);
  ~PostgresConnection() override;

  Dialect dialect() const override { return Dialect::kPostgres; }
  Statement Prepare(std::string_view sql) override;
  void ExecScript(std::string_view script) override;
  void Begin(TxMode mode) override;
  void Commit() override;
  void Rollback() noexcept override;
  Status SyncToDisk() override { return Status::Ok(); }

 private:
  struct Prepared {
    std::string name;
    int params = 0;
  };
  explicit PostgresConnection(pg_conn* conn) : conn_(conn) {}
  void ReconnectIfLost();

  pg_conn* conn_;
  std::unordered_map<std::string, Prepared> prepared_;  // by the `?` text
  int next_name_ = 0;
};

// The libpq URI schemes a metadata setting may name.
bool IsPostgresUri(std::string_view target);

}  // namespace nexus::sql
