#include "daemon/tree/tree_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "daemon/storage/fs_chunk_store.h"
#include "daemon/storage/sha256.h"
#include "support/fake_clock.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::CountFiles;
using testing::Eventually;
using testing::PseudoRandomBytes;
using testing::TempDir;

constexpr ChunkerParams kSmall{256, 1024, 4096};

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

// ---- mkdir -------------------------------------------------------------------

TEST_F(TreeServiceTest, MakeDirectoryCreatesMissingParents) {
  auto made = tree_->MakeDirectory("alice", "/a/b/c");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(*made, "/a/b/c");
  EXPECT_EQ(Names("alice", "/"), Strings{"a/"});
  EXPECT_EQ(Names("alice", "/a"), Strings{"b/"});
  EXPECT_EQ(Names("alice", "/a/b"), Strings{"c/"});
  EXPECT_TRUE(Names("alice", "/a/b/c").empty());
  EXPECT_EQ(tree_->Usage("alice")->folders, 3);
}

TEST_F(TreeServiceTest, MakeDirectoryOfAnExistingFolderSucceedsAndReturnsTheNormalisedPath) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/docs/projects").ok());
  const std::pair<std::string, std::string> cases[] = {
      {"/docs/projects", "/docs/projects"},
      {"//docs/./projects/", "/docs/projects"},
      {"/docs", "/docs"},
      {"/", "/"},
  };
  for (const auto& [in, want] : cases) {
    auto made = tree_->MakeDirectory("alice", in);
    ASSERT_TRUE(made.ok()) << in << ": " << made.status().ToString();
    EXPECT_EQ(*made, want);
  }
  EXPECT_EQ(tree_->Usage("alice")->folders, 2);
}

TEST_F(TreeServiceTest, MakeDirectoryOverAFileIsAlreadyExists) {
  ASSERT_TRUE(UploadAt("alice", "/d/f.txt", "x").ok());
  for (const char* path : {"/d/f.txt", "/d/f.txt/sub", "/d/f.txt/sub/deeper"}) {
    auto made = tree_->MakeDirectory("alice", path);
    EXPECT_EQ(made.status().code(), StatusCode::kAlreadyExists) << path;
    EXPECT_NE(made.status().message().find("'/d/f.txt' is a file"), std::string::npos)
        << made.status().message();
  }
  EXPECT_EQ(tree_->Usage("alice")->folders, 1);
  EXPECT_EQ(Names("alice", "/d"), Strings{"f.txt"});
}

