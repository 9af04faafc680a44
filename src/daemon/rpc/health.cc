#include "daemon/rpc/health.h"

#include <SQLiteCpp/Statement.h>
#include <spdlog/spdlog.h>

#include <string>

namespace nexus::daemon {

Status Health::Check() const {
  // Reading the migrations table proves more than "SELECT 1": the file is
  // readable and OpenDatabase left the schema bookkeeping in place.
  try {
    SQLite::Statement q(db_, "SELECT count(*) FROM schema_migrations");
    if (!q.executeStep()) return UnavailableError("health check: no row from schema_migrations");
  } catch (const SQLite::Exception& e) {
    return UnavailableError(std::string("health check: query nexus database: ") + e.what());
  }
  if (metadata_ != nullptr) {
    if (Status s = metadata_->Ping(); !s.ok()) {
      spdlog::warn("health check: metadata database: {}", s.ToString());
      return UnavailableError("health check: the metadata database does not answer");
    }
  }
  return Status::Ok();
}

}  // namespace nexus::daemon
