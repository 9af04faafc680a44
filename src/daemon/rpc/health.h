// Health: nexusd's answer to "are you usable?" — the database is open and its
// schema is in place, and so is the metadata store's when it has one of its
// own (PostgreSQL: [storage] metadata). Domain code (no gRPC); the service
// adapter calls it.
//
// Holds references to the database and the store, which must outlive it.
// Thread-safe: the database is opened in SQLite's serialized mode and Check
// uses no shared statement objects; the store serialises its own use.
#pragma once

#include <SQLiteCpp/Database.h>

#include "common/status.h"
#include "daemon/storage/metadata_store.h"

namespace nexus::daemon {

class Health {
 public:
  // `metadata`: the store to probe too; nullptr when its tables live in
  // `db` (SQLite).
  explicit Health(SQLite::Database& db, storage::MetadataStore* metadata = nullptr)
      : db_(db), metadata_(metadata) {}

  // Ok when a query against each migrated schema succeeds; kUnavailable
  // otherwise, with the SQLite message, or saying only which database for
  // the metadata store (its errors may name its server; they are logged).
  Status Check() const;

 private:
  SQLite::Database& db_;
  storage::MetadataStore* metadata_;
};

}  // namespace nexus::daemon