TEST_F(TreeServiceTest, EveryOperationRejectsABadPath) {
  ASSERT_TRUE(UploadAt("alice", "/ok", "x").ok());
  const std::string cases[] = {"", "relative", "/a/../b", "/a\x01", "/" + std::string(300, 'n')};
  for (const std::string& bad : cases) {
    EXPECT_EQ(tree_->MakeDirectory("alice", bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(tree_->List("alice", bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(tree_->BeginUpload("alice", bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(tree_->Delete("alice", bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(tree_->Move("alice", bad, "/x").status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(tree_->Move("alice", "/ok", bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(tree_->Resolve("alice", bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(Names("alice", "/"), Strings{"ok"});
}

TEST_F(TreeServiceTest, EveryOperationRequiresAnOwner) {
  EXPECT_EQ(tree_->MakeDirectory("", "/a").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->List("", "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->BeginUpload("", "/f").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Delete("", "/a").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Move("", "/a", "/b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Resolve("", "/f").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Usage("").status().code(), StatusCode::kInvalidArgument);
}

// ---- ls ----------------------------------------------------------------------

TEST_F(TreeServiceTest, ListsFoldersFirstThenByNameInByteOrder) {
  ASSERT_TRUE(UploadAt("alice", "/b.txt", "bb").ok());
  ASSERT_TRUE(UploadAt("alice", "/A.txt", "a").ok());
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/zeta").ok());
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/Alpha").ok());
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/alpha").ok());
  EXPECT_EQ(Names("alice", "/"), (Strings{"Alpha/", "alpha/", "zeta/", "A.txt", "b.txt"}));
}

TEST_F(TreeServiceTest, ListShowsSizeModifiedAndIdOfFilesAndZeroSizeForFolders) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/docs/sub").ok());
  const int64_t folder_time = clock_.NowSeconds();
  clock_.AdvanceSeconds(60);
  auto file = UploadAt("alice", "/docs/report.pdf", std::string(5000, 'r'));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE(UploadAt("alice", "/docs/sub/inner", std::string(700, 'i')).ok());

  auto entries = tree_->List("alice", "/docs");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  const TreeEntry& sub = (*entries)[0];
  EXPECT_EQ(sub.name, "sub");
  EXPECT_EQ(EntryKindName(sub.kind), "folder");
  EXPECT_EQ(sub.size, 0) << "folder sizes are not summed";
  EXPECT_EQ(sub.modified, folder_time);
  EXPECT_TRUE(sub.file_id.empty());
  const TreeEntry& report = (*entries)[1];
  EXPECT_EQ(report.name, "report.pdf");
  EXPECT_EQ(EntryKindName(report.kind), "file");
  EXPECT_EQ(report.size, 5000);
  EXPECT_EQ(report.modified, folder_time + 60);
  EXPECT_EQ(report.file_id, file->id);
}

TEST_F(TreeServiceTest, ListOfAFilePathIsThatOneEntry) {
  auto file = UploadAt("alice", "/a/f.bin", "12345");
  ASSERT_TRUE(file.ok());
  auto entries = tree_->List("alice", "/a/f.bin");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "f.bin");
  EXPECT_EQ((*entries)[0].kind, EntryKind::kFile);
  EXPECT_EQ((*entries)[0].size, 5);
  EXPECT_EQ((*entries)[0].file_id, file->id);
}

TEST_F(TreeServiceTest, ListOfAnEmptyRootIsEmptyAndOfMissingPathsIsNotFound) {
  EXPECT_TRUE(Names("alice", "/").empty());
  ASSERT_TRUE(UploadAt("alice", "/a/f", "x").ok());
  for (const char* path : {"/missing", "/a/missing", "/a/f/below-a-file", "/A"}) {
    EXPECT_EQ(ListCode("alice", path), StatusCode::kNotFound) << path;
  }
}

// ---- upload ------------------------------------------------------------------

TEST_F(TreeServiceTest, UploadToAPathCreatesParentsAndDownloadsByPathAndById) {
  const std::string data = PseudoRandomBytes(20000, 1);
  auto file = UploadAt("alice", "/x/y/z.bin", data);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, "z.bin");
  EXPECT_EQ(file->size, 20000);
  EXPECT_EQ(Names("alice", "/"), Strings{"x/"});
  EXPECT_EQ(Names("alice", "/x"), Strings{"y/"});
  EXPECT_EQ(Names("alice", "/x/y"), Strings{"z.bin"});

  auto back = Download("alice", "/x/y/z.bin");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  auto resolved = tree_->Resolve("alice", "//x/y/./z.bin");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->id, file->id);
  // The same file in the raw Files API.
  auto raw = files_->List("alice");
  ASSERT_EQ(raw->size(), 1u);
  EXPECT_EQ((*raw)[0].id, file->id);
}

TEST_F(TreeServiceTest, UploadOntoAFolderOrBelowAFileIsAlreadyExistsBeforeAnyByteIsStored) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/dir").ok());
  ASSERT_TRUE(UploadAt("alice", "/file", "f").ok());
  const int chunk_files = ChunkFiles();
  for (const char* path : {"/dir", "/file/x", "/file/x/y"}) {
    EXPECT_EQ(tree_->BeginUpload("alice", path).status().code(), StatusCode::kAlreadyExists)
        << path;
  }
  EXPECT_EQ(tree_->BeginUpload("alice", "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ChunkFiles(), chunk_files);
}

TEST_F(TreeServiceTest, FolderCreatedDuringAnUploadFailsItsCommitAndRollsBackItsChunks) {
  auto upload = tree_->BeginUpload("alice", "/late/target");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(10000, 2)).ok());
  EXPECT_TRUE(Eventually([&] { return ChunkFiles() > 0; }));
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/late/target").ok());
  EXPECT_EQ((*upload)->Commit().status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_TRUE(files_->List("alice")->empty());
}

TEST_F(TreeServiceTest, AbortedUploadLeavesNoEntryNoParentsAndNoChunks) {
  auto upload = tree_->BeginUpload("alice", "/p/q/r");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(10000, 3)).ok());
  (*upload)->Abort();
  EXPECT_TRUE(Names("alice", "/").empty());
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(TreeServiceTest, ReplacingAFileKeepsOneEntryAndFreesExactlyTheOldChunks) {
  // Old and new share a block, so the shared chunks must survive.
  const std::string shared = PseudoRandomBytes(8000, 4);
  const std::string old_data = shared + PseudoRandomBytes(8000, 5);
  const std::string new_data = shared + PseudoRandomBytes(8000, 6);
  auto old_file = UploadAt("alice", "/doc", old_data);
  ASSERT_TRUE(old_file.ok());
  const std::set<std::string> old_chunks = ChunksOf(*old_file);
  clock_.AdvanceSeconds(30);
  auto new_file = UploadAt("alice", "/doc", new_data);
  ASSERT_TRUE(new_file.ok()) << new_file.status().ToString();

  EXPECT_EQ(ChunksOnDisk(), ChunksOf(*new_file));
  const std::set<std::string> new_chunks = ChunksOf(*new_file);
  std::set<std::string> old_only;
  for (const auto& h : old_chunks) {
    if (!new_chunks.count(h)) old_only.insert(h);
  }
  EXPECT_FALSE(old_only.empty());
  EXPECT_LT(old_only.size(), old_chunks.size()) << "the shared block's chunks stay";
  for (const auto& h : old_only) EXPECT_FALSE(*chunks_->Has(h)) << h;

  auto entries = tree_->List("alice", "/");
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].file_id, new_file->id);
  EXPECT_EQ((*entries)[0].modified, clock_.NowSeconds());
  EXPECT_EQ(files_->Get("alice", old_file->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(files_->List("alice")->size(), 1u);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, static_cast<int64_t>(new_data.size()));
  EXPECT_TRUE(*Download("alice", "/doc") == new_data);
}

TEST_F(TreeServiceTest, ReplacingAFileCountsItsBytesAsFreedInTheQuota) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAt("alice", "/f", std::string(8000, 'a')).ok());
  auto upload = tree_->BeginUpload("alice", "/f", 9000);
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(9000, 7)).ok());
  auto replaced = (*upload)->Commit();
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 9000);
  // Another path gets no such credit.
  EXPECT_EQ(tree_->BeginUpload("alice", "/g", 1001).status().code(), StatusCode::kQuotaExceeded);
}

// ---- upload whose path arrives after its bytes ------------------------------

TEST_F(TreeServiceTest, UploadWithALatePathLandsAtThatPathNamedByItsLastSegment) {
  auto destination = std::make_shared<LatePath>();
  auto upload = tree_->BeginUploadPathLater("alice", "client-name.bin", -1, destination);
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  const std::string data = PseudoRandomBytes(9000, 20);
  ASSERT_TRUE((*upload)->Write(data).ok());
  ASSERT_TRUE(destination->Set("/docs//late.txt/").ok());
  auto file = (*upload)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, "late.txt");
  EXPECT_TRUE(*Download("alice", "/docs/late.txt") == data);
  EXPECT_EQ(Names("alice", "/"), Strings{"docs/"});
}

TEST_F(TreeServiceTest, UploadWhosePathNeverArrivesOrIsBadKeepsNothing) {
  struct Case {
    const char* path;  // nullptr: never set
    StatusCode code;
  } cases[] = {
      {nullptr, StatusCode::kInvalidArgument},
      {"/a/../b", StatusCode::kInvalidArgument},
      {"/", StatusCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path ? c.path : "(none)");
    auto destination = std::make_shared<LatePath>();
    auto upload = tree_->BeginUploadPathLater("alice", "x", -1, destination);
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(5000, 21)).ok());
    Status set = c.path ? destination->Set(c.path) : Status::Ok();
    Result<FileRecord> file = set.ok() ? (*upload)->Commit() : Result<FileRecord>(set);
    EXPECT_EQ(file.status().code(), c.code);
    (*upload)->Abort();
    EXPECT_TRUE(Names("alice", "/").empty());
    EXPECT_EQ(ChunkFiles(), 0);
  }
}

TEST_F(TreeServiceTest, UploadWithALatePathReplacesAFileAndHonoursTheQuotaAtCommit) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAt("alice", "/f", std::string(8000, 'a')).ok());
  // 9000 bytes fit only as a replacement of /f, which is not known until the
  // path arrives: the early check must not refuse it.
  auto replace_to = std::make_shared<LatePath>();
  auto replacing = tree_->BeginUploadPathLater("alice", "f", -1, replace_to);
  ASSERT_TRUE(replacing.ok());
  ASSERT_TRUE((*replacing)->Write(PseudoRandomBytes(9000, 22)).ok());
  ASSERT_TRUE(replace_to->Set("/f").ok());
  ASSERT_TRUE((*replacing)->Commit().ok());
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 9000);

  auto other_to = std::make_shared<LatePath>();
  auto other = tree_->BeginUploadPathLater("alice", "g", -1, other_to);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Write(PseudoRandomBytes(2000, 23)).ok());
  ASSERT_TRUE(other_to->Set("/g").ok());
  EXPECT_EQ((*other)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 9000);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
  // More than the quota with the largest file freed is refused while the
  // bytes arrive.
  auto too_big = tree_->BeginUploadPathLater("alice", "h", -1, std::make_shared<LatePath>());
  ASSERT_TRUE(too_big.ok());
  EXPECT_EQ((*too_big)->Write(PseudoRandomBytes(10001, 24)).code(), StatusCode::kQuotaExceeded);
}

