#include "daemon/rpc/health.h"

#include <SQLiteCpp/Statement.h>

#include <string>

namespace nexus::daemon {

Status Health::Check() const {
  // Reading the migrations table proves more than "SELECT 1": the file is
  // readable and OpenDatabase left the schema bookkeeping in place.
  try {
    SQLite::Statement q(db_, "SELECT count(*) FROM schema_migrations");
    if (!q.executeStep()) return UnavailableError("health check: no row from schema_migrations");
    return Status::Ok();
  } catch (const SQLite::Exception& e) {
    return UnavailableError(std::string("health check: query nexus database: ") + e.what());
  }
}

}  // namespace nexus::daemon
