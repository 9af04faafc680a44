#include "auth/file_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/auth_temp_dir.h"

namespace nexus::auth {
namespace {

class FileUtilTest : public ::testing::Test {
 protected:
  size_t EntriesInDir() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_.path())) ++n;
    return n;
  }
  nexus::testing::AuthTempDir dir_;
};

TEST_F(FileUtilTest, WritesFileWithPermissionsAndReadsItBack) {
  const std::string path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomically(path, "hello", 0600, WriteMode::kNoReplace).ok());
  auto got = ReadSmallFile(path, 100);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->data, "hello");
  EXPECT_EQ(got->perms, 0600u);
  EXPECT_EQ(EntriesInDir(), 1u);  // no temp file left
}

TEST_F(FileUtilTest, MakesPrivateDirectoriesWhateverTheUmask) {
  const std::string deep = dir_ / "a/b/c";
  ASSERT_EQ(::mkdir((dir_ / "a").c_str(), 0755), 0);  // an existing parent stays as it is
  const mode_t old_umask = ::umask(0);
  Status s = MakePrivateDirs(deep);
  ::umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& [path, mode] :
       {std::pair{dir_ / "a", 0755u}, std::pair{dir_ / "a/b", 0700u}, std::pair{deep, 0700u}}) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << path;
    EXPECT_EQ(st.st_mode & 0777, mode) << path;
  }
  EXPECT_TRUE(MakePrivateDirs(deep).ok());  // idempotent
  EXPECT_TRUE(MakePrivateDirs(deep + "/").ok());
}

TEST_F(FileUtilTest, MakePrivateDirsRefusesAFileInTheWay) {
  const std::string file = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomically(file, "x", 0600, WriteMode::kNoReplace).ok());
  Status s = MakePrivateDirs(file + "/sub");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find(file), std::string::npos) << s.ToString();
}

TEST_F(FileUtilTest, NoReplaceKeepsTheExistingFile) {
  const std::string path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomically(path, "first", 0600, WriteMode::kNoReplace).ok());
  Status s = WriteFileAtomically(path, "second", 0600, WriteMode::kNoReplace);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadSmallFile(path, 100)->data, "first");
  EXPECT_EQ(EntriesInDir(), 1u);
}

TEST_F(FileUtilTest, ReplaceOverwrites) {
  const std::string path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomically(path, "first", 0600, WriteMode::kReplace).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second", 0600, WriteMode::kReplace).ok());
  EXPECT_EQ(ReadSmallFile(path, 100)->data, "second");
  EXPECT_EQ(EntriesInDir(), 1u);
}

TEST_F(FileUtilTest, ReadReportsMissingAndOversizedFiles) {
  EXPECT_EQ(ReadSmallFile(dir_ / "missing", 100).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(
      WriteFileAtomically(dir_ / "big", std::string(101, 'x'), 0600, WriteMode::kReplace).ok());
  EXPECT_EQ(ReadSmallFile(dir_ / "big", 100).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FileUtilTest, WriteIntoMissingDirectoryFailsWithThePath) {
  Status s = WriteFileAtomically(dir_ / "no/such/f", "x", 0600, WriteMode::kReplace);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no/such"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace nexus::auth
