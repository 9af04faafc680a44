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
