// The one way Nexus turns a failed SQLite call into a Status, for every
// database it keeps (auth.db, nexus.db): no exception leaves a store.
//
//   SQLITE_FULL            InsufficientStorageError (507): the disk, not a bug
//   SQLITE_BUSY / LOCKED   kUnavailable (503): load past the busy timeout
//   anything else          kInternal, naming the operation (never shown to
//                          a client: the edges log it and answer "internal error")
#pragma once

#include <SQLiteCpp/Exception.h>

#include <exception>
#include <string>
#include <string_view>

#include "common/status.h"

namespace nexus {

Status SqliteError(std::string_view op, const SQLite::Exception& e);

// A UNIQUE or PRIMARY KEY constraint refused the row: a duplicate the caller
// usually answers with kAlreadyExists.
bool IsDuplicateKey(const SQLite::Exception& e);

// Runs `f` (which returns a Status or a Result), turning SQLite's exceptions
// into SqliteError(op, ...) and any other exception into kInternal.
template <typename F>
auto GuardSqlite(std::string_view op, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const SQLite::Exception& e) {
    return SqliteError(op, e);
  } catch (const std::exception& e) {
    return InternalError(std::string(op) + ": " + e.what());
  }
}

}  // namespace nexus
