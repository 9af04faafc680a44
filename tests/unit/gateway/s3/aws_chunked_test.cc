#include "gateway/s3/aws_chunked.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {
namespace {

// The example of AWS's "Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks": 66560 bytes of 'a' in chunks of
// 65536 and 1024, signed at 2013-05-24T00:00:00Z.
constexpr char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr char kSig1[] = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
constexpr char kSig2[] = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
constexpr char kSigEnd[] = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

AwsChunkedDecoder ExampleDecoder() {
  return AwsChunkedDecoder(
      SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"),
      "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", kSeed);
}

std::string ExampleBody(const std::string& last_signature = kSigEnd) {
  return "10000;chunk-signature=" + std::string(kSig1) + "\r\n" + std::string(65536, 'a') +
         "\r\n400;chunk-signature=" + kSig2 + "\r\n" + std::string(1024, 'a') +
         "\r\n0;chunk-signature=" + last_signature + "\r\n\r\n";
}

TEST(AwsChunkedTest, DecodesAndVerifiesAwsExampleInPiecesOfAnySize) {
  const std::string body = ExampleBody();
  ASSERT_EQ(body.size(), 66824u);  // its Content-Length in the example
  for (size_t piece : {size_t(1), size_t(7), size_t(4096), body.size()}) {
    SCOPED_TRACE(piece);
    AwsChunkedDecoder d = ExampleDecoder();
    std::string out;
    for (size_t at = 0; at < body.size(); at += piece) {
      auto e = d.Feed(std::string_view(body).substr(at, piece), &out);
      ASSERT_FALSE(e) << e->message;
    }
    EXPECT_TRUE(d.done());
    EXPECT_EQ(out, std::string(66560, 'a'));
  }
}

TEST(AwsChunkedTest, RefusesAChangedChunkOrSignature) {
  std::string body = ExampleBody();
  body[200] = 'b';
  AwsChunkedDecoder d = ExampleDecoder();
  std::string out;
  auto e = d.Feed(body, &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");

  AwsChunkedDecoder last = ExampleDecoder();
  e = last.Feed(ExampleBody(std::string(64, '0')), &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
  EXPECT_FALSE(last.done());
}

TEST(AwsChunkedTest, RefusesBrokenFraming) {
  for (std::string body : {std::string("zz;chunk-signature=00\r\n"), std::string("10000\r\n"),
                           std::string(300, '1')}) {
    AwsChunkedDecoder d = ExampleDecoder();
    std::string out;
    auto e = d.Feed(body, &out);
    ASSERT_TRUE(e) << body.substr(0, 30);
    EXPECT_EQ(e->code, "IncompleteBody");
  }
  AwsChunkedDecoder cut = ExampleDecoder();
  std::string out;
  EXPECT_FALSE(cut.Feed(ExampleBody().substr(0, 1000), &out));
  EXPECT_FALSE(cut.done());  // the caller refuses a body that ends here
}

}  // namespace
}  // namespace nexus::gateway::s3
