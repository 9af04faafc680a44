// The TreeService test rig: the FileService rig (a real FsChunkStore in a
// temp dir and nexus.db's storage tables in SQLite) with a TreeStore and
// TreeService on top, as nexusd wires them, plus helpers to upload,
// download and list through the tree. Shared by the tree_*_test.cc files of
// this folder.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/tree/tree_service.h"
#include "unit/daemon/storage/file_service_rig.h"

namespace nexus::daemon::storage {

class TreeServiceTest : public FileServiceTest {
 protected:
  void SetUp() override {
    FileServiceTest::SetUp();
    if (HasFatalFailure()) return;
    // The tree's own tables, as DaemonMigrations adds them after storage's.
    Status tree_tables = sql::ApplyMigrations(*db_, TreeMigrations());
    ASSERT_TRUE(tree_tables.ok()) << tree_tables.ToString();
    store_ = std::make_unique<TreeStore>(*metadata_);
    tree_ = std::make_unique<TreeService>(*files_, *store_);
  }

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

  // What UploadSession does with a late path: the tree's checks, then the
  // destination keeps the normal form.
  Status SetLatePath(LatePath& destination, const std::string& owner, std::string_view path) {
    NEXUS_ASSIGN_OR_RETURN(std::string normalized, tree_->UploadPath(owner, path));
    return destination.Set(std::move(normalized));
  }

  Result<std::string> Download(const std::string& owner, const std::string& path) {
    NEXUS_ASSIGN_OR_RETURN(auto reader, tree_->Open(owner, path));
    return ReadToEnd(*reader);
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

  std::unique_ptr<TreeStore> store_;
  std::unique_ptr<TreeService> tree_;
};

using Strings = std::vector<std::string>;

}  // namespace nexus::daemon::storage
