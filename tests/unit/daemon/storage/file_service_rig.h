// The FileService test rig: a service over a real FsChunkStore in a temp dir
// and nexus.db's storage tables (SQLite, or PostgreSQL as
// support/metadata_backend.h chooses), small chunker parameters, per-owner
// quotas and limits a test sets, and helpers to upload, download and count
// chunks. Shared by the file_service_*_test.cc files of this folder and, as
// the base of the tree's rig, by the tree tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "daemon/storage/file_service.h"
#include "daemon/storage/fs_chunk_store.h"
#include "support/fake_clock.h"
#include "support/metadata_backend.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {

using testing::CountFiles;
using testing::Eventually;
using testing::PseudoRandomBytes;
using testing::TempDir;

inline constexpr ChunkerParams kSmall{256, 1024, 4096};

// The hashes of the chunks one Write of `data` completes (with kSmall), in
// order; the rest waits for Commit.
inline std::vector<std::string> CompleteChunkHashesOf(const std::string& data) {
  Chunker chunker(kSmall);
  std::vector<std::string> hashes;
  auto hash_of = [&](std::span<const std::string_view> pieces, const std::shared_ptr<const void>&) {
    Sha256 h;
    for (std::string_view p : pieces) h.Update(p);
    hashes.push_back(ToHex(h.Finish()));
    return Status::Ok();
  };
  EXPECT_TRUE(chunker.Write(data, hash_of).ok());
  return hashes;
}

class FileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = FsChunkStore::Open(chunks_dir());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    chunks_ = std::move(*store);
    auto db = nexus::testing::TestMetadataDb::Open(StorageMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    test_db_ = std::move(*db);
    db_ = &test_db_->conn();
    metadata_ = std::make_unique<MetadataStore>(*db_, clock_, limits_);
    FileServiceOptions options;
    options.chunker = kSmall;
    options.quota_for = [this](const std::string& owner) {
      auto it = quotas_.find(owner);
      return it == quotas_.end() ? kUnlimitedQuota : it->second;
    };
    files_ = std::make_unique<FileService>(*chunks_, *metadata_, options);
  }

  std::string chunks_dir() const { return dir_.path() + "/chunks"; }
  int ChunkFiles() const { return CountFiles(chunks_dir()); }
  // Chunks stored under their hash (temp files of puts in progress not counted).
  int StoredChunks() const {
    int n = 0;
    EXPECT_TRUE(chunks_->List([&](const std::string&) { ++n; }).ok());
    return n;
  }
  static int CompleteChunks(const std::string& data) {
    return static_cast<int>(CompleteChunkHashesOf(data).size());
  }

  // Uploads `data` in pieces of `piece` bytes.
  Result<FileRecord> UploadAs(const std::string& owner, const std::string& name,
                              const std::string& data, size_t piece = 1000) {
    auto upload = files_->Begin(owner, name);
    if (!upload.ok()) return upload.status();
    for (size_t i = 0; i < data.size(); i += piece) {
      NEXUS_RETURN_IF_ERROR((*upload)->Write(std::string_view(data).substr(i, piece)));
    }
    return (*upload)->Commit();
  }

  // Every byte `reader` yields, to its end.
  static Result<std::string> ReadToEnd(FileReader& reader) {
    std::string out;
    while (true) {
      NEXUS_ASSIGN_OR_RETURN(std::string_view piece, reader.Next());
      if (piece.empty()) break;
      out += piece;
    }
    return out;
  }

  Result<std::string> Download(const std::string& owner, const std::string& id,
                               std::optional<ByteRange> range = std::nullopt) {
    NEXUS_ASSIGN_OR_RETURN(auto reader, files_->Open(owner, id, range));
    NEXUS_ASSIGN_OR_RETURN(std::string out, ReadToEnd(*reader));
    if (static_cast<int64_t>(out.size()) != reader->length()) {
      return InternalError("reader yielded " + std::to_string(out.size()) + " bytes, announced " +
                           std::to_string(reader->length()));
    }
    return out;
  }

  MetadataLimits limits_;  // set before SetUp by fixtures that test limits
  TempDir dir_;
  nexus::testing::FakeClock clock_;
  std::unique_ptr<FsChunkStore> chunks_;
  std::unique_ptr<nexus::testing::TestMetadataDb> test_db_;
  sql::Connection* db_ = nullptr;  // test_db_'s
  std::unique_ptr<MetadataStore> metadata_;
  std::map<std::string, int64_t> quotas_;
  std::unique_ptr<FileService> files_;
};

}  // namespace nexus::daemon::storage