TEST_F(TreeServiceTest, UploadWithALatePathMayStoreOnlyWhatReplacingTheLargestFileWouldFree) {
  quotas_["bob"] = 10000;
  auto raw = files_->Begin("bob", "raw.bin");
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Write(PseudoRandomBytes(9000, 25)).ok());
  ASSERT_TRUE((*raw)->Commit().ok());
  ASSERT_TRUE(UploadAt("bob", "/small", std::string(500, 's')).ok());
  // 500 bytes left, plus at most /small's 500 if the path turns out to be it.
  auto late = tree_->BeginUploadPathLater("bob", "x", -1, std::make_shared<LatePath>());
  ASSERT_TRUE(late.ok());
  EXPECT_EQ((*late)->Write(PseudoRandomBytes(1001, 26)).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), static_cast<int>(ReferencedChunks().size()));
  EXPECT_EQ(
      tree_->BeginUploadPathLater("bob", "x", 1001, std::make_shared<LatePath>()).status().code(),
      StatusCode::kQuotaExceeded);
}

TEST(LatePathTest, TakesOnePathOnce) {
  LatePath p;
  EXPECT_FALSE(p.has_value());
  ASSERT_TRUE(p.Set("/x/y").ok());
  EXPECT_EQ(p.path(), "/x/y");
  EXPECT_EQ(p.Set("/z").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.path(), "/x/y");
}

