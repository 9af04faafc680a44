#include "common/private_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace nexus::daemon {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Sets the process umask for one scope.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(PrivateFilesTest, ADirectoryIsCreatedOwnerOnlyWhateverTheUmask) {
  testing::TempDir dir;
  Umask open_umask(0);
  const std::string data = dir.File("parent/data");
  ASSERT_TRUE(MakePrivateDirectory(data).ok());
  EXPECT_EQ(ModeOf(data), 0700);
  EXPECT_EQ(ModeOf(dir.File("parent")), 0777) << "parents are not ours to restrict";
}

TEST(PrivateFilesTest, AnExistingDirectoryLosesGroupAndOtherPermissions) {
  testing::TempDir dir;
  const std::string data = dir.File("data");
  ASSERT_EQ(::mkdir(data.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(data.c_str(), 0775), 0);
  ASSERT_TRUE(MakePrivateDirectory(data).ok());
  EXPECT_EQ(ModeOf(data), 0700);
  ASSERT_TRUE(MakePrivateDirectory(data).ok()) << "idempotent";
  EXPECT_EQ(ModeOf(data), 0700);
}

TEST(PrivateFilesTest, ASharedDirectoryIsRefusedAndLeftAlone) {
  testing::TempDir dir;
  const std::string shared = dir.File("tmp");
  ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  Status s = MakePrivateDirectory(shared);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("shared"), std::string::npos) << s.message();
  EXPECT_EQ(ModeOf(shared), 01777);
}

TEST(PrivateFilesTest, AFileWhereTheDirectoryShouldBeIsAnError) {
  testing::TempDir dir;
  const std::string file = dir.File("f");
  std::ofstream(file) << "x";
  EXPECT_FALSE(MakePrivateDirectory(file).ok());
  EXPECT_FALSE(MakePrivateDirectory("").ok());
}

TEST(PrivateFilesTest, AReadableFileIsMadeOwnerOnlyAndAMissingOneIsFine) {
  testing::TempDir dir;
  const std::string file = dir.File("f");
  std::ofstream(file) << "x";
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  ASSERT_TRUE(MakeFilePrivate(file).ok());
  EXPECT_EQ(ModeOf(file), 0600);
  EXPECT_TRUE(MakeFilePrivate(dir.File("missing")).ok());
  EXPECT_TRUE(SyncDirectory(dir.path()).ok());
}

}  // namespace
}  // namespace nexus::daemon
