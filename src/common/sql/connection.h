// A thin SQL layer with two back-ends, SQLite (sqlite_connection.h) and
// PostgreSQL (postgres_connection.h), so that the stores write their queries
// once. Statements are written with `?` (or `?N`) placeholders, numbered
// from 1; the PostgreSQL side rewrites them to `$N` and prepares each text
// once per connection. Write the SQL both accept: ON CONFLICT ... DO
// UPDATE/NOTHING, RETURNING, || and substr/length; not INSERT OR IGNORE,
// AUTOINCREMENT, rowid of tables without an explicit column, or date
// functions. Where a dialect must differ (schemas) the caller keeps both
// texts side by side and asks dialect().
//
// Every failure throws sql::Error (error.h). A Connection, and the
// Statements made on it, are not thread-safe: their owner serialises use.
// Statements must not outlive their Connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/sql/error.h"

namespace nexus::sql {

enum class Dialect { kSqlite, kPostgres };

// What a transaction may do, and so which lock it takes up front.
enum class TxMode {
  // One consistent snapshot for every statement (SQLite: BEGIN DEFERRED;
  // PostgreSQL: REPEATABLE READ).
  kRead,
  // Serialised with every other kWrite transaction on the same database, from
  // any connection or process, before its first statement: a check and the
  // write it guards are atomic (SQLite: BEGIN IMMEDIATE, the write lock;
  // PostgreSQL: READ COMMITTED plus a transaction-scoped advisory lock, so
  // each statement sees every commit made before the lock was granted).
  kWrite,
};

// The back-end half of a Statement.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void BindInt64(int index, int64_t v) = 0;
  virtual void BindText(int index, std::string_view v) = 0;
  virtual void BindBlob(int index, const void* data, size_t size) = 0;
  virtual void BindNull(int index) = 0;
  virtual bool Step() = 0;
  virtual int64_t Exec() = 0;
  virtual void Reset() = 0;
  virtual bool IsNull(int column) = 0;
  virtual int64_t Int64(int column) = 0;
  virtual std::string Text(int column) = 0;
  virtual std::vector<uint8_t> Blob(int column) = 0;
};

// One SQL statement with its parameters. Step() runs it (on the first call)
// and moves to the next row, false when there is none; the accessors read
// the current row's columns, numbered from 0. Exec() runs a statement that
// returns no rows and answers how many rows it changed. Reset() makes it
// ready to run again; bindings stay until replaced.
class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementImpl> impl) : impl_(std::move(impl)) {}

  Statement& Bind(int index, int64_t v) {
    impl_->BindInt64(index, v);
    return *this;
  }
  Statement& Bind(int index, int v) { return Bind(index, static_cast<int64_t>(v)); }
  Statement& Bind(int index, std::string_view v) {
    impl_->BindText(index, v);
    return *this;
  }
  Statement& Bind(int index, const std::string& v) { return Bind(index, std::string_view(v)); }
  Statement& Bind(int index, const char* v) { return Bind(index, std::string_view(v)); }
  Statement& BindBlob(int index, const std::vector<uint8_t>& v) {
    impl_->BindBlob(index, v.data(), v.size());
    return *this;
  }
  Statement& BindNull(int index) {
    impl_->BindNull(index);
    return *this;
  }

  bool Step() { return impl_->Step(); }
  int64_t Exec() { return impl_->Exec(); }
  void Reset() { impl_->Reset(); }

  bool IsNull(int column) { return impl_->IsNull(column); }
  int64_t Int64(int column) { return impl_->Int64(column); }
  int Int(int column) { return static_cast<int>(impl_->Int64(column)); }
  std::string Text(int column) { return impl_->Text(column); }
  std::vector<uint8_t> Blob(int column) { return impl_->Blob(column); }

 private:
  std::unique_ptr<StatementImpl> impl_;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;

  // A statement of `sql` (one statement, `?` placeholders).
  virtual Statement Prepare(std::string_view sql) = 0;

  // Runs `script` (any number of statements, no parameters).
  virtual void ExecScript(std::string_view script) = 0;

  virtual void Begin(TxMode mode) = 0;
  virtual void Commit() = 0;
  // Never throws: it runs on unwinding paths.
  virtual void Rollback() noexcept = 0;

  // Makes every commit this connection can see durable, for a caller about
  // to act on what it read in a way a power cut could not undo (SQLite:
  // fsync of the database and its WAL; PostgreSQL: nothing, a commit that
  // returned is already durable).
  virtual Status SyncToDisk() = 0;
};

// One transaction: Begin on construction, Rollback on destruction unless
// Commit() was called. Not nestable.
class Transaction {
 public:
  Transaction(Connection& c, TxMode mode) : c_(c) { c_.Begin(mode); }
  ~Transaction() {
    if (!done_) c_.Rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void Commit() {
    c_.Commit();
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

}  // namespace nexus::sql