// ---- delete ------------------------------------------------------------------

TEST_F(TreeServiceTest, DeletingAThreeLevelTreeRemovesExactlyTheChunkFilesNothingElseUses) {
  const std::string kept_block = PseudoRandomBytes(6000, 10);
  const std::string raw_block = PseudoRandomBytes(6000, 11);
  // Outside the doomed tree: a tree file and a raw Files API file.
  auto keep = UploadAt("alice", "/keep/k.bin", kept_block);
  ASSERT_TRUE(keep.ok());
  auto raw = files_->Begin("alice", "raw.bin");
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Write(raw_block).ok());
  auto raw_file = (*raw)->Commit();
  ASSERT_TRUE(raw_file.ok());
  const int outside = ChunkFiles();

  // /t, /t/a, /t/a/b, with files at each level; some share content with the
  // files outside, one is empty, one repeats a sibling.
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/t/empty-folder").ok());
  ASSERT_TRUE(UploadAt("alice", "/t/one", PseudoRandomBytes(7000, 12)).ok());
  ASSERT_TRUE(UploadAt("alice", "/t/a/two", kept_block + PseudoRandomBytes(5000, 13)).ok());
  ASSERT_TRUE(UploadAt("alice", "/t/a/b/three", raw_block).ok());
  ASSERT_TRUE(UploadAt("alice", "/t/a/b/four", PseudoRandomBytes(9000, 14)).ok());
  ASSERT_TRUE(UploadAt("alice", "/t/a/b/four-again", PseudoRandomBytes(9000, 14)).ok());
  ASSERT_TRUE(UploadAt("alice", "/t/a/b/empty", "").ok());
  EXPECT_GT(ChunkFiles(), outside);

  auto deleted = tree_->Delete("alice", "/t");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->files, 6);
  EXPECT_EQ(deleted->folders, 4);  // t, t/empty-folder, t/a, t/a/b
  EXPECT_EQ(ChunkFiles(), outside);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
  EXPECT_EQ(Names("alice", "/"), Strings{"keep/"});
  EXPECT_EQ(ListCode("alice", "/t"), StatusCode::kNotFound);
  EXPECT_TRUE(*Download("alice", "/keep/k.bin") == kept_block);
  EXPECT_EQ(files_->List("alice")->size(), 2u);
  auto usage = tree_->Usage("alice");
  EXPECT_EQ(usage->files, 2);
  EXPECT_EQ(usage->folders, 1);
  EXPECT_EQ(usage->used_bytes, 12000);
}

TEST_F(TreeServiceTest, DeletingOneFileLeavesItsFolder) {
  ASSERT_TRUE(UploadAt("alice", "/d/f", PseudoRandomBytes(5000, 15)).ok());
  auto deleted = tree_->Delete("alice", "/d/f");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->files, 1);
  EXPECT_EQ(deleted->folders, 0);
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_TRUE(Names("alice", "/d").empty());
  EXPECT_TRUE(files_->List("alice")->empty());
}

