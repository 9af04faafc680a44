#include "common/sql/error.h"

#include <spdlog/spdlog.h>

#include "common/insufficient_storage.h"

namespace nexus::sql {

ErrorKind KindOfSqlState(std::string_view s) {
  if (s.empty()) return ErrorKind::kConnection;
  if (s == "23505") return ErrorKind::kDuplicateKey;
  if (s == "40001" || s == "40P01" || s == "55P03") return ErrorKind::kRetry;
  if (s == "53100") return ErrorKind::kFull;
  // Class 08: connection exceptions; 57P01..57P03: the server is shutting
  // down or not yet accepting connections.
  if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03") {
    return ErrorKind::kConnection;
  }
  return ErrorKind::kOther;
}

Status ToStatus(std::string_view op, const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kFull:
      spdlog::warn("database full: {}: {}", op, e.what());
      return InsufficientStorageError();
    // Load (a busy database, a lost race) or an outage, not a bug.
    case ErrorKind::kRetry:
    case ErrorKind::kConnection:
      return UnavailableError(std::string(op) + ": " + e.what());
    case ErrorKind::kDuplicateKey:
    case ErrorKind::kOther:
      break;
  }
  return InternalError(std::string(op) + ": " + e.what());
}

}  // namespace nexus::sql
