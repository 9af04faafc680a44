// The TreeService test rig: a real FsChunkStore in a temp dir and nexus.db's
// storage tables in SQLite, with FileService and TreeService on top, as
// nexusd wires them, plus helpers to upload, download and list through the
// tree. Shared by the tree_*_test.cc files of this folder.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/storage/fs_chunk_store.h"
#include "daemon/tree/tree_service.h"
#include "support/fake_clock.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {

using testing::CountFiles;
using testing::Eventually;
using testing::PseudoRandomBytes;
using testing::TempDir;

inline constexpr ChunkerParams kSmall{256, 1024, 4096};

// A real FsChunkStore in a temp dir and nexus.db's storage tables in SQLite,
// with FileService and TreeService on top, as nexusd wires them.
class TreeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = FsChunkStore::Open(chunks_dir());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    chunks_ = std::move(*store);
    auto db = OpenDatabase(":memory:", StorageMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    metadata_ = std::make_unique<MetadataStore>(*db_, clock_, limits_);
    FileServiceOptions options;
    options.chunker = kSmall;
    options.quota_for = [this](const std::string& owner) {
      auto it = quotas_.find(owner);
      return it == quotas_.end() ? kUnlimitedQuota : it->second;
    };
    files_ = std::make_unique<FileService>(*chunks_, *metadata_, options);
    store_ = std::make_unique<TreeStore>(*metadata_);
    tree_ = std::make_unique<TreeService>(*files_, *store_);
  }

  std::string chunks_dir() const { return dir_.path() + "/chunks"; }
  int ChunkFiles() const { return CountFiles(chunks_dir()); }

  std::set<std::string> ChunksOnDisk() {
    std::set<std::string> out;
    EXPECT_TRUE(chunks_->List([&](const std::string& h) { out.insert(h); }).ok());
    return out;
  }
  std::set<std::string> ReferencedChunks() {
    auto refs = metadata_->AllReferencedHashes();
    EXPECT_TRUE(refs.ok());
    return std::set<std::string>(refs->begin(), refs->end());
  }
  std::set<std::string> ChunksOf(const FileRecord& f) {
    auto refs = metadata_->ChunksForRange(f.id, 0, f.size);
    EXPECT_TRUE(refs.ok());
    std::set<std::string> out;
    for (const auto& r : *refs) out.insert(r.hash);
    return out;
  }

  Result<FileRecord> UploadAt(const std::string& owner, const std::string& path,
                              const std::string& data) {
    NEXUS_ASSIGN_OR_RETURN(auto upload, tree_->BeginUpload(owner, path));
    for (size_t i = 0; i < data.size(); i += 1000) {
      NEXUS_RETURN_IF_ERROR(upload->Write(std::string_view(data).substr(i, 1000)));
    }
    return upload->Commit();
  }

  Result<std::string> Download(const std::string& owner, const std::string& path) {
    NEXUS_ASSIGN_OR_RETURN(auto reader, tree_->Open(owner, path));
    std::string out;
    while (true) {
      NEXUS_ASSIGN_OR_RETURN(std::string_view piece, reader->Next());
      if (piece.empty()) break;
      out += piece;
    }
    return out;
  }

  // "name/" for folders, "name" for files, in listing order.
  std::vector<std::string> Names(const std::string& owner, const std::string& path) {
    auto entries = tree_->List(owner, path);
    EXPECT_TRUE(entries.ok()) << path << ": " << entries.status().ToString();
    std::vector<std::string> out;
    if (!entries.ok()) return out;
    for (const auto& e : *entries)
      out.push_back(e.name + (e.kind == EntryKind::kFolder ? "/" : ""));
    return out;
  }

  StatusCode ListCode(const std::string& owner, const std::string& path) {
    return tree_->List(owner, path).status().code();
  }

  MetadataLimits limits_;  // set before SetUp by fixtures that test limits
  TempDir dir_;
  nexus::testing::FakeClock clock_;
  std::unique_ptr<FsChunkStore> chunks_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<MetadataStore> metadata_;
  std::map<std::string, int64_t> quotas_;
  std::unique_ptr<FileService> files_;
  std::unique_ptr<TreeStore> store_;
  std::unique_ptr<TreeService> tree_;
};

using Strings = std::vector<std::string>;

}  // namespace nexus::daemon::storage
