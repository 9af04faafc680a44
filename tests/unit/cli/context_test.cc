#include "cli/context.h"

#include <gtest/gtest.h>

#include <map>

#include "fake_env.h"

namespace nexus::cli {
namespace {

TEST(ContextTest, ServerFlagBeatsEnvironmentBeatsFileBeatsDefault) {
  CliConfig file{"http://127.0.0.1:3", "", ""};
  auto env = FakeEnv({{"NEXUS_SERVER", "127.0.0.1:2"}});
  EXPECT_EQ(ResolveServer("http://127.0.0.1:1/", env, file), "http://127.0.0.1:1");
  EXPECT_EQ(ResolveServer("", env, file), "http://127.0.0.1:2");
  EXPECT_EQ(ResolveServer("", FakeEnv({}), file), "http://127.0.0.1:3");
  EXPECT_EQ(ResolveServer("", FakeEnv({}), CliConfig{}), kDefaultServer);
}

TEST(ContextTest, TokenFromEnvironmentBeatsConfigFile) {
  CliConfig file{"", "from-file", ""};
  EXPECT_EQ(ResolveToken(FakeEnv({{"NEXUS_TOKEN", "from-env"}}), file), "from-env");
  EXPECT_EQ(ResolveToken(FakeEnv({}), file), "from-file");
  EXPECT_EQ(ResolveToken(FakeEnv({{"NEXUS_TOKEN", ""}}), file), "from-file");
}

}  // namespace
}  // namespace nexus::cli
