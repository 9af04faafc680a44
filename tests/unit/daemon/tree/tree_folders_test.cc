// TreeService: making, listing, deleting, moving and resolving folders and
// files, and that one owner never sees another's.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

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
  Result<std::string> got = ReadToEnd(**reader);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
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

std::vector<std::string> KeyOrderNames(const Result<std::vector<TreeEntry>>& entries) {
  std::vector<std::string> out;
  if (!entries.ok()) return {"error: " + entries.status().ToString()};
  for (const TreeEntry& e : *entries) {
    out.push_back(e.name + (e.kind == EntryKind::kFolder ? "/" : ""));
  }
  return out;
}

TEST_F(TreeServiceTest, ListInKeyOrderSortsAFolderAsItsNameAndASlashAndPagesAfterAKey) {
  // "a/" comes after "a-b" and "a.txt" in key order, though "a" comes first
  // by name: the order in which S3 lists the keys below them.
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/b/a").ok());
  for (const char* name : {"/b/a-b", "/b/a.txt", "/b/a0", "/b/a/x", "/b/B", "/b/c"}) {
    ASSERT_TRUE(UploadAt("alice", name, "x").ok()) << name;
  }
  EXPECT_EQ(KeyOrderNames(tree_->ListInKeyOrder("alice", "/b", "", 100)),
            (std::vector<std::string>{"B", "a-b", "a.txt", "a/", "a0", "c"}));
  EXPECT_EQ(KeyOrderNames(tree_->ListInKeyOrder("alice", "/b", "", 2)),
            (std::vector<std::string>{"B", "a-b"}));
  EXPECT_EQ(KeyOrderNames(tree_->ListInKeyOrder("alice", "/b", "a.txt", 2)),
            (std::vector<std::string>{"a/", "a0"}));
  // After a folder's key: past the folder; after its bare name: the folder.
  EXPECT_EQ(KeyOrderNames(tree_->ListInKeyOrder("alice", "/b", "a/", 100)),
            (std::vector<std::string>{"a0", "c"}));
  EXPECT_EQ(KeyOrderNames(tree_->ListInKeyOrder("alice", "/b", "a", 1)),
            (std::vector<std::string>{"a-b"}));
  EXPECT_EQ(KeyOrderNames(tree_->ListInKeyOrder("alice", "/b", "c", 100)),
            std::vector<std::string>{});
  auto files = tree_->ListInKeyOrder("alice", "/b", "", 100);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ((*files)[0].size, 1);
  EXPECT_FALSE((*files)[0].sha256.empty());
  // A file, a missing path or another owner's folder is no folder to page.
  EXPECT_EQ(tree_->ListInKeyOrder("alice", "/b/c", "", 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tree_->ListInKeyOrder("alice", "/none", "", 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tree_->ListInKeyOrder("bob", "/b", "", 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tree_->ListInKeyOrder("alice", "/b", "", 0).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::storage
