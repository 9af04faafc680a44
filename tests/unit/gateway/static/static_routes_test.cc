// The UI's routes through the real router and pipeline: "/" and each file,
// MIME types, ETag/304, gzip, the security headers, and that no request
// reaches anything but a loaded file (traversal, encoded dots, hidden files)
// or takes a path from the API.
#include "gateway/static/static_routes.h"

#include <gtest/gtest.h>

#include "common/memory_env.h"
#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::MakeRequest;
using testing::RunAwaitable;

class StaticRoutesTest : public ::testing::Test {
 protected:
  StaticRoutesTest() : pipeline_(router_, auth_, PipelineOptions{1024}) {
    Write("/web/index.html", "<!doctype html><title>Nexus</title>");
    std::string js;
    for (int i = 0; i < 100; ++i) js += "export const x" + std::to_string(i) + " = 1;\n";
    js_ = js;
    Write("/web/js/app.js", js);
    Write("/web/css/app.css", "body{}");
    Write("/web/.secret", "no");
    Write("/web/api/me", "shadow");
    Write("/web/healthz", "shadow");
    Write("/etc/passwd", "root:x:0:0");
    router_.Add("GET", "/api/me", RouteOptions{},
                [](Request&) { return testing::AnswerWith(200, R"({"me":1})"); });
    Result<StaticAssets> assets = StaticAssets::Load(env_, "/web");
    EXPECT_TRUE(assets.ok());
    assets_ = std::move(assets).value();
    registered_ = RegisterStaticRoutes(router_, assets_);
  }

  void Write(const std::string& path, const std::string& data) {
    ASSERT_TRUE(env_.MakeDirs(path.substr(0, path.rfind('/')), 0755).ok());
    ASSERT_TRUE(env_.WriteFileAtomically(path, data, 0644, WriteMode::kReplace).ok());
  }

  Response Get(const std::string& target, Headers headers = Headers(), std::string method = "GET") {
    last_ = MakeRequest(std::move(method), "", std::move(headers));
    return RunAwaitable(pipeline_.Handle(last_, target));
  }

  MemoryEnv env_;
  StaticAssets assets_;
  std::string js_;
  int registered_ = 0;
  testing::FakeAuthClient auth_;
  Router router_;
  Pipeline pipeline_;
  Request last_;
};

TEST_F(StaticRoutesTest, ServesIndexAtTheRootAndEachFileWithItsType) {
  // "/", index.html, app.js, app.css: the API's and the hidden paths are not files.
  EXPECT_EQ(registered_, 4);
  Response root = Get("/");
  ASSERT_EQ(root.status, 200);
  EXPECT_EQ(root.body, "<!doctype html><title>Nexus</title>");
  EXPECT_EQ(root.headers.Get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Get("/index.html").body, root.body);
  Response js = Get("/js/app.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.headers.Get("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, js_);
  EXPECT_EQ(Get("/css/app.css").headers.Get("Content-Type"), "text/css; charset=utf-8");
}

TEST_F(StaticRoutesTest, EveryAnswerCarriesTheSecurityHeaders) {
  for (const char* path : {"/", "/js/app.js"}) {
    Response r = Get(path);
    const std::string_view csp = r.headers.Get("Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string_view::npos) << path;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string_view::npos);
    EXPECT_NE(csp.find("default-src 'none'"), std::string_view::npos);
    EXPECT_EQ(csp.find("unsafe-inline"), std::string_view::npos);
    EXPECT_EQ(csp.find("unsafe-eval"), std::string_view::npos);
    EXPECT_EQ(r.headers.Get("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.headers.Get("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(r.headers.Get("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.headers.Get("Cache-Control"), "no-cache");
  }
}

TEST_F(StaticRoutesTest, AMatchingIfNoneMatchIs304WithoutABody) {
  Response first = Get("/js/app.js");
  const std::string etag(first.headers.Get("ETag"));
  ASSERT_FALSE(etag.empty());
  const std::string matching[] = {etag, "W/" + etag, "\"other\", " + etag, "*"};
  for (const std::string& inm : matching) {
    Headers h;
    h.Add("If-None-Match", inm);
    Response r = Get("/js/app.js", h);
    EXPECT_EQ(r.status, 304) << inm;
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.headers.Get("ETag"), etag);
  }
  Headers stale;
  stale.Add("If-None-Match", "\"0123\"");
  EXPECT_EQ(Get("/js/app.js", stale).status, 200);
}

TEST_F(StaticRoutesTest, SendsTheGzipCopyOnlyWhenTheClientAcceptsIt) {
  struct Case {
    const char* accept;
    bool gzip;
  };
  const Case cases[] = {
      {"", false},         {"gzip", true},      {"br, gzip;q=0.5", true},
      {"GZIP", true},      {"gzip;q=0", false}, {"gzip; q=0.000", false},
      {"identity", false}, {"*", true},         {"deflate, br", false},
  };
  for (const auto& c : cases) {
    Headers h;
    if (*c.accept) h.Add("Accept-Encoding", c.accept);
    Response r = Get("/js/app.js", h);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.Get("Vary"), "Accept-Encoding");
    EXPECT_EQ(r.headers.Has("Content-Encoding"), c.gzip) << c.accept;
    if (c.gzip) {
      EXPECT_EQ(r.headers.Get("Content-Encoding"), "gzip");
      EXPECT_LT(r.body.size(), js_.size());
    } else {
      EXPECT_EQ(r.body, js_) << c.accept;
    }
  }
}

TEST_F(StaticRoutesTest, NothingOutsideTheLoadedFilesIsReachable) {
  const char* cases[] = {
      "/../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/js/..%2f..%2fetc%2fpasswd",
      "/js/../../etc/passwd",
      "/.secret",
      "/%2esecret",
      "/js/",
      "/js",
      "/index.html/",
      "//etc/passwd",
      "/js/app.js%00.html",
  };
  for (const char* target : cases) {
    Response r = Get(target);
    EXPECT_TRUE(r.status == 404 || r.status == 400) << target << " " << r.status;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << target;
  }
}

TEST_F(StaticRoutesTest, ApiPathsKeepTheirRoutesAndFilesAnswerOnlyGet) {
  Response me = Get("/api/me");
  EXPECT_EQ(me.body, R"({"me":1})");
  EXPECT_EQ(Get("/healthz").status, 404);
  Response post = Get("/js/app.js", Headers(), "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers.Get("Allow"), "GET");
}

}  // namespace
}  // namespace nexus::gateway
