#include "gateway/s3/s3_metadata.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace nexus::gateway::s3 {
namespace {

ObjectMetadata Parsed(const Headers& h) {
  std::variant<ObjectMetadata, S3Error> m = MetadataOfRequest(h);
  EXPECT_TRUE(std::holds_alternative<ObjectMetadata>(m));
  return std::holds_alternative<ObjectMetadata>(m) ? std::get<ObjectMetadata>(m) : ObjectMetadata{};
}

TEST(S3MetadataTest, KeepsRepresentationHeadersAndUserMetadataLowercased) {
  Headers h;
  h.Add("Content-Type", "text/plain; charset=utf-8");
  h.Add("X-Amz-Meta-Colour", "blue & <green>");
  h.Add("x-amz-meta-", "a name-less field is no metadata");
  h.Add("Authorization", "AWS4-HMAC-SHA256 ...");
  h.Add("Cache-Control", "max-age=60");
  const ObjectMetadata m = Parsed(h);
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[0],
            std::make_pair(std::string("Content-Type"), std::string("text/plain; charset=utf-8")));
  EXPECT_EQ(m.headers[1].first, "Cache-Control");
  EXPECT_EQ(m.headers[2],
            std::make_pair(std::string("x-amz-meta-colour"), std::string("blue & <green>")));
  ASSERT_NE(m.content_type(), nullptr);
  EXPECT_EQ(*m.content_type(), "text/plain; charset=utf-8");
}

TEST(S3MetadataTest, RoundTripsThroughItsPropertyValue) {
  Headers h;
  h.Add("Content-Type", "application/x-\"odd\"");
  h.Add("x-amz-meta-note", "\xc3\xa9t\xc3\xa9 'quoted' <b>");
  const ObjectMetadata m = Parsed(h);
  const std::string value = EncodeMetadata(m);
  EXPECT_TRUE(value.starts_with("<s3:metadata xmlns:s3=\"urn:nexus:s3\">")) << value;
  std::optional<ObjectMetadata> back = DecodeMetadata(value);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->headers, m.headers);
  EXPECT_TRUE(DecodeMetadata(EncodeMetadata(ObjectMetadata{}))->empty());
}

TEST(S3MetadataTest, AValueSomeoneElseWroteIsNotMetadata) {
  EXPECT_FALSE(DecodeMetadata("<x:metadata xmlns:x=\"urn:other\"/>").has_value());
  EXPECT_FALSE(DecodeMetadata("not xml").has_value());
  EXPECT_FALSE(DecodeMetadata("<!DOCTYPE a [<!ENTITY e \"x\">]><s3:metadata "
                              "xmlns:s3=\"urn:nexus:s3\"/>")
                   .has_value());
}

TEST(S3MetadataTest, RefusesUserMetadataOverTwoKilobytesAndNonUtf8Values) {
  Headers big;
  big.Add("x-amz-meta-a", std::string(kMaxUserMetadataBytes, 'v'));
  auto too_big = MetadataOfRequest(big);
  ASSERT_TRUE(std::holds_alternative<S3Error>(too_big));
  EXPECT_EQ(std::get<S3Error>(too_big).code, "MetadataTooLarge");
  EXPECT_EQ(std::get<S3Error>(too_big).http_status, 400);

  Headers exact;
  exact.Add("x-amz-meta-a", std::string(kMaxUserMetadataBytes - 1, 'v'));
  EXPECT_TRUE(std::holds_alternative<ObjectMetadata>(MetadataOfRequest(exact)));

  Headers bad;
  bad.Add("x-amz-meta-a", "\xff\xfe");
  auto invalid = MetadataOfRequest(bad);
  ASSERT_TRUE(std::holds_alternative<S3Error>(invalid));
  EXPECT_EQ(std::get<S3Error>(invalid).code, "InvalidArgument");
}

TEST(S3MetadataTest, AnswersStoredHeadersAndAGetsResponseOverrides) {
  Headers h;
  h.Add("Content-Type", "image/png");
  h.Add("x-amz-meta-k", "v");
  const ObjectMetadata m = Parsed(h);

  Request head;
  head.method = "HEAD";
  head.query.emplace_back("response-content-type", "text/html");
  Response r;
  ApplyMetadata(m, head, r);
  EXPECT_EQ(r.headers.Get("Content-Type"), "image/png");  // HEAD takes no overrides
  EXPECT_EQ(r.headers.Get("x-amz-meta-k"), "v");

  Request get;
  get.method = "GET";
  get.query.emplace_back("response-content-type", "text/csv");
  get.query.emplace_back("response-content-disposition", "attachment; filename=\"a.csv\"");
  Response g;
  ApplyMetadata(m, get, g);
  EXPECT_EQ(g.headers.Get("Content-Type"), "text/csv");
  EXPECT_EQ(g.headers.Get("Content-Disposition"), "attachment; filename=\"a.csv\"");

  Response none;
  ApplyMetadata(ObjectMetadata{}, get, none);
  EXPECT_EQ(none.headers.Get("Content-Type"), "text/csv");
  Response plain;
  ApplyMetadata(ObjectMetadata{}, head, plain);
  EXPECT_EQ(plain.headers.Get("Content-Type"), "binary/octet-stream");
}

TEST(S3MetadataTest, AStoredChecksumRoundTripsAndIsAnsweredOnlyForItsContent) {
  ObjectMetadata m;
  m.checksum = StoredChecksum{"x-amz-checksum-crc32", "y/Q5Jg==", std::string(64, 'a')};
  std::optional<ObjectMetadata> back = DecodeMetadata(EncodeMetadata(m));
  ASSERT_TRUE(back && back->checksum);
  EXPECT_EQ(back->checksum->name, "x-amz-checksum-crc32");
  EXPECT_EQ(back->checksum->value, "y/Q5Jg==");
  EXPECT_EQ(back->checksum->sha256, std::string(64, 'a'));
  EXPECT_FALSE(back->empty());

  Request get;
  get.method = "GET";
  get.headers.Add("x-amz-checksum-mode", "ENABLED");
  Response answered;
  ApplyChecksum(*back, std::string(64, 'a'), get, answered);
  EXPECT_EQ(answered.headers.Get("x-amz-checksum-crc32"), "y/Q5Jg==");

  // Other content now (written through another face), no mode, or a range.
  Response other;
  ApplyChecksum(*back, std::string(64, 'b'), get, other);
  EXPECT_FALSE(other.headers.Has("x-amz-checksum-crc32"));
  Request plain;
  plain.method = "GET";
  Response unasked;
  ApplyChecksum(*back, std::string(64, 'a'), plain, unasked);
  EXPECT_FALSE(unasked.headers.Has("x-amz-checksum-crc32"));
  Request ranged = get;
  ranged.headers.Add("Range", "bytes=0-1");
  Response part;
  ApplyChecksum(*back, std::string(64, 'a'), ranged, part);
  EXPECT_FALSE(part.headers.Has("x-amz-checksum-crc32"));
}

}  // namespace
}  // namespace nexus::gateway::s3
