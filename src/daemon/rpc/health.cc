#include "daemon/rpc/health.h"

#include <spdlog/spdlog.h>

namespace nexus::daemon {

Status Health::Check() const {
  // The store reads its migrations table, which proves more than "SELECT 1":
  // the database is reachable and the schema bookkeeping is in place.
  if (Status s = metadata_.Ping(); !s.ok()) {
    spdlog::warn("health check: metadata database: {}", s.ToString());
    return UnavailableError("health check: the metadata database does not answer");
  }
  return Status::Ok();
}

}  // namespace nexus::daemon
