#include "cli/config_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "fake_env.h"
#include "support/temp_dir.h"

namespace nexus::cli {
namespace {

TEST(ConfigFileTest, DefaultPathFollowsXdgConfigHomeThenHome) {
  EXPECT_EQ(*DefaultConfigPath(FakeEnv({{"HOME", "/home/a"}})),
            "/home/a/.config/nexus/config.toml");
  EXPECT_EQ(*DefaultConfigPath(FakeEnv({{"HOME", "/home/a"}, {"XDG_CONFIG_HOME", "/x"}})),
            "/x/nexus/config.toml");
  EXPECT_FALSE(DefaultConfigPath(FakeEnv({})).ok());
}

TEST(ConfigFileTest, MissingFileIsAnEmptyConfig) {
  testing::TempDir dir;
  Result<CliConfig> c = LoadConfig(dir / "none.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->server.empty());
  EXPECT_TRUE(c->token.empty());
}

TEST(ConfigFileTest, SavedConfigReadsBackAndIsOwnerOnly) {
  testing::TempDir dir;
  const std::string path = dir / "sub/nexus/config.toml";
  CliConfig c{"http://127.0.0.1:9000", "tok\"en", "alice"};
  ASSERT_TRUE(SaveConfig(path, c).ok());
  Result<CliConfig> back = LoadConfig(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->server, c.server);
  EXPECT_EQ(back->token, c.token);
  EXPECT_EQ(back->username, c.username);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / "sub/nexus").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(ConfigFileTest, ReplacingAWiderFileLeavesItOwnerOnly) {
  testing::TempDir dir;
  const std::string path = dir / "config.toml";
  std::ofstream(path) << "server = \"x\"\n";
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(SaveConfig(path, CliConfig{"x", "secret", "a"}).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ConfigFileTest, MalformedFileIsAnErrorNamingIt) {
  Result<CliConfig> c = ConfigFromToml("server = ", "/some/config.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/some/config.toml"), std::string::npos);
}

}  // namespace
}  // namespace nexus::cli
