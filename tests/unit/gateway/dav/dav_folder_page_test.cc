#include "gateway/dav/dav_folder_page.h"

#include <gtest/gtest.h>

namespace nexus::gateway::dav {
namespace {

daemonpb::DirEntry Entry(std::string name, std::string type, int64_t size) {
  daemonpb::DirEntry e;
  e.set_name(std::move(name));
  e.set_type(std::move(type));
  e.set_size(size);
  e.set_modified(1700000000);
  return e;
}

TEST(DavFolderPageTest, ListsEntriesWithEncodedLinksAndEscapedNames) {
  const std::string page =
      FolderPage("/dav", "/docs", {Entry("sub", "folder", 0), Entry("<b>&\".txt", "file", 42)});
  EXPECT_NE(page.find("<title>Index of /docs</title>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/dav/\">../</a>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/dav/docs/sub/\">sub/</a>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/dav/docs/%3Cb%3E%26%22.txt\">&lt;b&gt;&amp;&quot;.txt</a>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<td>42</td><td>Tue, 14 Nov 2023 22:13:20 GMT</td>"), std::string::npos);
  // Nothing the names bring can open a tag.
  EXPECT_EQ(page.find("<b>"), std::string::npos);
}

TEST(DavFolderPageTest, TheRootHasNoParentLinkAndNestedFoldersPointUpOne) {
  EXPECT_EQ(FolderPage("/dav", "/", {}).find("../"), std::string::npos);
  const std::string page = FolderPage("/remote.php/webdav", "/a/b", {});
  EXPECT_NE(page.find("<a href=\"/remote.php/webdav/a/\">../</a>"), std::string::npos);
}

}  // namespace
}  // namespace nexus::gateway::dav
