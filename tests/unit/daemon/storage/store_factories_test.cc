// The storage back-end tables: MakeChunkStore and MakeMetadataStore open
// their one row each and refuse unknown names, naming the known ones.
#include "daemon/storage/store_factories.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "storage_test_util.h"
#include "support/fake_clock.h"

namespace nexus::daemon::storage {
namespace {

TEST(MakeChunkStoreTest, OpensTheFsStoreUnderChunksDirMadePrivate) {
  testing::TempDir dir;
  StorageConfig config;
  config.chunks_dir = dir.path() + "/deeper/chunks";
  auto store = MakeChunkStore(kFsChunkStore, config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(std::filesystem::is_directory(config.chunks_dir));
  auto perms = std::filesystem::status(config.chunks_dir).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_all);
}

TEST(MakeChunkStoreTest, RefusesAnUnknownBackEndNamingTheKnownOnes) {
  auto store = MakeChunkStore("gs", StorageConfig{});
  ASSERT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.status().message(), "unknown chunk store 'gs' (known: fs, s3)");
}

TEST(MakeMetadataStoreTest, OpensSqliteWithTheSchemaOnItsOwnConnection) {
  testing::TempDir dir;
  nexus::testing::FakeClock clock;
  MetadataStoreParams params;
  params.db_path = dir.path() + "/nexus.db";
  params.migrations = StorageMigrations();
  params.connections = 3;
  params.clock = &clock;
  auto opened = MakeMetadataStore(kSqliteMetadataStore, params);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_TRUE(opened->pool && opened->store);
  EXPECT_EQ(opened->pool->max_connections(), 3);
  auto files = opened->store->ListFiles("alice");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_TRUE(files->empty());
}

TEST(MakeMetadataStoreTest, RefusesAnUnknownBackEndNamingTheKnownOnes) {
  nexus::testing::FakeClock clock;
  MetadataStoreParams params;
  params.clock = &clock;
  auto opened = MakeMetadataStore("mysql", params);
  ASSERT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(opened.status().message(), "unknown metadata store 'mysql' (known: sqlite, postgres)");
}

}  // namespace
}  // namespace nexus::daemon::storage
