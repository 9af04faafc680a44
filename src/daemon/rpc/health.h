// Health: nexusd's answer to "are you usable?" — the database is open and its
// schema is in place. Domain code (no gRPC); the service adapter calls it.
//
// Holds a reference to the database, which must outlive it. Thread-safe: the
// database is opened in SQLite's serialized mode and Check uses no shared
// statement objects.
#pragma once

#include <SQLiteCpp/Database.h>

#include "common/status.h"

namespace nexus::daemon {

class Health {
 public:
  explicit Health(SQLite::Database& db) : db_(db) {}

  // Ok when a query against the migrated schema succeeds; kUnavailable with
  // the SQLite message otherwise.
  Status Check() const;

 private:
  SQLite::Database& db_;
};

}  // namespace nexus::daemon
