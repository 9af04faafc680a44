// The chunk store's file operations on a real temp directory: writes of
// more pieces than one writev takes, whole reads, a rename that keeps an
// existing target, and a batch fsync that says which paths failed.
#include "daemon/storage/chunk_file_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::TempDir;

std::string ReadBack(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string out(1 << 20, '\0');
  Result<size_t> n = ReadFull(fd.get(), out, path);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  out.resize(n.ok() ? *n : 0);
  return out;
}

TEST(ChunkFileIoTest, WriteAllWritesMorePiecesThanOneWritevTakesInOrder) {
  TempDir dir;
  const std::string path = dir.path() + "/f";
  std::vector<std::string> owned;
  std::string expected;
  for (int i = 0; i < IOV_MAX + 10; ++i) {
    owned.push_back(i % 3 == 0 ? "" : std::to_string(i) + ",");
    expected += owned.back();
  }
  std::vector<std::string_view> pieces(owned.begin(), owned.end());
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(WriteAll(fd.get(), pieces, path).ok());
  fd.Close();
  EXPECT_EQ(ReadBack(path), expected);
}

TEST(ChunkFileIoTest, RenameNoReplaceKeepsAnExistingTarget) {
  TempDir dir;
  const std::string from = dir.path() + "/from", to = dir.path() + "/to";
  for (const std::string& p : {from, to}) {
    Fd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    std::string_view bytes = p == from ? "new" : "old";
    ASSERT_TRUE(WriteAll(fd.get(), std::span(&bytes, 1), p).ok());
  }
  Result<bool> renamed = RenameNoReplace(from, to);
  ASSERT_TRUE(renamed.ok());
  EXPECT_FALSE(*renamed);
  EXPECT_EQ(ReadBack(to), "old");
  ASSERT_EQ(::unlink(to.c_str()), 0);
  renamed = RenameNoReplace(from, to);
  ASSERT_TRUE(renamed.ok());
  EXPECT_TRUE(*renamed);
  EXPECT_EQ(ReadBack(to), "new");
}

TEST(ChunkFileIoTest, FsyncAllSaysWhichPathsFailed) {
  TempDir dir;
  std::vector<std::string> paths;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(MakeDir(dir.path() + "/d" + std::to_string(i)).ok());
    paths.push_back(dir.path() + "/d" + std::to_string(i));
  }
  paths.insert(paths.begin() + 5, dir.path() + "/missing");
  std::vector<char> failed;
  Status s = FsyncAll(paths, &failed);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("missing"), std::string::npos) << s.ToString();
  ASSERT_EQ(failed.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(failed[i] != 0, i == 5) << paths[i];
  EXPECT_TRUE(FsyncAll({}, &failed).ok());
}

TEST(ChunkFileIoTest, MakeDirTellsWhetherItCreatedAndListDirectoryNamesEntries) {
  TempDir dir;
  Result<bool> first = MakeDir(dir.path() + "/a");
  Result<bool> again = MakeDir(dir.path() + "/a");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*again);
  std::vector<std::string> names;
  ASSERT_TRUE(ListDirectory(dir.path(), &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"a"});
  EXPECT_EQ(ListDirectory(dir.path() + "/none", &names).code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace nexus::daemon::storage
