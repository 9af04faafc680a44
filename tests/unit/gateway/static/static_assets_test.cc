// Loading the UI's files: what is served and what is left out (hidden
// files, symlinks that could lead outside the root), ETags, gzip copies and
// the limits that keep a wrong root from filling memory.
#include "gateway/static/static_assets.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "common/memory_env.h"

namespace nexus::gateway {
namespace {

std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

class StaticAssetsTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& data) {
    const std::string dir = path.substr(0, path.rfind('/'));
    ASSERT_TRUE(env_.MakeDirs(dir, 0755).ok());
    ASSERT_TRUE(env_.WriteFileAtomically(path, data, 0644, WriteMode::kReplace).ok());
  }

  MemoryEnv env_;
};

TEST_F(StaticAssetsTest, ServesRegularFilesUnderTheirUrlPaths) {
  Write("/srv/web/index.html", "<!doctype html>");
  Write("/srv/web/js/app.js", "export {}");
  Write("/srv/web/js/files/tree.js", "export {}");
  Result<StaticAssets> assets = StaticAssets::Load(env_, "/srv/web/");
  ASSERT_TRUE(assets.ok()) << assets.status().ToString();
  ASSERT_EQ(assets->assets().size(), 3u);
  const StaticAsset* app = assets->Find("/js/app.js");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(app->body, "export {}");
  EXPECT_NE(assets->Find("/js/files/tree.js"), nullptr);
  EXPECT_NE(assets->Find("/index.html"), nullptr);
  EXPECT_EQ(assets->Find("/js"), nullptr);
  EXPECT_EQ(assets->Find("js/app.js"), nullptr);
}

TEST_F(StaticAssetsTest, LeavesOutHiddenFilesSymlinksAndUnrequestableNames) {
  Write("/srv/web/index.html", "ok");
  Write("/srv/web/.env", "SECRET=1");
  Write("/srv/web/.git/config", "[core]");
  Write("/srv/web/:id", "x");
  Write("/srv/web/a b.js", "x");
  Write("/etc/passwd", "root:x:0:0");
  ASSERT_TRUE(env_.Symlink("/etc/passwd", "/srv/web/passwd").ok());
  ASSERT_TRUE(env_.Symlink("/etc", "/srv/web/etc").ok());
  Result<StaticAssets> assets = StaticAssets::Load(env_, "/srv/web");
  ASSERT_TRUE(assets.ok()) << assets.status().ToString();
  ASSERT_EQ(assets->assets().size(), 1u);
  EXPECT_EQ(assets->assets()[0].url_path, "/index.html");
}

TEST_F(StaticAssetsTest, EtagsFollowTheBytes) {
  Write("/w/a.js", "one");
  Write("/w/b.js", "one");
  Write("/w/c.js", "two");
  Result<StaticAssets> assets = StaticAssets::Load(env_, "/w");
  ASSERT_TRUE(assets.ok());
  const std::string& a = assets->Find("/a.js")->etag;
  EXPECT_EQ(a.size(), 34u);
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
  EXPECT_EQ(a, assets->Find("/b.js")->etag);
  EXPECT_NE(a, assets->Find("/c.js")->etag);
}

TEST_F(StaticAssetsTest, KeepsAGzipCopyOfTextThatShrinks) {
  std::string css;
  for (int i = 0; i < 200; ++i) css += ".row { display: flex; }\n";
  Write("/w/app.css", css);
  Write("/w/tiny.css", "a{}");
  Write("/w/logo.png", std::string(4096, 'x'));
  Result<StaticAssets> assets = StaticAssets::Load(env_, "/w");
  ASSERT_TRUE(assets.ok());
  const StaticAsset* big = assets->Find("/app.css");
  ASSERT_FALSE(big->gzip_body.empty());
  EXPECT_LT(big->gzip_body.size(), css.size() / 10);
  EXPECT_EQ(Gunzip(big->gzip_body), css);
  EXPECT_TRUE(assets->Find("/tiny.css")->gzip_body.empty());
  EXPECT_TRUE(assets->Find("/logo.png")->gzip_body.empty());
}

TEST_F(StaticAssetsTest, AWrongRootOrOneTooBigIsAnError) {
  EXPECT_FALSE(StaticAssets::Load(env_, "/missing").ok());
  Write("/w/a.js", std::string(100, 'a'));
  Write("/w/b.js", std::string(100, 'b'));
  StaticAssetLimits small_file;
  small_file.max_file_bytes = 50;
  EXPECT_FALSE(StaticAssets::Load(env_, "/w", small_file).ok());
  StaticAssetLimits small_total;
  small_total.max_total_bytes = 150;
  EXPECT_FALSE(StaticAssets::Load(env_, "/w", small_total).ok());
  StaticAssetLimits few;
  few.max_files = 1;
  EXPECT_FALSE(StaticAssets::Load(env_, "/w", few).ok());
  EXPECT_TRUE(StaticAssets::Load(env_, "/w").ok());
}

}  // namespace
}  // namespace nexus::gateway