TEST_F(TreeServiceTest, DeleteOfTheRootIsInvalidAndOfAMissingPathNotFound) {
  ASSERT_TRUE(UploadAt("alice", "/f", "x").ok());
  EXPECT_EQ(tree_->Delete("alice", "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Delete("alice", "//.").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Delete("alice", "/nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tree_->Delete("alice", "/f/below").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Names("alice", "/"), Strings{"f"});
}

TEST_F(TreeServiceTest, DeleteWhileDownloadingKeepsChunksUntilTheReaderEnds) {
  const std::string data = PseudoRandomBytes(10000, 16);
  ASSERT_TRUE(UploadAt("alice", "/d/f", data).ok());
  auto reader = tree_->Open("alice", "/d/f");
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(tree_->Delete("alice", "/d").ok());
  EXPECT_GT(ChunkFiles(), 0);
  std::string got;
  while (true) {
    auto piece = (*reader)->Next();
    ASSERT_TRUE(piece.ok()) << piece.status().ToString();
    if (piece->empty()) break;
    got += *piece;
  }
  EXPECT_TRUE(got == data);
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(TreeServiceTest, RawFilesApiDeleteRemovesTheTreeEntry) {
  auto file = UploadAt("alice", "/d/f", PseudoRandomBytes(5000, 17));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(files_->Delete("alice", file->id).ok());
  EXPECT_TRUE(Names("alice", "/d").empty());
  EXPECT_EQ(tree_->Resolve("alice", "/d/f").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ChunkFiles(), 0);
  // The path is free again.
  EXPECT_TRUE(UploadAt("alice", "/d/f", "again").ok());
}

// ---- move --------------------------------------------------------------------

TEST_F(TreeServiceTest, MovingAFolderTakesItsChildrenAlong) {
  const std::string data = PseudoRandomBytes(5000, 18);
  ASSERT_TRUE(UploadAt("alice", "/docs/drafts/a.txt", data).ok());
  ASSERT_TRUE(UploadAt("alice", "/docs/drafts/deep/b.txt", "b").ok());
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/docs/drafts/emptydir").ok());

  auto moved = tree_->Move("alice", "/docs/drafts", "/archive/2024/final");
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, "/archive/2024/final");
  EXPECT_EQ(ListCode("alice", "/docs/drafts"), StatusCode::kNotFound);
  EXPECT_TRUE(Names("alice", "/docs").empty());
  EXPECT_EQ(Names("alice", "/"), (Strings{"archive/", "docs/"}));
  EXPECT_EQ(Names("alice", "/archive/2024/final"), (Strings{"deep/", "emptydir/", "a.txt"}));
  EXPECT_EQ(Names("alice", "/archive/2024/final/deep"), Strings{"b.txt"});
  EXPECT_TRUE(*Download("alice", "/archive/2024/final/a.txt") == data);
}

TEST_F(TreeServiceTest, RenamingAFileKeepsItsIdAndRenamesItInTheFilesApi) {
  auto file = UploadAt("alice", "/docs/draft.txt", "text");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(tree_->Move("alice", "/docs/draft.txt", "/docs/final.txt").ok());
  EXPECT_EQ(Names("alice", "/docs"), Strings{"final.txt"});
  EXPECT_EQ(tree_->Resolve("alice", "/docs/final.txt")->id, file->id);
  EXPECT_EQ(files_->Get("alice", file->id)->name, "final.txt");
  EXPECT_EQ(tree_->Resolve("alice", "/docs/draft.txt").status().code(), StatusCode::kNotFound);
}

TEST_F(TreeServiceTest, MoveRejectsTheCasesItCannotDo) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/a/b/c").ok());
  ASSERT_TRUE(UploadAt("alice", "/a/f", "f").ok());
  ASSERT_TRUE(UploadAt("alice", "/g", "g").ok());
  struct Case {
    std::string from, to;
    StatusCode want;
  };
  const Case cases[] = {
      {"/a", "/a/b/c/a", StatusCode::kInvalidArgument},  // into its own subtree
      {"/a", "/a/x", StatusCode::kInvalidArgument},
      {"/a", "/a", StatusCode::kInvalidArgument},
      {"/a/f", "/a/f", StatusCode::kInvalidArgument},
      {"/", "/x", StatusCode::kInvalidArgument},
      {"/a/f", "/g", StatusCode::kAlreadyExists},  // target exists
      {"/g", "/a/b", StatusCode::kAlreadyExists},
      {"/a/b", "/", StatusCode::kAlreadyExists},
      {"/a/b", "/g/under-a-file", StatusCode::kAlreadyExists},
      {"/missing", "/x", StatusCode::kNotFound},
      {"/g/below-a-file", "/x", StatusCode::kNotFound},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(tree_->Move("alice", c.from, c.to).status().code(), c.want)
        << c.from << " -> " << c.to;
  }
  EXPECT_EQ(Names("alice", "/"), (Strings{"a/", "g"}));
  EXPECT_EQ(Names("alice", "/a"), (Strings{"b/", "f"}));
  EXPECT_EQ(Names("alice", "/a/b"), Strings{"c/"});
  EXPECT_EQ(tree_->Usage("alice")->folders, 3) << "failed moves create no parents";
}

TEST_F(TreeServiceTest, MovingAFolderBesideItselfWithASharedPrefixIsAllowed) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/ab").ok());
  ASSERT_TRUE(tree_->Move("alice", "/ab", "/abc").ok());
  EXPECT_EQ(Names("alice", "/"), Strings{"abc/"});
}

// ---- resolve -----------------------------------------------------------------

