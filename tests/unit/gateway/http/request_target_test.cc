#include "gateway/http/request_target.h"

#include <gtest/gtest.h>

namespace nexus::gateway {
namespace {

TEST(RequestTargetTest, SplitsPathSegmentsAndQuery) {
  Request r;
  ASSERT_TRUE(ParseRequestTarget("/api/fs/ls?path=%2Fdocuments%20x&flag&a=1+2", r).ok());
  EXPECT_EQ(r.target, "/api/fs/ls?path=%2Fdocuments%20x&flag&a=1+2");
  EXPECT_EQ(r.path, "/api/fs/ls");
  EXPECT_EQ(r.segments, (std::vector<std::string>{"api", "fs", "ls"}));
  ASSERT_EQ(r.query.size(), 3u);
  EXPECT_EQ(*r.QueryParam("path"), "/documents x");
  EXPECT_EQ(*r.QueryParam("flag"), "");
  EXPECT_EQ(*r.QueryParam("a"), "1 2");
  EXPECT_EQ(r.QueryParam("missing"), nullptr);
}

TEST(RequestTargetTest, KeepsEncodedSlashesInsideOneSegment) {
  Request r;
  ASSERT_TRUE(ParseRequestTarget("/api/files/a%2Fb/download", r).ok());
  EXPECT_EQ(r.path, "/api/files/a%2Fb/download");
  EXPECT_EQ(r.segments, (std::vector<std::string>{"api", "files", "a/b", "download"}));
}

TEST(RequestTargetTest, RootHasNoSegments) {
  Request r;
  ASSERT_TRUE(ParseRequestTarget("/", r).ok());
  EXPECT_TRUE(r.segments.empty());
}

TEST(RequestTargetTest, RejectsTargetsNotInOriginForm) {
  const char* cases[] = {"", "api/me", "http://host/api/me", "*", "/a b", "/%zz"};
  for (const char* target : cases) {
    Request r;
    Status s = ParseRequestTarget(target, r);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << target;
  }
}

}  // namespace
}  // namespace nexus::gateway
