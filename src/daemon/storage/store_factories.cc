#include "daemon/storage/store_factories.h"

#include <utility>

#include "common/sql/postgres_connection.h"
#include "daemon/storage/fs_chunk_store.h"
#include "daemon/storage/s3_chunk_store.h"

namespace nexus::daemon::storage {
namespace {

struct ChunkBackEnd {
  std::string_view name;
  Result<std::unique_ptr<ChunkStore>> (*open)(const StorageConfig& config);
};

constexpr ChunkBackEnd kChunkBackEnds[] = {
    // FsChunkStore::Open makes chunks_dir (and its parents) itself.
    {kFsChunkStore,
     [](const StorageConfig& c) -> Result<std::unique_ptr<ChunkStore>> {
       NEXUS_ASSIGN_OR_RETURN(auto store, FsChunkStore::Open(c.chunks_dir));
       return std::unique_ptr<ChunkStore>(std::move(store));
     }},
    {kS3ChunkStore,
     [](const StorageConfig& c) -> Result<std::unique_ptr<ChunkStore>> {
       NEXUS_ASSIGN_OR_RETURN(S3ChunkStoreOptions options, S3ChunkStoreOptionsFromConfig(c));
       NEXUS_ASSIGN_OR_RETURN(auto store, S3ChunkStore::Open(std::move(options)));
       return std::unique_ptr<ChunkStore>(std::move(store));
     }},
};

struct MetadataBackEnd {
  std::string_view name;
  Result<OpenMetadataStore> (*open)(MetadataStoreParams params);
};

constexpr MetadataBackEnd kMetadataBackEnds[] = {
    {kSqliteMetadataStore,
     [](MetadataStoreParams p) -> Result<OpenMetadataStore> {
       OpenMetadataStore opened;
       NEXUS_ASSIGN_OR_RETURN(
           opened.pool, sql::OpenMetadataPool(p.db_path, std::move(p.migrations), p.connections));
       opened.store = std::make_unique<MetadataStore>(*opened.pool, *p.clock, p.limits);
       return opened;
     }},
    {kPostgresMetadataStore,
     [](MetadataStoreParams p) -> Result<OpenMetadataStore> {
       if (!sql::IsPostgresUri(p.uri)) {
         return InvalidArgumentError("metadata store 'postgres' needs a postgres:// URI");
       }
       OpenMetadataStore opened;
       NEXUS_ASSIGN_OR_RETURN(opened.pool,
                              sql::OpenMetadataPool(p.uri, std::move(p.migrations), p.connections));
       opened.store = std::make_unique<MetadataStore>(*opened.pool, *p.clock, p.limits);
       return opened;
     }},
};

// The row of `table` named `name`, or kInvalidArgument naming the known ones.
template <typename Row, size_t N>
Result<const Row*> FindRow(const Row (&table)[N], std::string_view what, std::string_view name) {
  std::string known;
  for (const Row& row : table) {
    if (row.name == name) return &row;
    known += (known.empty() ? "" : ", ") + std::string(row.name);
  }
  return InvalidArgumentError("unknown " + std::string(what) + " '" + std::string(name) +
                              "' (known: " + known + ")");
}

}  // namespace

std::string ChunkBackEndOf(const StorageConfig& config) {
  const std::string& chunks = config.chunks;
  const size_t scheme_end = chunks.find("://");
  return scheme_end == std::string::npos ? chunks : chunks.substr(0, scheme_end);
}

Result<std::unique_ptr<ChunkStore>> MakeChunkStore(std::string_view backend,
                                                   const StorageConfig& config) {
  NEXUS_ASSIGN_OR_RETURN(const ChunkBackEnd* row, FindRow(kChunkBackEnds, "chunk store", backend));
  return row->open(config);
}

Result<OpenMetadataStore> MakeMetadataStore(std::string_view backend, MetadataStoreParams params) {
  NEXUS_ASSIGN_OR_RETURN(const MetadataBackEnd* row,
                         FindRow(kMetadataBackEnds, "metadata store", backend));
  return row->open(std::move(params));
}

}  // namespace nexus::daemon::storage
