#include "common/sqlite_errors.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "common/insufficient_storage.h"

namespace nexus {

Status SqliteError(std::string_view op, const SQLite::Exception& e) {
  const int code = e.getErrorCode();
  if (code == SQLITE_FULL) {
    spdlog::warn("database full: {}: {}", op, e.what());
    return InsufficientStorageError();
  }
  // A busy database after the busy timeout is load, not a bug.
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    return UnavailableError(std::string(op) + ": " + e.what());
  }
  return InternalError(std::string(op) + ": " + e.what());
}

bool IsDuplicateKey(const SQLite::Exception& e) {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE ||
         e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

}  // namespace nexus