TEST_F(TreeServiceTest, ResolvingAFolderIsInvalidAndAMissingPathNotFound) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/dir").ok());
  auto folder = tree_->Resolve("alice", "/dir");
  EXPECT_EQ(folder.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(folder.status().message().find("is a folder"), std::string::npos);
  EXPECT_EQ(tree_->Resolve("alice", "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Resolve("alice", "/dir/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tree_->Open("alice", "/dir").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TreeServiceTest, OpenByPathServesRanges) {
  const std::string data = PseudoRandomBytes(10000, 19);
  ASSERT_TRUE(UploadAt("alice", "/r", data).ok());
  auto reader = tree_->Open("alice", "/r", ByteRange{1234, 100});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->offset(), 1234);
  EXPECT_EQ((*reader)->length(), 100);
  std::string got;
  while (true) {
    auto piece = (*reader)->Next();
    ASSERT_TRUE(piece.ok());
    if (piece->empty()) break;
    got += *piece;
  }
  EXPECT_TRUE(got == data.substr(1234, 100));
}

// ---- quota -------------------------------------------------------------------

TEST_F(TreeServiceTest, UploadExactlyFillingTheQuotaSucceedsAndOneByteMoreDoesNot) {
  quotas_["alice"] = 20000;
  ASSERT_TRUE(UploadAt("alice", "/a", PseudoRandomBytes(15000, 20)).ok());
  auto exact = UploadAt("alice", "/b", PseudoRandomBytes(5000, 21));
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  const int chunk_files = ChunkFiles();

  auto over = UploadAt("alice", "/c", "1");
  EXPECT_EQ(over.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_NE(over.status().message().find("quota exceeded"), std::string::npos);
  auto usage = tree_->Usage("alice");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->used_bytes, 20000);
  EXPECT_EQ(usage->quota_bytes, 20000);
  EXPECT_EQ(usage->files, 2);
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(Names("alice", "/"), (Strings{"a", "b"}));
}

TEST_F(TreeServiceTest, AnUploadThatWouldOverfillTheQuotaBesideAnotherFailsAsItStreams) {
  quotas_["alice"] = 20000;
  // Both begin while nothing is used; the second cannot store its bytes
  // beside the first's.
  auto first = tree_->BeginUpload("alice", "/first");
  auto second = tree_->BeginUpload("alice", "/dir/second");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*first)->Write(PseudoRandomBytes(12000, 22)).ok());
  EXPECT_EQ((*second)->Write(PseudoRandomBytes(8001, 23)).code(), StatusCode::kQuotaExceeded);
  auto committed = (*first)->Commit();
  ASSERT_TRUE(committed.ok());
  const int chunk_files = static_cast<int>(ChunksOf(*committed).size());

  EXPECT_EQ((*second)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 12000);
  EXPECT_EQ(Names("alice", "/"), Strings{"first"}) << "no parent folder is left behind";
}

TEST_F(TreeServiceTest, RawUploadsAndTreeUploadsShareOneQuota) {
  quotas_["alice"] = 10000;
  auto raw = files_->Begin("alice", "raw.bin");
  ASSERT_TRUE((*raw)->Write(PseudoRandomBytes(8000, 24)).ok());
  ASSERT_TRUE((*raw)->Commit().ok());
  EXPECT_EQ(UploadAt("alice", "/t", PseudoRandomBytes(3000, 25)).status().code(),
            StatusCode::kQuotaExceeded);
  ASSERT_TRUE(UploadAt("alice", "/t", PseudoRandomBytes(2000, 26)).ok());
  // And the other way round.
  auto raw2 = files_->Begin("alice", "raw2.bin");
  ASSERT_TRUE(raw2.ok());
  EXPECT_EQ((*raw2)->Write("x").code(), StatusCode::kQuotaExceeded);
  auto usage = tree_->Usage("alice");
  EXPECT_EQ(usage->used_bytes, 10000);
  EXPECT_EQ(usage->files, 2);
}

TEST_F(TreeServiceTest, UsageIsUnlimitedWithoutAQuota) {
  auto usage = tree_->Usage("nobody-yet");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->used_bytes, 0);
  EXPECT_EQ(usage->quota_bytes, kUnlimitedQuota);
  EXPECT_EQ(usage->files, 0);
  EXPECT_EQ(usage->folders, 0);
}

// Ten uploads that together need more than the quota race to commit: the
// committed sum never exceeds it, and the losers leave no chunk behind.
TEST_F(TreeServiceTest, ConcurrentUploadsCannotTogetherExceedTheQuota) {
  constexpr int kThreads = 10;
  constexpr int kSize = 6000;
  quotas_["alice"] = 25000;  // room for 4
  std::atomic<int> committed{0}, rejected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto file =
          UploadAt("alice", "/race/f" + std::to_string(t), PseudoRandomBytes(kSize, 100 + t));
      if (file.ok()) {
        ++committed;
      } else {
        EXPECT_EQ(file.status().code(), StatusCode::kQuotaExceeded) << file.status().ToString();
        ++rejected;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(committed.load(), 4);
  EXPECT_EQ(rejected.load(), kThreads - 4);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 4 * kSize);
  EXPECT_EQ(Names("alice", "/race").size(), 4u);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

// Two replacements of one file may both stream what replacing it frees,
// but not twice that: the replaced file's bytes are credited once.
TEST_F(TreeServiceTest, ConcurrentReplacementsOfOneFileShareWhatItFrees) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAt("alice", "/f", PseudoRandomBytes(9000, 60)).ok());
  auto a = tree_->BeginUpload("alice", "/f");
  auto b = tree_->BeginUpload("alice", "/f");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->Write(PseudoRandomBytes(6000, 61)).ok());
  EXPECT_EQ((*b)->Write(PseudoRandomBytes(5000, 62)).code(), StatusCode::kQuotaExceeded)
      << "1000 left + 9000 freed once = 10000, 6000 of it held by a";
  ASSERT_TRUE((*a)->Commit().ok());
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 6000);
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

