#include "gateway/s3/s3_listing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gateway/s3/s3_xml.h"

namespace nexus::gateway::s3 {
namespace {

std::vector<ObjectEntry> Keys(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::vector<ObjectEntry> out;
  for (auto& n : names) out.push_back(ObjectEntry{n, 1, 0, "\"e\""});
  return out;
}

// One page over `keys` (sorted bytewise), fed until the pager is complete.
ListPage ListKeys(const std::vector<ObjectEntry>& keys, const ListParams& params) {
  ListPager pager(params);
  for (const ObjectEntry& e : keys) {
    if (!pager.Add(e)) break;
  }
  return pager.Finish();
}

std::vector<std::string> KeysOf(const ListPage& p) {
  std::vector<std::string> out;
  for (const auto& e : p.contents) out.push_back(e.key);
  return out;
}

TEST(S3ListingTest, OrdersByUtf8BytesAndPagesByMaxKeys) {
  const auto keys = Keys({"b", "a", "\xc3\xa9", "Z", "a/b"});
  ListParams p;
  p.max_keys = 2;
  ListPage first = ListKeys(keys, p);
  EXPECT_EQ(KeysOf(first), (std::vector<std::string>{"Z", "a"}));
  EXPECT_TRUE(first.truncated);
  std::string after;
  ASSERT_TRUE(DecodeContinuationToken(EncodeContinuationToken(first.last), &after));
  p.after = after;
  ListPage second = ListKeys(keys, p);
  EXPECT_EQ(KeysOf(second), (std::vector<std::string>{"a/b", "b"}));
  EXPECT_TRUE(second.truncated);
  p.after = second.last;
  ListPage third = ListKeys(keys, p);
  EXPECT_EQ(KeysOf(third), (std::vector<std::string>{"\xc3\xa9"}));  // after every ASCII key
  EXPECT_FALSE(third.truncated);
}

TEST(S3ListingTest, GroupsByDelimiterBelowThePrefixAndResumesAfterAGroup) {
  const auto keys = Keys({"p/a", "p/d/1", "p/d/2", "p/e/1", "p/z", "q"});
  ListParams p;
  p.prefix = "p/";
  p.delimiter = "/";
  ListPage all = ListKeys(keys, p);
  EXPECT_EQ(KeysOf(all), (std::vector<std::string>{"p/a", "p/z"}));
  EXPECT_EQ(all.common_prefixes, (std::vector<std::string>{"p/d/", "p/e/"}));

  p.max_keys = 2;
  ListPage first = ListKeys(keys, p);
  EXPECT_EQ(KeysOf(first), (std::vector<std::string>{"p/a"}));
  EXPECT_EQ(first.common_prefixes, (std::vector<std::string>{"p/d/"}));
  EXPECT_TRUE(first.truncated);
  p.after = first.last;  // "p/d/": its keys are not listed again
  ListPage second = ListKeys(keys, p);
  EXPECT_EQ(second.common_prefixes, (std::vector<std::string>{"p/e/"}));
  EXPECT_EQ(KeysOf(second), (std::vector<std::string>{"p/z"}));
  EXPECT_FALSE(second.truncated);
}

TEST(S3ListingTest, RefusesATokenThatIsNotOurs) {
  std::string after;
  EXPECT_FALSE(DecodeContinuationToken("xyz", &after));
  EXPECT_FALSE(DecodeContinuationToken("0g", &after));
  EXPECT_TRUE(DecodeContinuationToken("", &after));
}

TEST(S3XmlTest, ErrorDocumentsCarryCodeMessageResourceAndRequestId) {
  Response r = ErrorResponse(MakeS3Error(404, "NoSuchKey", "no <key>"), "GET", "/b/k&", "rid");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/xml");
  EXPECT_NE(r.body.find("<Error><Code>NoSuchKey</Code><Message>no &lt;key&gt;</Message>"
                        "<Resource>/b/k&amp;</Resource><RequestId>rid</RequestId></Error>"),
            std::string::npos);
  EXPECT_TRUE(ErrorResponse(MakeS3Error(404, "NoSuchKey", ""), "HEAD", "/", "r").body.empty());
}

TEST(S3XmlTest, ListingsEncodeKeysWhenAskedTo) {
  ListEcho echo;
  echo.bucket = "b";
  echo.url_encoded = true;
  ListPage page;
  page.contents.push_back(ObjectEntry{"a b/\x01", 3, 0, "\"e\""});
  const std::string xml = ListObjectsXml(echo, page);
  EXPECT_NE(xml.find("<Key>a%20b/%01</Key>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<EncodingType>url</EncodingType>"), std::string::npos);
  EXPECT_NE(xml.find("<KeyCount>1</KeyCount>"), std::string::npos);
  EXPECT_NE(xml.find("<LastModified>1970-01-01T00:00:00.000Z</LastModified>"), std::string::npos);
}

}  // namespace
}  // namespace nexus::gateway::s3
