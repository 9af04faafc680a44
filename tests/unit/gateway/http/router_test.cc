#include "gateway/http/router.h"

#include <gtest/gtest.h>

#include "gateway/http/request_target.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

// Segments as the session would produce them from a target.
std::vector<std::string> Segments(std::string_view target) {
  Request r;
  EXPECT_TRUE(ParseRequestTarget(target, r).ok()) << target;
  return r.segments;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/api/files", {}, testing::Answer(200, "list"));
    router_.Add("GET", "/api/files/:id/download", {}, testing::Answer(200, "download"));
    router_.Add("DELETE", "/api/files/:id", {}, testing::Answer(200, "delete"));
    router_.Add("GET", "/api/files/:id", {}, testing::Answer(200, "get"));
    router_.Add("POST", "/api/fs/move", {BodyMode::kJson, true}, testing::Answer(200, "move"));
    router_.Add("GET", "/", {}, testing::Answer(200, "root"));
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralAndParameterPatterns) {
  struct Case {
    const char* method;
    const char* target;
    const char* pattern;
  } cases[] = {
      {"GET", "/api/files", "/api/files"},
      {"GET", "/api/files/abc/download", "/api/files/:id/download"},
      {"GET", "/api/files/abc", "/api/files/:id"},
      {"DELETE", "/api/files/abc", "/api/files/:id"},
      {"POST", "/api/fs/move", "/api/fs/move"},
      {"GET", "/", "/"},
      {"GET", "/api/files?x=1", "/api/files"},
  };
  for (const auto& c : cases) {
    RouteMatch m = router_.Match(c.method, Segments(c.target));
    ASSERT_EQ(m.kind, RouteMatch::Kind::kFound) << c.method << " " << c.target;
    EXPECT_EQ(m.route->pattern, c.pattern) << c.target;
    EXPECT_EQ(m.route->method, c.method);
  }
}

TEST_F(RouterTest, ExtractsPercentDecodedParameters) {
  RouteMatch m = router_.Match("GET", Segments("/api/files/a%20b%2Fc/download"));
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "a b/c");
}

TEST_F(RouterTest, KeepsRouteOptions) {
  RouteMatch m = router_.Match("POST", Segments("/api/fs/move"));
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->options.body, BodyMode::kJson);
  EXPECT_TRUE(m.route->options.authenticated);
}

TEST_F(RouterTest, UnknownPathsAreNotFound) {
  const char* cases[] = {"/api",        "/api/files/abc/download/more",
                         "/api/files/", "/api/files//download",
                         "/API/FILES",  "/nope"};
  for (const char* target : cases) {
    RouteMatch m = router_.Match("GET", Segments(target));
    EXPECT_EQ(m.kind, RouteMatch::Kind::kNotFound) << target;
    Response r = NoRouteResponse(m);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"error":"not found"})");
    EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");
  }
}

TEST_F(RouterTest, KnownPathWithOtherMethodIsMethodNotAllowedWithAllowHeader) {
  RouteMatch m = router_.Match("PUT", Segments("/api/files/abc"));
  ASSERT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "DELETE, GET");
  Response r = NoRouteResponse(m);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.Get("Allow"), "DELETE, GET");
  EXPECT_EQ(r.body, R"({"error":"method not allowed"})");

  EXPECT_EQ(router_.Match("GET", Segments("/api/fs/move")).allow, "POST");
}

TEST(RouterAllowTest, ListsEachMethodOnceWhenTwoPatternsMatch) {
  Router router;
  router.Add("GET", "/a/:x", {}, testing::Answer(200, ""));
  router.Add("GET", "/a/b", {}, testing::Answer(200, ""));
  router.Add("POST", "/a/b", {}, testing::Answer(200, ""));
  Request r;
  ASSERT_TRUE(ParseRequestTarget("/a/b", r).ok());
  RouteMatch m = router.Match("PATCH", r.segments);
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST_F(RouterTest, PrefixRouteTakesEveryMethodAtAndBelowItsPrefix) {
  router_.AddPrefix("/remote.php/webdav", {BodyMode::kStream, true}, testing::Answer(207, "dav"));
  struct Case {
    const char* method;
    const char* target;
  } cases[] = {
      {"PROPFIND", "/remote.php/webdav"},
      {"PROPFIND", "/remote.php/webdav/"},
      {"MKCOL", "/remote.php/webdav/a/b"},
      {"GET", "/remote.php/webdav/a%2Fb"},
  };
  for (const auto& c : cases) {
    RouteMatch m = router_.Match(c.method, Segments(c.target));
    ASSERT_EQ(m.kind, RouteMatch::Kind::kFound) << c.method << " " << c.target;
    EXPECT_TRUE(m.route->prefix);
    EXPECT_EQ(m.route->method, kAnyMethod);
  }
  EXPECT_EQ(router_.Match("GET", Segments("/remote.php")).kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router_.Match("GET", Segments("/remote.php/webdavx")).kind,
            RouteMatch::Kind::kNotFound);
}

TEST_F(RouterTest, ExactRoutesWinOverAPrefixRoute) {
  router_.AddPrefix("/api", {}, testing::Answer(200, "prefix"));
  RouteMatch exact = router_.Match("GET", Segments("/api/files"));
  ASSERT_EQ(exact.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(exact.route->pattern, "/api/files");
  // A path the exact routes know under other methods stays a 405.
  EXPECT_EQ(router_.Match("PUT", Segments("/api/files")).kind, RouteMatch::Kind::kMethodNotAllowed);
  RouteMatch other = router_.Match("GET", Segments("/api/other"));
  ASSERT_EQ(other.kind, RouteMatch::Kind::kFound);
  EXPECT_TRUE(other.route->prefix);
}

}  // namespace
}  // namespace nexus::gateway
