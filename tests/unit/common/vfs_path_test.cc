#include "common/vfs_path.h"

#include <gtest/gtest.h>

#include <string>

namespace nexus {
namespace {

TEST(VfsPathTest, NormalisesGoodPaths) {
  struct Case {
    std::string in;
    std::string want;
  } cases[] = {
      {"/", "/"},
      {"//", "/"},
      {"/.", "/"},
      {"/./.", "/"},
      {"/a", "/a"},
      {"/a/", "/a"},
      {"/a//b", "/a/b"},
      {"///a///b///", "/a/b"},
      {"/a/./b", "/a/b"},
      {"/./a", "/a"},
      {"/a/.", "/a"},
      {"/documents/projects", "/documents/projects"},
      {"/docs/draft.txt", "/docs/draft.txt"},
      {"/.hidden", "/.hidden"},
      {"/a..b", "/a..b"},
      {"/...", "/..."},
      {"/..a", "/..a"},
      {"/a b/c d", "/a b/c d"},
      {"/%2e%2e", "/%2e%2e"},  // already URL-decoded by the gateway: a literal name
      {"/\xc3\xa9t\xc3\xa9", "/\xc3\xa9t\xc3\xa9"},
      {"/" + std::string(255, 'x'), "/" + std::string(255, 'x')},
      {"/a\\b", "/a\\b"},
  };
  for (const auto& tc : cases) {
    auto got = NormalizeVfsPath(tc.in);
    ASSERT_TRUE(got.ok()) << tc.in << ": " << got.status().ToString();
    EXPECT_EQ(*got, tc.want) << tc.in;
  }
}

TEST(VfsPathTest, RejectsBadPathsNamingTheProblem) {
  struct Case {
    std::string in;
    std::string reason;
  } cases[] = {
      {"", "empty"},
      {"a", "start with '/'"},
      {"a/b", "start with '/'"},
      {"./a", "start with '/'"},
      {"..", "start with '/'"},
      {"/..", "'..'"},
      {"/../etc/passwd", "'..'"},
      {"/a/../../b", "'..'"},
      {"/a/..", "'..'"},
      {"/a/../b", "'..'"},
      {"//..//", "'..'"},
      {std::string("/a\0b", 4), "control"},
      {"/a\nb", "control"},
      {"/a\rb", "control"},
      {"/a\tb", "control"},
      {"/a\x7f", "control"},
      {"/" + std::string(256, 'x'), "longer than 255"},
      {"/" + std::string(4096, 'a'), "longer than 4096"},
  };
  for (const auto& tc : cases) {
    auto got = NormalizeVfsPath(tc.in);
    ASSERT_FALSE(got.ok()) << tc.in;
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(got.status().message().find(tc.reason), std::string::npos)
        << tc.in << " -> " << got.status().message();
  }
}

TEST(VfsPathTest, SplitsParentsAndAncestry) {
  EXPECT_TRUE(SplitVfsPath("/").empty());
  EXPECT_EQ(SplitVfsPath("/a/b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(VfsParent("/a/b"), "/a");
  EXPECT_EQ(VfsParent("/a"), "/");
  EXPECT_EQ(VfsParent("/"), "/");
  EXPECT_TRUE(VfsIsSelfOrDescendant("/a", "/a"));
  EXPECT_TRUE(VfsIsSelfOrDescendant("/a/b", "/a"));
  EXPECT_TRUE(VfsIsSelfOrDescendant("/a/b", "/"));
  EXPECT_FALSE(VfsIsSelfOrDescendant("/ab", "/a"));
  EXPECT_FALSE(VfsIsSelfOrDescendant("/a", "/a/b"));
}

}  // namespace
}  // namespace nexus
