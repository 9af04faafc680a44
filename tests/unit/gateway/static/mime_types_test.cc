// The UI's MIME table: known extensions, case, and the safe default.
#include "gateway/static/mime_types.h"

#include <gtest/gtest.h>

namespace nexus::gateway {
namespace {

TEST(MimeTypesTest, NamesTheTypeOfEachExtensionTheUiUses) {
  struct Case {
    const char* name;
    const char* type;
  };
  const Case cases[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"js/app.js", "text/javascript; charset=utf-8"},
      {"/js/files/tree.mjs", "text/javascript; charset=utf-8"},
      {"css/app.CSS", "text/css; charset=utf-8"},
      {"icon.svg", "image/svg+xml"},
      {"favicon.ico", "image/x-icon"},
      {"manifest.webmanifest", "application/manifest+json"},
      {"a.tar.json", "application/json"},
      {"README", "application/octet-stream"},
      {".js", "application/octet-stream"},
      {"dir.js/file", "application/octet-stream"},
      {"payload.exe", "application/octet-stream"},
  };
  for (const auto& c : cases) EXPECT_EQ(MimeTypeFor(c.name), c.type) << c.name;
}

TEST(MimeTypesTest, CompressesTextButNotImages) {
  EXPECT_TRUE(IsCompressibleType("text/javascript; charset=utf-8"));
  EXPECT_TRUE(IsCompressibleType("image/svg+xml"));
  EXPECT_TRUE(IsCompressibleType("application/json"));
  EXPECT_FALSE(IsCompressibleType("image/png"));
  EXPECT_FALSE(IsCompressibleType("application/octet-stream"));
}

}  // namespace
}  // namespace nexus::gateway
