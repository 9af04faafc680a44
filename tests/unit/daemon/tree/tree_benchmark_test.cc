// A measurement, not a test: how long ls of a big folder and a recursive
// delete of many files take on a real nexus.db (WAL, in a temp dir) and a
// real FsChunkStore, at two sizes so that the scaling shows (linear, not
// quadratic); and the recursive delete's database half alone at more sizes.
// Disabled; run it by hand:
//   storage_test --gtest_also_run_disabled_tests --gtest_filter='TreeBenchmark*'
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "common/sha256.h"
#include "daemon/storage/fs_chunk_store.h"
#include "daemon/tree/tree_service.h"
#include "support/fake_clock.h"
#include "support/metadata_backend.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::CountFiles;
using testing::TempDir;

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

struct Stack {
  TempDir dir;
  nexus::testing::FakeClock clock;
  std::unique_ptr<FsChunkStore> chunks;
  std::unique_ptr<nexus::testing::TestMetadataDb> db;
  std::unique_ptr<MetadataStore> metadata;
  std::unique_ptr<FileService> files;
  std::unique_ptr<TreeStore> store;
  std::unique_ptr<TreeService> tree;

  Stack() {
    chunks = FsChunkStore::Open(dir.path() + "/chunks").value();
    db =
        nexus::testing::TestMetadataDb::Open(StorageMigrations(), dir.path() + "/nexus.db").value();
    metadata = std::make_unique<MetadataStore>(db->conn(), clock);
    files = std::make_unique<FileService>(*chunks, *metadata, FileServiceOptions{});
    store = std::make_unique<TreeStore>(*metadata);
    tree = std::make_unique<TreeService>(*files, *store);
  }

  // A small file with unique content, so every file owns one chunk file.
  void Upload(const std::string& path) {
    auto upload = tree->BeginUpload("alice", path);
    ASSERT_TRUE(upload.ok()) << upload.status().ToString();
    ASSERT_TRUE((*upload)->Write("content of " + path).ok());
    ASSERT_TRUE((*upload)->Commit().ok());
  }
};

void Measure(int n) {
  Stack s;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) s.Upload("/flat/f" + std::to_string(i));
  const double setup_flat = MillisSince(start);

  double best_ls = 1e9;
  for (int round = 0; round < 5; ++round) {
    start = std::chrono::steady_clock::now();
    auto entries = s.tree->List("alice", "/flat");
    best_ls = std::min(best_ls, MillisSince(start));
    ASSERT_TRUE(entries.ok());
    ASSERT_EQ(entries->size(), static_cast<size_t>(n));
  }

  // The same number of files spread over a 3-level tree (100 per folder).
  for (int i = 0; i < n; ++i) {
    s.Upload("/tree/a" + std::to_string(i / 1000) + "/b" + std::to_string(i / 100 % 10) + "/f" +
             std::to_string(i));
  }
  ASSERT_EQ(CountFiles(s.dir.path() + "/chunks"), 2 * n);
  // What TreeService::Delete does, in its two timed halves.
  start = std::chrono::steady_clock::now();
  auto deletion = s.store->Delete("alice", "/tree");
  const double delete_rows_ms = MillisSince(start);
  ASSERT_TRUE(deletion.ok()) << deletion.status().ToString();
  ASSERT_EQ(deletion->files, n);
  start = std::chrono::steady_clock::now();
  s.files->RemoveReleasedChunks(deletion->released);
  const double delete_chunks_ms = MillisSince(start);
  ASSERT_EQ(CountFiles(s.dir.path() + "/chunks"), n);

  start = std::chrono::steady_clock::now();
  auto deleted = s.tree->Delete("alice", "/flat");
  const double delete_flat_ms = MillisSince(start);
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(CountFiles(s.dir.path() + "/chunks"), 0);

  std::printf(
      "files=%6d  setup(uploads)=%8.0f ms  ls=%7.1f ms  delete 3-level: rows %7.1f ms + chunk "
      "files %7.1f ms  delete flat (all)=%7.1f ms\n",
      n, setup_flat, best_ls, delete_rows_ms, delete_chunks_ms, delete_flat_ms);
}

TEST(TreeBenchmark, DISABLED_ListAndRecursiveDeleteAtOneAndTenThousandFiles) {
  Measure(1000);
  Measure(10000);
}

// Rows only (no chunk files), so bigger sizes are cheap to set up.
void MeasureRows(int n) {
  TempDir dir;
  nexus::testing::FakeClock clock;
  auto db =
      nexus::testing::TestMetadataDb::Open(StorageMigrations(), dir.path() + "/nexus.db").value();
  MetadataStore metadata(db->conn(), clock);
  TreeStore store(metadata);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    const std::string id = "file-" + std::to_string(i);
    const std::string hash = Sha256::HexDigest(id);
    FileRecord f{id, "alice", id, 10, hash, 1, "Uploaded", 0, ""};
    const std::string path = "/tree/a" + std::to_string(i / 1000) + "/b" +
                             std::to_string(i / 100 % 10) + "/f" + std::to_string(i);
    ASSERT_TRUE(store.CommitFileAt(path, f, {{hash, 0, 10}}, kUnlimitedQuota).ok());
  }
  const double setup = MillisSince(start);
  start = std::chrono::steady_clock::now();
  auto deletion = store.Delete("alice", "/tree");
  const double rows = MillisSince(start);
  ASSERT_TRUE(deletion.ok());
  ASSERT_EQ(deletion->files, n);
  std::printf("rows only: files=%6d  setup=%8.0f ms  delete=%7.1f ms\n", n, setup, rows);
}

TEST(TreeBenchmark, DISABLED_RecursiveDeleteOfRowsScalesLinearly) {
  for (int n : {1000, 5000, 10000, 20000}) MeasureRows(n);
}

}  // namespace
}  // namespace nexus::daemon::storage
