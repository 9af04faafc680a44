#include "cli/remote_path.h"

#include <gtest/gtest.h>

namespace nexus::cli {
namespace {

TEST(RemotePathTest, NormalizesToAbsoluteWithoutTrailingSlash) {
  EXPECT_EQ(NormalizeRemote(""), "/");
  EXPECT_EQ(NormalizeRemote("/"), "/");
  EXPECT_EQ(NormalizeRemote("docs"), "/docs");
  EXPECT_EQ(NormalizeRemote("docs/"), "/docs");
  EXPECT_EQ(NormalizeRemote("//docs//a/"), "/docs/a");
}

TEST(RemotePathTest, JoinsSplitsAndNamesFolders) {
  EXPECT_EQ(JoinRemote("/", "a"), "/a");
  EXPECT_EQ(JoinRemote("/docs/", "a/b"), "/docs/a/b");
  EXPECT_EQ(RemoteParent("/a/b"), "/a");
  EXPECT_EQ(RemoteParent("/a"), "/");
  EXPECT_EQ(RemoteParent("/"), "/");
  EXPECT_EQ(RemoteBasename("/a/b"), "b");
  EXPECT_EQ(RemoteBasename("/"), "");
  EXPECT_TRUE(NamesFolder("docs/"));
  EXPECT_FALSE(NamesFolder("docs"));
}

}  // namespace
}  // namespace nexus::cli
