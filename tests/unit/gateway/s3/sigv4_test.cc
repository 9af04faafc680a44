#include "gateway/s3/sigv4.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace nexus::gateway::s3 {
namespace {

// The AWS Signature Version 4 test suite's cases (service "service", so
// they exercise the building blocks rather than ParseSigV4, which accepts s3
// only): each request, its signed headers and the signature AWS computed.
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kSuiteDate[] = "20150830T123600Z";
constexpr char kSuiteScope[] = "20150830/us-east-1/service/aws4_request";
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SuiteCase {
  const char* name;
  const char* method;
  const char* target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> signed_headers;
  std::string body;
  const char* signature;
};

TEST(SigV4Test, SignsTheAwsTestSuiteCasesAsAwsDoes) {
  const std::pair<std::string, std::string> host{"Host", "example.amazonaws.com"};
  const std::pair<std::string, std::string> date{"X-Amz-Date", kSuiteDate};
  const std::vector<std::string> plain{"host", "x-amz-date"};
  const SuiteCase cases[] = {
      {"get-vanilla",
       "GET",
       "/",
       {host, date},
       plain,
       "",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla",
       "POST",
       "/",
       {host, date},
       plain,
       "",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"get-vanilla-query-order-key",
       "GET",
       "/?Param1=value2&Param1=Value1",
       {host, date},
       plain,
       "",
       "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
      {"get-vanilla-query-order-value",
       "GET",
       "/?Param1=value2&Param1=value1",
       {host, date},
       plain,
       "",
       "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
      {"get-vanilla-utf8-query",
       "GET",
       "/?\xe1\x88\xb4=bar",
       {host, date},
       plain,
       "",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-unreserved",
       "GET",
       "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       {host, date},
       plain,
       "",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-header-value-trim",
       "GET",
       "/",
       {host, {"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}, date},
       {"host", "my-header1", "my-header2", "x-amz-date"},
       "",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       {host, {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}, date},
       {"host", "my-header1", "x-amz-date"},
       "",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       {{"Content-Type", "application/x-www-form-urlencoded"}, host, date},
       {"content-type", "host", "x-amz-date"},
       "Param1=value1",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
  };
  const std::string key = SigningKey(kSuiteSecret, "20150830", "us-east-1", "service");
  for (const SuiteCase& c : cases) {
    SCOPED_TRACE(c.name);
    Headers headers;
    for (const auto& [k, v] : c.headers) headers.Add(k, v);
    bool missing = true;
    const std::string creq =
        CanonicalRequest(SigV4Request{c.method, c.target, headers}, c.signed_headers,
                         Sha256Hex(c.body), /*presigned=*/false, &missing);
    ASSERT_FALSE(missing);
    EXPECT_EQ(HexOf(HmacSha256(key, StringToSign(kSuiteDate, kSuiteScope, creq))), c.signature)
        << creq;
  }
}

TEST(SigV4Test, BuildsTheSuitesCanonicalRequestForSortedQueryValues) {
  Headers headers;
  headers.Add("Host", "example.amazonaws.com");
  headers.Add("X-Amz-Date", kSuiteDate);
  bool missing = true;
  EXPECT_EQ(CanonicalRequest(SigV4Request{"GET", "/?Param1=value2&Param1=Value1", headers},
                             {"host", "x-amz-date"}, kEmptySha256, false, &missing),
            "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                std::string(kEmptySha256));
}

// The S3 examples of AWS's SigV4 documentation: bucket "examplebucket",
// signed at 2013-05-24T00:00:00Z.
constexpr char kS3Secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kS3Now = 1369353600;  // 20130524T000000Z

std::variant<SigV4Auth, S3Error> Parse(const char* method, const char* target,
                                       const Headers& headers, int64_t now = kS3Now) {
  return ParseSigV4(SigV4Request{method, target, headers}, "us-east-1", now);
}

Headers S3Headers(std::string signed_headers, std::string signature, std::string payload) {
  Headers h;
  h.Add("Host", "examplebucket.s3.amazonaws.com");
  h.Add("x-amz-date", "20130524T000000Z");
  h.Add("x-amz-content-sha256", std::move(payload));
  h.Add("Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=" +
            signed_headers + ",Signature=" + signature);
  return h;
}

TEST(SigV4Test, VerifiesTheS3GetObjectWithRangeExample) {
  Headers h =
      S3Headers("host;range;x-amz-content-sha256;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", kEmptySha256);
  h.Add("Range", "bytes=0-9");
  auto r = Parse("GET", "/test.txt", h);
  ASSERT_TRUE(std::holds_alternative<SigV4Auth>(r)) << std::get<S3Error>(r).message;
  const SigV4Auth& auth = std::get<SigV4Auth>(r);
  EXPECT_EQ(auth.access_key, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_FALSE(auth.presigned);
  EXPECT_EQ(auth.payload_hash, kEmptySha256);
  EXPECT_TRUE(VerifySigV4(auth, kS3Secret));
  EXPECT_FALSE(VerifySigV4(auth, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ"));
}

TEST(SigV4Test, VerifiesTheS3PutObjectExampleWithAnEscapedKeyAndASignedPayload) {
  const std::string body = "Welcome to Amazon S3.";
  ASSERT_EQ(Sha256Hex(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Headers h = S3Headers("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
                        Sha256Hex(body));
  h.Add("Date", "Fri, 24 May 2013 00:00:00 GMT");
  h.Add("x-amz-storage-class", "REDUCED_REDUNDANCY");
  // "$" sent raw or escaped signs the same: the key's bytes are what count.
  for (const char* target : {"/test%24file.text", "/test$file.text"}) {
    SCOPED_TRACE(target);
    auto r = Parse("PUT", target, h);
    ASSERT_TRUE(std::holds_alternative<SigV4Auth>(r)) << std::get<S3Error>(r).message;
    EXPECT_TRUE(VerifySigV4(std::get<SigV4Auth>(r), kS3Secret));
  }
}

TEST(SigV4Test, VerifiesTheS3ListObjectsExampleWithItsQuery) {
  Headers h =
      S3Headers("host;x-amz-content-sha256;x-amz-date",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", kEmptySha256);
  auto r = Parse("GET", "/?max-keys=2&prefix=J", h);
  ASSERT_TRUE(std::holds_alternative<SigV4Auth>(r)) << std::get<S3Error>(r).message;
  EXPECT_TRUE(VerifySigV4(std::get<SigV4Auth>(r), kS3Secret));
}

constexpr char kPresigned[] =
    "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%"
    "2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
    "SignedHeaders=host&X-Amz-Signature="
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

TEST(SigV4Test, VerifiesTheS3PresignedUrlExampleUntilItExpires) {
  Headers h;
  h.Add("Host", "examplebucket.s3.amazonaws.com");
  auto r = Parse("GET", kPresigned, h, kS3Now + 86400);
  ASSERT_TRUE(std::holds_alternative<SigV4Auth>(r)) << std::get<S3Error>(r).message;
  const SigV4Auth& auth = std::get<SigV4Auth>(r);
  EXPECT_TRUE(auth.presigned);
  EXPECT_EQ(auth.payload_hash, kUnsignedPayload);
  EXPECT_TRUE(VerifySigV4(auth, kS3Secret));

  auto late = Parse("GET", kPresigned, h, kS3Now + 86401);
  ASSERT_TRUE(std::holds_alternative<S3Error>(late));
  EXPECT_EQ(std::get<S3Error>(late).code, "AccessDenied");
  EXPECT_EQ(std::get<S3Error>(late).http_status, 403);

  auto early = Parse("GET", kPresigned, h, kS3Now - kMaxClockSkewSeconds - 1);
  ASSERT_TRUE(std::holds_alternative<S3Error>(early));
  EXPECT_EQ(std::get<S3Error>(early).code, "AccessDenied");
}

TEST(SigV4Test, RefusesAHeaderSignedMoreThanFifteenMinutesAwayFromNow) {
  Headers h =
      S3Headers("host;x-amz-content-sha256;x-amz-date",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", kEmptySha256);
  for (int64_t now : {kS3Now + kMaxClockSkewSeconds + 1, kS3Now - kMaxClockSkewSeconds - 1}) {
    auto r = Parse("GET", "/?max-keys=2&prefix=J", h, now);
    ASSERT_TRUE(std::holds_alternative<S3Error>(r));
    EXPECT_EQ(std::get<S3Error>(r).code, "RequestTimeTooSkewed");
  }
  EXPECT_TRUE(std::holds_alternative<SigV4Auth>(
      Parse("GET", "/?max-keys=2&prefix=J", h, kS3Now + kMaxClockSkewSeconds)));
}

TEST(SigV4Test, RefusesMalformedAuthorizationWithTheCodesS3Uses) {
  auto code_of = [](const std::string& authorization) {
    Headers h;
    h.Add("Host", "examplebucket.s3.amazonaws.com");
    h.Add("x-amz-date", "20130524T000000Z");
    h.Add("x-amz-content-sha256", kEmptySha256);
    h.Add("Authorization", authorization);
    auto r = Parse("GET", "/", h);
    return std::holds_alternative<S3Error>(r) ? std::get<S3Error>(r).code : std::string("ok");
  };
  const std::string sig = ",Signature=" + std::string(64, 'a');
  const std::string scope = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/";
  EXPECT_EQ(code_of("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="), "InvalidArgument");
  EXPECT_EQ(code_of(scope + "eu-west-1/s3/aws4_request,SignedHeaders=host" + sig),
            "AuthorizationHeaderMalformed");
  EXPECT_EQ(code_of(scope + "us-east-1/ec2/aws4_request,SignedHeaders=host" + sig),
            "AuthorizationHeaderMalformed");
  EXPECT_EQ(code_of(scope + "us-east-1/s3/aws4_request,SignedHeaders=x-amz-date" + sig),
            "AuthorizationHeaderMalformed");
  EXPECT_EQ(code_of(scope + "us-east-1/s3/aws4_request,SignedHeaders=host;range" + sig),
            "AccessDenied");
  EXPECT_EQ(code_of(scope + "us-east-1/s3/aws4_request,SignedHeaders=host,Signature=xyz"),
            "SignatureDoesNotMatch");
  EXPECT_EQ(code_of("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/"
                    "aws4_request,SignedHeaders=host" +
                    sig),
            "AuthorizationHeaderMalformed");
  EXPECT_EQ(code_of(scope + "us-east-1/s3/aws4_request,SignedHeaders=host" + sig), "ok");

  Headers anonymous;
  anonymous.Add("Host", "examplebucket.s3.amazonaws.com");
  auto r = Parse("GET", "/", anonymous);
  ASSERT_TRUE(std::holds_alternative<S3Error>(r));
  EXPECT_EQ(std::get<S3Error>(r).code, "AccessDenied");
}

TEST(SigV4Test, EncodesEachPathSegmentOnceAndKeepsDotSegments) {
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalUri("/"), "/");
  EXPECT_EQ(CanonicalUri("/b/a%20b/c+d"), "/b/a%20b/c%2Bd");
  EXPECT_EQ(CanonicalUri("/b/./x/../y//z"), "/b/./x/../y//z");
  EXPECT_EQ(CanonicalUri("/b/%E2%82%AC"), "/b/%E2%82%AC");
  EXPECT_EQ(CanonicalUri("/b/\xe2\x82\xac"), "/b/%E2%82%AC");
  EXPECT_EQ(CanonicalUri("/b/a%2Fb"), "/b/a%2Fb");
}

TEST(SigV4Test, SortsAndReencodesTheQuery) {
  EXPECT_EQ(CanonicalQuery("prefix=a%2Fb&list-type=2&delimiter=%2F", false),
            "delimiter=%2F&list-type=2&prefix=a%2Fb");
  EXPECT_EQ(CanonicalQuery("uploads", false), "uploads=");
  EXPECT_EQ(CanonicalQuery("a=1&X-Amz-Signature=ff", true), "a=1");
  EXPECT_EQ(CanonicalQuery("a=x y", false), "a=x%20y");
}

}  // namespace
}  // namespace nexus::gateway::s3
