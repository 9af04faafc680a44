// Health: nexusd's answer to "are you usable?" — its metadata database
// (SQLite's nexus.db, or PostgreSQL: [storage] metadata) answers a query
// against its migrated schema. Domain code (no gRPC); the service adapter
// calls it.
//
// Holds a reference to the store, which must outlive it. Thread-safe, as
// the store is.
#pragma once

#include "common/status.h"
#include "daemon/storage/metadata_store.h"

namespace nexus::daemon {

class Health {
 public:
  explicit Health(storage::MetadataStore& metadata) : metadata_(metadata) {}

  // Ok when the store's probe succeeds; kUnavailable otherwise, saying only
  // that the database does not answer (its errors may name its server or
  // path; they are logged).
  Status Check() const;

 private:
  storage::MetadataStore& metadata_;
};

}  // namespace nexus::daemon
