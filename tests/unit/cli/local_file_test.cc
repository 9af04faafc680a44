#include "cli/local_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace nexus::cli {
namespace {

size_t EntriesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(LocalFileTest, TempFileAppearsUnderTheTargetNameOnlyOnCommit) {
  testing::TempDir dir;
  const std::string target = dir / "out.bin";
  {
    Result<TempFileBeside> temp = TempFileBeside::Create(target);
    ASSERT_TRUE(temp.ok()) << temp.status().ToString();
    ASSERT_EQ(::write(temp->fd(), "hello", 5), 5);
    EXPECT_FALSE(std::filesystem::exists(target));
    ASSERT_TRUE(temp->Commit().ok());
  }
  EXPECT_EQ(std::filesystem::file_size(target), 5u);
  EXPECT_EQ(EntriesIn(dir.path()), 1u);
}

TEST(LocalFileTest, UncommittedTempFileIsRemoved) {
  testing::TempDir dir;
  {
    Result<TempFileBeside> temp = TempFileBeside::Create(dir / "out.bin");
    ASSERT_TRUE(temp.ok());
    ASSERT_EQ(::write(temp->fd(), "partial", 7), 7);
  }
  EXPECT_EQ(EntriesIn(dir.path()), 0u);
}

TEST(LocalFileTest, HashesFilesWithSha256) {
  testing::TempDir dir;
  std::ofstream(dir / "abc") << "abc";
  EXPECT_EQ(*Sha256OfFile(dir / "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(Sha256OfFile(dir / "missing").ok());
}

TEST(LocalFileTest, OpenForUploadRefusesFolders) {
  testing::TempDir dir;
  Result<OpenedFile> f = OpenForUpload(dir.path());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("folder"), std::string::npos);
}

}  // namespace
}  // namespace nexus::cli
