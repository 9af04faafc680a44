// MakeChunkStore and MakeMetadataStore: the storage back-ends nexusd can run
// on, one row each of a table (name, how to open it), chosen by the
// composition root (daemon/wiring.h). Chunks live in the local filesystem
// ("fs") or an S3-compatible bucket ("s3"); metadata in SQLite ("sqlite")
// or PostgreSQL ("postgres", for several daemons sharing one database).
//
// Functions only; thread-safe. What they return is as thread-safe as the
// back-end says.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/result.h"
#include "common/sql/connection.h"
#include "common/sql/connection_pool.h"
#include "common/sql/database.h"
#include "daemon/storage/chunk_store.h"
#include "daemon/storage/metadata_store.h"

namespace nexus::daemon::storage {

inline constexpr std::string_view kFsChunkStore = "fs";
inline constexpr std::string_view kSqliteMetadataStore = "sqlite";
inline constexpr std::string_view kPostgresMetadataStore = "postgres";

// The chunk back-end [storage] chunks names: "fs" for "fs", else the scheme
// of its URL ("s3" for "s3://..."), else the whole value (unknown to
// MakeChunkStore, which then says so).
std::string ChunkBackEndOf(const StorageConfig& config);

// Opens the chunk store `backend` as [storage] configures it ("fs": under
// chunks_dir, made private; "s3": the bucket of the chunks URL, see
// s3_chunk_store.h). kInvalidArgument naming the known back-ends for an
// unknown one.
Result<std::unique_ptr<ChunkStore>> MakeChunkStore(std::string_view backend,
                                                   const StorageConfig& config);

// What a metadata back-end is opened with.
struct MetadataStoreParams {
  std::string db_path;                     // "sqlite": the database file
  std::string uri;                         // "postgres": the libpq connection URI
  std::vector<sql::Migration> migrations;  // the schema of that whole database
  int connections = 1;                     // at most this many open at once
  const Clock* clock = nullptr;            // required; must outlive the store
  MetadataLimits limits;
};

// A metadata store with the pool of connections it alone uses (WAL lets
// other connections to the same file coexist).
struct OpenMetadataStore {
  std::unique_ptr<sql::ConnectionPool> pool;  // first: outlives the store
  std::unique_ptr<MetadataStore> store;
};

// Opens the metadata store `backend`. kInvalidArgument naming the known
// back-ends for an unknown one.
Result<OpenMetadataStore> MakeMetadataStore(std::string_view backend, MetadataStoreParams params);

}  // namespace nexus::daemon::storage
