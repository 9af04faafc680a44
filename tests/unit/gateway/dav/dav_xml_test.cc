#include "gateway/dav/dav_xml.h"

#include <gtest/gtest.h>

namespace nexus::gateway::dav {
namespace {

TEST(DavXmlTest, AnEmptyPropfindIsAllprop) {
  Result<PropfindBody> p = ParsePropfind("");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, PropfindKind::kAllProp);
}

TEST(DavXmlTest, PropfindNamesPropertiesByNamespaceNotPrefix) {
  Result<PropfindBody> p =
      ParsePropfind(R"(<?xml version="1.0"?><x:propfind xmlns:x="DAV:" xmlns:e="urn:example">)"
                    R"(<x:prop><x:getetag/><e:color/><plain xmlns=""/></x:prop></x:propfind>)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->kind, PropfindKind::kProp);
  ASSERT_EQ(p->props.size(), 3u);
  EXPECT_EQ(p->props[0], Dav("getetag"));
  EXPECT_EQ(p->props[1], (QName{"urn:example", "color"}));
  EXPECT_EQ(p->props[2], (QName{"", "plain"}));
}

TEST(DavXmlTest, RefusesMalformedXmlDtdsAndTheWrongRoot) {
  const char* bad[] = {
      "<D:propfind xmlns:D=\"DAV:\"><D:prop>",
      "<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
      "<D:propfind xmlns:D=\"DAV:\"><D:prop><b>&b;</b></D:prop></D:propfind>",
      "<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><D:propfind xmlns:D=\"DAV:\"/>",
      "<propfind><prop/></propfind>",
      "<D:propfind xmlns:D=\"DAV:\"><D:prop><b:x xmlns:b=\"\"/></D:prop></D:propfind>",
      "<D:propfind xmlns:D=\"DAV:\"/>",
  };
  for (const char* body : bad) {
    EXPECT_EQ(ParsePropfind(body).status().code(), StatusCode::kInvalidArgument) << body;
  }
}

TEST(DavXmlTest, PropertyUpdateKeepsEachValueAsStandaloneXml) {
  Result<std::vector<PropUpdate>> u =
      ParsePropertyUpdate(R"(<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>)"
                          R"(<Z:author><Z:name>Ann</Z:name></Z:author></D:prop></D:set>)"
                          R"(<D:remove><D:prop><Z:old/></D:prop></D:remove></D:propertyupdate>)");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  ASSERT_EQ(u->size(), 2u);
  EXPECT_FALSE((*u)[0].remove);
  EXPECT_EQ((*u)[0].name, (QName{"urn:z", "author"}));
  EXPECT_NE((*u)[0].value.find("xmlns:Z=\"urn:z\""), std::string::npos) << (*u)[0].value;
  EXPECT_NE((*u)[0].value.find("<Z:name>Ann</Z:name>"), std::string::npos);
  EXPECT_TRUE((*u)[1].remove);
  EXPECT_EQ((*u)[1].name, (QName{"urn:z", "old"}));
}

TEST(DavXmlTest, WriterDeclaresDavOnceAndForeignNamespacesWhereUsed) {
  XmlWriter w;
  w.Open(Dav("multistatus"));
  w.Open(Dav("response"));
  w.Leaf(Dav("href"), "/dav/a&b");
  w.Empty({"urn:z", "color"});
  std::string xml = w.Finish();
  EXPECT_NE(xml.find("<D:multistatus xmlns:D=\"DAV:\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<D:href>/dav/a&amp;b</D:href>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<X:color xmlns:X=\"urn:z\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("</D:multistatus>"), std::string::npos) << xml;
}

TEST(DavXmlTest, ErrorBodyNamesTheCondition) {
  EXPECT_NE(ErrorBody("propfind-finite-depth").find("<D:propfind-finite-depth/>"),
            std::string::npos);
}

}  // namespace
}  // namespace nexus::gateway::dav
