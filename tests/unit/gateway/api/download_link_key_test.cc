// The download link key file on a real file system: created 0600 once and
// then shared (also by processes starting at the same moment), refused when
// too open or the wrong size.
#include "gateway/api/download_link_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>
#include <vector>

#include "gateway/api/download_link.h"
#include "support/temp_dir.h"

namespace nexus::gateway {
namespace {

class DownloadLinkKeyTest : public ::testing::Test {
 protected:
  void WriteKeyFile(const std::string& path, const std::string& bytes, mode_t mode) {
    std::ofstream(path, std::ios::binary) << bytes;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  PosixEnv env_;
  testing::TempDir dir_{"nexus-link-key"};
};

TEST_F(DownloadLinkKeyTest, CreatesTheKeyWithMode0600AndItsDirectories) {
  const std::string path = dir_ / "a/b/download-link.key";
  auto key = LoadOrCreateDownloadLinkKey(env_, path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->size(), DownloadLinks::kKeyBytes);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(static_cast<size_t>(st.st_size), DownloadLinks::kKeyBytes);
  ASSERT_EQ(::stat((dir_ / "a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(DownloadLinkKeyTest, EveryLaterLoadReadsTheSameKey) {
  const std::string path = dir_ / "download-link.key";
  auto first = LoadOrCreateDownloadLinkKey(env_, path);
  auto second = LoadOrCreateDownloadLinkKey(env_, path);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
  auto other = LoadOrCreateDownloadLinkKey(env_, dir_ / "other.key");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*first, *other);
}

TEST_F(DownloadLinkKeyTest, GatewaysStartingTogetherAllGetTheOneKeyWritten) {
  const std::string path = dir_ / "download-link.key";
  constexpr int kStarters = 8;
  std::vector<Result<std::string>> keys(kStarters, Result<std::string>(InternalError("unset")));
  std::vector<std::thread> starters;
  for (int i = 0; i < kStarters; ++i) {
    starters.emplace_back([&, i] {
      PosixEnv env;
      keys[i] = LoadOrCreateDownloadLinkKey(env, path);
    });
  }
  for (auto& t : starters) t.join();
  for (const auto& key : keys) {
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(*key, *keys[0]);
  }
  auto on_disk = env_.ReadFile(path, 4096);
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(*on_disk, *keys[0]);
  // No temp file of a loser is left beside it.
  auto names = env_.ListDir(dir_.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 1u);
}

TEST_F(DownloadLinkKeyTest, AKeyWrittenByAnotherGatewayIsUsedAsItIs) {
  const std::string path = dir_ / "download-link.key";
  const std::string mine(DownloadLinks::kKeyBytes, 'k');
  WriteKeyFile(path, mine, 0600);
  auto key = LoadOrCreateDownloadLinkKey(env_, path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*key, mine);
  // A stricter mode is fine too.
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadOrCreateDownloadLinkKey(env_, path).ok());
}

TEST_F(DownloadLinkKeyTest, RefusesAKeyWhoseModeIsWiderThan0600) {
  const std::string path = dir_ / "download-link.key";
  for (mode_t mode : {0640, 0604, 0660, 0644, 0700, 04600}) {
    WriteKeyFile(path, std::string(DownloadLinks::kKeyBytes, 'k'), mode);
    auto key = LoadOrCreateDownloadLinkKey(env_, path);
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos);
  }
  WriteKeyFile(path, std::string(DownloadLinks::kKeyBytes, 'k'), 0644);
  EXPECT_NE(LoadOrCreateDownloadLinkKey(env_, path).status().message().find("mode 0644"),
            std::string::npos);
}

TEST_F(DownloadLinkKeyTest, RefusesAKeyOfTheWrongLength) {
  const std::string path = dir_ / "download-link.key";
  for (size_t size : {size_t{0}, size_t{16}, DownloadLinks::kKeyBytes - 1,
                      DownloadLinks::kKeyBytes + 1, size_t{64}}) {
    WriteKeyFile(path, std::string(size, 'k'), 0600);
    auto key = LoadOrCreateDownloadLinkKey(env_, path);
    ASSERT_FALSE(key.ok()) << size;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(key.status().message().find("not 32"), std::string::npos) << key.status().message();
  }
}

TEST_F(DownloadLinkKeyTest, AnUnreadablePathIsAnError) {
  // A directory where the file should be: neither read nor replaced.
  const std::string path = dir_ / "download-link.key";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  EXPECT_FALSE(LoadOrCreateDownloadLinkKey(env_, path).ok());
}

}  // namespace
}  // namespace nexus::gateway
