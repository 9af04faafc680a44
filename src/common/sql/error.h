// sql::Error: the one exception the SQL layer (connection.h) throws, with
// what kind of failure it was, and the one place where such a failure
// becomes a Status. Stores throw it inside their transactions and turn it
// into a Status at their edge (GuardSql), so no exception leaves a store.
//
//   kDuplicateKey   a UNIQUE or PRIMARY KEY refused the row (callers usually
//                   answer kAlreadyExists; SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY,
//                   PostgreSQL 23505)
//   kRetry          the transaction lost a race it may win when run again
//                   (SQLITE_BUSY/LOCKED after the busy timeout, PostgreSQL
//                   40001 serialization failure, 40P01 deadlock): kUnavailable
//   kFull           no room for the database (SQLITE_FULL, PostgreSQL 53100):
//                   InsufficientStorageError (507), logged with the detail
//   kConnection     the server went away (PostgreSQL class 08, 57P0x):
//                   kUnavailable
//   kOther          anything else: kInternal naming the operation (never shown
//                   to a client: the edges log it and answer "internal error")
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/status.h"

namespace nexus::sql {

enum class ErrorKind { kDuplicateKey, kRetry, kFull, kConnection, kOther };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// The kind of a PostgreSQL SQLSTATE (five characters; "" when libpq gave
// none, which means the connection failed).
ErrorKind KindOfSqlState(std::string_view sqlstate);

// The Status of a failed database operation `op` (see the table above).
Status ToStatus(std::string_view op, const Error& e);

inline bool IsDuplicateKey(const Error& e) { return e.kind() == ErrorKind::kDuplicateKey; }

// Runs `f` (which returns a Status or a Result), turning sql::Error into
// ToStatus(op, ...) and any other exception into kInternal.
template <typename F>
auto GuardSql(std::string_view op, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    return ToStatus(op, e);
  } catch (const std::exception& e) {
    return InternalError(std::string(op) + ": " + e.what());
  }
}

}  // namespace nexus::sql