// ---- names and limits ----------------------------------------------------------

TEST_F(TreeServiceTest, NamesWithBidirectionalControlsAreRefusedWhereverTheyAreCreated) {
  const std::string rlo = "\xe2\x80\xae";  // U+202E
  const std::string lri = "\xe2\x81\xa6";  // U+2066
  ASSERT_TRUE(UploadAt("alice", "/ok.txt", "x").ok());
  EXPECT_EQ(tree_->MakeDirectory("alice", "/a" + rlo + "b").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->MakeDirectory("alice", "/clean/" + lri + "/deeper").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->BeginUpload("alice", "/invoice" + rlo + "fdp.exe").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->Move("alice", "/ok.txt", "/gpj." + rlo + "exe").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->BeginUploadPathLater("alice", "a" + rlo, -1, std::make_shared<LatePath>())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  LatePath late;
  EXPECT_EQ(late.Set("/x" + lri).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(late.has_value());
  EXPECT_EQ(Names("alice", "/"), Strings{"ok.txt"}) << "nothing was created";
  EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
}

TEST_F(TreeServiceTest, AnEntryStoredBeforeTheRuleCanStillBeListedMovedAndDeleted) {
  const std::string old_name = "old\xe2\x80\xae";
  db_->exec(
      "INSERT INTO vfs_entries(owner, parent, name, kind, modified)"
      " VALUES('alice', 0, '" +
      old_name + "', 'folder', 1)");
  EXPECT_TRUE(tree_->List("alice", "/" + old_name).ok());
  ASSERT_TRUE(tree_->Move("alice", "/" + old_name, "/renamed").ok());
  ASSERT_TRUE(tree_->Move("alice", "/renamed", "/renamed2").ok());
  db_->exec(
      "INSERT INTO vfs_entries(owner, parent, name, kind, modified)"
      " VALUES('alice', 0, '" +
      old_name + "', 'folder', 1)");
  EXPECT_TRUE(tree_->Delete("alice", "/" + old_name).ok());
  EXPECT_EQ(Names("alice", "/"), Strings{"renamed2/"});
}

// An owner may have at most limits_.max_entries files and folders.
class TreeEntryLimitTest : public TreeServiceTest {
 protected:
  TreeEntryLimitTest() { limits_.max_entries = 4; }
  int64_t Entries(const std::string& owner) {
    auto u = tree_->Usage(owner);
    EXPECT_TRUE(u.ok());
    return u->files + u->folders;
  }
};

TEST_F(TreeEntryLimitTest, MakeDirectoryPastTheLimitCreatesNothing) {
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/a/b/c").ok());
  auto refused = tree_->MakeDirectory("alice", "/a/x/y");
  EXPECT_EQ(refused.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_NE(refused.status().message().find("at most 4"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Names("alice", "/a"), Strings{"b/"}) << "not even /a/x";
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/a/x").ok()) << "the fourth fits";
  EXPECT_TRUE(tree_->MakeDirectory("alice", "/a/b/c").ok()) << "an existing folder adds none";
  EXPECT_EQ(Entries("alice"), 4);
  EXPECT_TRUE(tree_->MakeDirectory("bob", "/a/b/c/d").ok()) << "bob has his own limit";
}

TEST_F(TreeEntryLimitTest, FilesCountWithOrWithoutAPathAndAReplacementAddsNone) {
  ASSERT_TRUE(UploadAt("alice", "/d/f1", "1").ok());  // a folder and a file
  auto raw = files_->Begin("alice", "raw.bin");
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Write("r").ok());
  ASSERT_TRUE((*raw)->Commit().ok());
  ASSERT_TRUE(UploadAt("alice", "/d/f2", "2").ok());
  EXPECT_EQ(Entries("alice"), 4);
  const int chunk_files = ChunkFiles();

  // At the limit: a new file fails before any byte is stored, however it comes.
  EXPECT_EQ(tree_->BeginUpload("alice", "/d/f3").status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(files_->Begin("alice", "raw2.bin").status().code(), StatusCode::kQuotaExceeded);
  // A path that arrives after the bytes can only be checked at the commit.
  auto to = std::make_shared<LatePath>();
  auto late = tree_->BeginUploadPathLater("alice", "x", -1, to);
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE((*late)->Write(PseudoRandomBytes(5000, 70)).ok());
  ASSERT_TRUE(to->Set("/d/f3").ok());
  EXPECT_EQ((*late)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), chunk_files) << "the refused upload's chunks are gone";
  // Replacing a file adds no entry.
  ASSERT_TRUE(UploadAt("alice", "/d/f1", "new").ok());
  EXPECT_EQ(*Download("alice", "/d/f1"), "new");
  EXPECT_EQ(Entries("alice"), 4);
  // Deleting makes room again.
  ASSERT_TRUE(tree_->Delete("alice", "/d/f2").ok());
  EXPECT_TRUE(UploadAt("alice", "/d/f3", "3").ok());
}

TEST_F(TreeEntryLimitTest, AMoveThatCreatesParentsPastTheLimitIsRefused) {
  ASSERT_TRUE(UploadAt("alice", "/f", "1").ok());
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/a/b").ok());
  EXPECT_EQ(tree_->Move("alice", "/f", "/x/y/f").status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(Names("alice", "/"), (Strings{"a/", "f"}));
  ASSERT_TRUE(tree_->Move("alice", "/f", "/a/b/f").ok())
      << "a move into existing folders adds none";
  ASSERT_TRUE(tree_->Move("alice", "/a/b/f", "/x/f").ok()) << "one new parent: the fourth entry";
  EXPECT_EQ(Entries("alice"), 4);
}

// ---- isolation ---------------------------------------------------------------

TEST_F(TreeServiceTest, AnotherOwnerCannotSeeMoveDeleteOrResolveAnything) {
  const std::string data = PseudoRandomBytes(5000, 27);
  ASSERT_TRUE(UploadAt("alice", "/docs/secret.txt", data).ok());
  const StatusCode nf = StatusCode::kNotFound;
  EXPECT_TRUE(Names("bob", "/").empty());
  EXPECT_EQ(ListCode("bob", "/docs"), nf);
  EXPECT_EQ(ListCode("bob", "/docs/secret.txt"), nf);
  EXPECT_EQ(tree_->Resolve("bob", "/docs/secret.txt").status().code(), nf);
  EXPECT_EQ(tree_->Open("bob", "/docs/secret.txt").status().code(), nf);
  EXPECT_EQ(tree_->Move("bob", "/docs", "/mine").status().code(), nf);
  EXPECT_EQ(tree_->Move("bob", "/docs/secret.txt", "/mine").status().code(), nf);
  EXPECT_EQ(tree_->Delete("bob", "/docs").status().code(), nf);
  EXPECT_EQ(tree_->Delete("bob", "/docs/secret.txt").status().code(), nf);

  // Bob's own tree may use the same names without touching alice's.
  ASSERT_TRUE(tree_->MakeDirectory("bob", "/docs").ok());
  ASSERT_TRUE(UploadAt("bob", "/docs/secret.txt", "bob's").ok());
  ASSERT_TRUE(tree_->Delete("bob", "/docs").ok());
  EXPECT_EQ(Names("alice", "/docs"), Strings{"secret.txt"});
  EXPECT_TRUE(*Download("alice", "/docs/secret.txt") == data);
  EXPECT_EQ(tree_->Usage("bob")->files, 0);
  EXPECT_EQ(tree_->Usage("alice")->files, 1);
}

// ---- two connections ---------------------------------------------------------

// nexusd may open more than one connection to nexus.db; BEGIN IMMEDIATE must
// keep the quota check and the insert atomic across them too.
TEST(TreeStoreAcrossConnectionsTest, CommitsOnTwoConnectionsCannotTogetherExceedTheQuota) {
  TempDir dir;
  const std::string path = dir.path() + "/nexus.db";
  nexus::testing::FakeClock clock;
  std::vector<std::unique_ptr<SQLite::Database>> dbs;
  std::vector<std::unique_ptr<MetadataStore>> metas;
  std::vector<std::unique_ptr<TreeStore>> trees;
  for (int i = 0; i < 2; ++i) {
    auto db = OpenDatabase(path, StorageMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    dbs.push_back(std::move(*db));
    metas.push_back(std::make_unique<MetadataStore>(*dbs.back(), clock));
    trees.push_back(std::make_unique<TreeStore>(*metas.back()));
  }
  constexpr int kThreads = 6;
  constexpr int kCommitsPerThread = 10;
  constexpr int64_t kQuota = 1000;  // room for 10 of the 60 files of 100 bytes
  std::atomic<int> committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        const std::string id = "f" + std::to_string(t) + "-" + std::to_string(i);
        FileRecord f{id, "alice", id, 100, Sha256::HexDigest(id), 1, "Uploaded", 0};
        auto out =
            trees[t % 2]->CommitFileAt("/d/" + id, f, {{Sha256::HexDigest(id), 0, 100}}, kQuota);
        if (out.ok()) {
          ++committed;
        } else {
          EXPECT_EQ(out.status().code(), StatusCode::kQuotaExceeded) << out.status().ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(committed.load(), 10);
  EXPECT_EQ(*metas[0]->UsedBytes("alice"), kQuota);
  EXPECT_EQ(trees[1]->List("alice", "/d")->size(), 10u);
}

}  // namespace
}  // namespace nexus::daemon::storage
