#include "gateway/dav/dav_path.h"

#include <gtest/gtest.h>

namespace nexus::gateway::dav {
namespace {

TEST(DavPathTest, TreePathDropsThePrefixAndEmptySegments) {
  struct Case {
    std::vector<std::string> segments;
    size_t prefix;
    const char* want;
  } cases[] = {
      {{"dav"}, 1, "/"},
      {{"dav", ""}, 1, "/"},
      {{"dav", "a", "b.txt"}, 1, "/a/b.txt"},
      {{"dav", "a", ""}, 1, "/a"},
      {{"remote.php", "webdav", "ü x"}, 2, "/ü x"},
  };
  for (const auto& c : cases) {
    Result<std::string> p = TreePathOf(c.segments, c.prefix);
    ASSERT_TRUE(p.ok()) << c.want;
    EXPECT_EQ(*p, c.want);
  }
}

TEST(DavPathTest, DotSegmentsNameTheFolderTheyAreInAndDotDotIsRefused) {
  EXPECT_EQ(*TreePathOf({"dav", ".", "a", ".", "b"}, 1), "/a/b");
  EXPECT_EQ(*TreePathOf({"dav", "."}, 1), "/");
  EXPECT_EQ(TreePathOf({"dav", "a", ".."}, 1).status().code(), StatusCode::kInvalidArgument);
  // Only whole segments: names that start with dots are names.
  EXPECT_EQ(*TreePathOf({"dav", ".hidden", "..x"}, 1), "/.hidden/..x");
}

TEST(DavPathTest, RefusesAnEncodedSlashOrNulInASegment) {
  EXPECT_EQ(TreePathOf({"dav", "a/b"}, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TreePathOf({"dav", std::string("a\0b", 3)}, 1).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(DavPathTest, DestinationAcceptsAbsoluteUrisAndPathsUnderEitherPrefix) {
  const std::string_view host = "127.0.0.1:8080";
  EXPECT_EQ(*DestinationTreePath("http://127.0.0.1:8080/dav/a%20b/c", host), "/a b/c");
  EXPECT_EQ(*DestinationTreePath("/remote.php/webdav/x/", host), "/x");
  EXPECT_EQ(*DestinationTreePath("/dav/%C3%BC", host), "/\xC3\xBC");
  EXPECT_EQ(*DestinationTreePath("/dav/a/./b/", host), "/a/b");
  EXPECT_EQ(DestinationTreePath("/api/files", host).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(DestinationTreePath("/dav/a%2Fb", host).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DestinationTreePath("/dav/a/../b", host).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DestinationTreePath("not a uri", host).status().code(), StatusCode::kInvalidArgument);
}

TEST(DavPathTest, ADestinationOnAnotherServerIsABadGateway) {
  EXPECT_EQ(DestinationTreePath("http://other.example/dav/x", "127.0.0.1:8080").status().code(),
            StatusCode::kUpstreamFailed);
  EXPECT_EQ(DestinationTreePath("http://127.0.0.1:9999/dav/x", "127.0.0.1:8080").status().code(),
            StatusCode::kUpstreamFailed);
  // Host names compare without case; without a Host header nothing is compared.
  EXPECT_EQ(*DestinationTreePath("http://LOCALHOST:8080/dav/x", "localhost:8080"), "/x");
  EXPECT_EQ(*DestinationTreePath("http://other.example/dav/x", ""), "/x");
}

TEST(DavPathTest, HrefsArePercentEncodedAndFoldersEndInASlash) {
  EXPECT_EQ(HrefOf("/dav", "/", true), "/dav/");
  EXPECT_EQ(HrefOf("/dav", "/a b/c#d.txt", false), "/dav/a%20b/c%23d.txt");
  EXPECT_EQ(HrefOf("/dav", "/docs", true), "/dav/docs/");
  EXPECT_EQ(HrefOf("/dav", "/\xC3\xBC", false), "/dav/%C3%BC");
  EXPECT_EQ(HrefOf("/dav", "/a%b&c", false), "/dav/a%25b%26c");
}

}  // namespace
}  // namespace nexus::gateway::dav
